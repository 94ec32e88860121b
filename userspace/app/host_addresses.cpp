#include "app/host_addresses.h"

#include <ifaddrs.h>

#include <algorithm>

#include <netinet/in.h>

namespace egressd::app {

Result<std::vector<IpAddr>> host_addresses() {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return fail_errno("listing interface addresses (getifaddrs)");
  std::vector<IpAddr> out;
  for (const ifaddrs* it = list; it != nullptr; it = it->ifa_next) {
    if (it->ifa_addr == nullptr) continue;
    if (it->ifa_addr->sa_family == AF_INET) {
      sockaddr_in sin{};
      std::memcpy(&sin, it->ifa_addr, sizeof(sin));
      out.push_back(IpAddr::from_v4_bytes(reinterpret_cast<const uint8_t*>(&sin.sin_addr)));
    } else if (it->ifa_addr->sa_family == AF_INET6) {
      sockaddr_in6 sin6{};
      std::memcpy(&sin6, it->ifa_addr, sizeof(sin6));
      out.push_back(IpAddr::from_v6_bytes(sin6.sin6_addr.s6_addr));
    }
  }
  freeifaddrs(list);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace egressd::app
