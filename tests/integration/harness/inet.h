// IPv4/IPv6 address helpers for sockets and for comparing addresses printed by different tools
// (nft, conntrack and the agent may spell one IPv6 address differently).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <sys/socket.h>

namespace egressd::testing {

struct SockAddr {
  sockaddr_storage storage{};
  socklen_t len = 0;

  [[nodiscard]] int family() const noexcept { return storage.ss_family; }
  [[nodiscard]] const sockaddr* get() const noexcept {
    return reinterpret_cast<const sockaddr*>(&storage);  // NOLINT: the sockets API's own cast
  }
  [[nodiscard]] sockaddr* get() noexcept {
    return reinterpret_cast<sockaddr*>(&storage);  // NOLINT: the sockets API's own cast
  }
  [[nodiscard]] std::string ip() const;
  [[nodiscard]] uint16_t port() const;
};

// Throws HarnessError for anything that is not an IPv4 or IPv6 literal.
[[nodiscard]] SockAddr make_sockaddr(const std::string& ip, uint16_t port);
[[nodiscard]] int family_of(const std::string& ip);  // AF_INET or AF_INET6

// RFC 5952 text of an address (inet_ntop), so "fd00:244:1:0::10" == "fd00:244:1::10";
// a string that is not an address is returned unchanged.
[[nodiscard]] std::string canonical_ip(std::string_view text);

[[nodiscard]] bool is_loopback_ip(std::string_view text);

}  // namespace egressd::testing
