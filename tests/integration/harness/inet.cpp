#include "harness/inet.h"

#include <array>
#include <cstring>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "harness/util.h"

namespace egressd::testing {

int family_of(const std::string& ip) {
  return ip.find(':') == std::string::npos ? AF_INET : AF_INET6;
}

SockAddr make_sockaddr(const std::string& ip, uint16_t port) {
  SockAddr a;
  if (family_of(ip) == AF_INET) {
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_port = htons(port);
    if (::inet_pton(AF_INET, ip.c_str(), &sin.sin_addr) != 1) {
      throw HarnessError("not an IPv4 address: " + ip);
    }
    std::memcpy(&a.storage, &sin, sizeof sin);
    a.len = sizeof sin;
  } else {
    sockaddr_in6 sin6{};
    sin6.sin6_family = AF_INET6;
    sin6.sin6_port = htons(port);
    if (::inet_pton(AF_INET6, ip.c_str(), &sin6.sin6_addr) != 1) {
      throw HarnessError("not an IPv6 address: " + ip);
    }
    std::memcpy(&a.storage, &sin6, sizeof sin6);
    a.len = sizeof sin6;
  }
  return a;
}

std::string SockAddr::ip() const {
  std::array<char, INET6_ADDRSTRLEN> buf{};
  if (family() == AF_INET) {
    sockaddr_in sin{};
    std::memcpy(&sin, &storage, sizeof sin);
    ::inet_ntop(AF_INET, &sin.sin_addr, buf.data(), buf.size());
  } else {
    sockaddr_in6 sin6{};
    std::memcpy(&sin6, &storage, sizeof sin6);
    ::inet_ntop(AF_INET6, &sin6.sin6_addr, buf.data(), buf.size());
  }
  return buf.data();
}

uint16_t SockAddr::port() const {
  if (family() == AF_INET) {
    sockaddr_in sin{};
    std::memcpy(&sin, &storage, sizeof sin);
    return ntohs(sin.sin_port);
  }
  sockaddr_in6 sin6{};
  std::memcpy(&sin6, &storage, sizeof sin6);
  return ntohs(sin6.sin6_port);
}

std::string canonical_ip(std::string_view text) {
  std::string s(text);
  std::array<unsigned char, 16> bin{};
  std::array<char, INET6_ADDRSTRLEN> buf{};
  const int family = family_of(s);
  if (::inet_pton(family, s.c_str(), bin.data()) != 1 ||
      ::inet_ntop(family, bin.data(), buf.data(), buf.size()) == nullptr) {
    return s;
  }
  return buf.data();
}

bool is_loopback_ip(std::string_view text) {
  const std::string c = canonical_ip(text);
  return c == "::1" || c.starts_with("127.") || c.starts_with("::ffff:127.");
}

}  // namespace egressd::testing
