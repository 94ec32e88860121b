#include "egressd/common/ip.h"

#include <arpa/inet.h>

namespace egressd {

std::optional<IpAddr> IpAddr::parse(std::string_view text) noexcept {
  char buf[INET6_ADDRSTRLEN + 1];
  // An embedded NUL would end inet_pton()'s string early: "10.0.0.1\0junk" is not an address.
  if (text.empty() || text.size() >= sizeof(buf) || text.find('\0') != std::string_view::npos) {
    return std::nullopt;
  }
  text.copy(buf, text.size());
  buf[text.size()] = '\0';
  uint8_t bytes[16];
  if (text.find(':') == std::string_view::npos) {
    if (inet_pton(AF_INET, buf, bytes) == 1) return from_v4_bytes(bytes);
    return std::nullopt;
  }
  if (inet_pton(AF_INET6, buf, bytes) == 1) return from_v6_bytes(bytes);
  return std::nullopt;
}

bool IpAddr::is_unspecified() const noexcept {
  if (is_v4()) return (bytes_[12] | bytes_[13] | bytes_[14] | bytes_[15]) == 0;
  return hi() == 0 && lo() == 0;
}

std::string IpAddr::to_string() const {
  char buf[INET6_ADDRSTRLEN];
  const char* s = is_v4() ? inet_ntop(AF_INET, v4_bytes(), buf, sizeof(buf))
                          : inet_ntop(AF_INET6, bytes_.data(), buf, sizeof(buf));
  return s != nullptr ? std::string(s) : std::string();
}

IpAddr unspecified_like(const IpAddr& a) noexcept {
  static constexpr uint8_t kZero[16] = {};
  return a.is_v4() ? IpAddr::from_v4_bytes(kZero) : IpAddr::from_v6_bytes(kZero);
}

}  // namespace egressd
