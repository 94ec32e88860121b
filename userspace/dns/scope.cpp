#include "dns/scope.h"

#include <string_view>

namespace egressd::dns {

namespace {

uint64_t fnv(uint64_t h, std::string_view s) noexcept {
  for (const char c : s) h = (h ^ static_cast<uint8_t>(c)) * 0x100000001b3ULL;
  return h;
}

}  // namespace

uint64_t scope_of(const IpAddr& client, const kube::ClusterIndex* index) noexcept {
  if (index != nullptr) {
    if (const auto pod = index->pod_by_ip(client)) {
      uint64_t h = fnv(0xcbf29ce484222325ULL, "pod\0");
      h = fnv(h, pod->namespace_name);
      h = fnv(h, "/");
      h = fnv(h, pod->name);
      return h | 1;  // pods odd, addresses even: the two kinds never collide
    }
  }
  return static_cast<uint64_t>(IpAddrHash{}(client)) & ~uint64_t{1};
}

}  // namespace egressd::dns
