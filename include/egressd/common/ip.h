// IpAddr: an IPv4 or IPv6 address in one 16-byte value type.
//
// IPv4 is stored IPv4-mapped (::ffff:a.b.c.d, RFC 4291 §2.5.5.2) so that keys of both families
// share one layout, hash and comparison. Bytes are in network order.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace egressd {

class IpAddr {
 public:
  constexpr IpAddr() = default;

  static IpAddr from_v4_bytes(const uint8_t* b) noexcept {
    IpAddr a;
    a.bytes_[10] = 0xff;
    a.bytes_[11] = 0xff;
    std::memcpy(&a.bytes_[12], b, 4);
    return a;
  }
  static IpAddr from_v6_bytes(const uint8_t* b) noexcept {
    IpAddr a;
    std::memcpy(a.bytes_.data(), b, 16);
    return a;
  }
  // Host-order IPv4 value (0x7f000001 = 127.0.0.1).
  static IpAddr v4(uint32_t host_order) noexcept {
    const uint8_t b[4] = {static_cast<uint8_t>(host_order >> 24),
                          static_cast<uint8_t>(host_order >> 16),
                          static_cast<uint8_t>(host_order >> 8), static_cast<uint8_t>(host_order)};
    return from_v4_bytes(b);
  }
  // Parses dotted-quad IPv4 or RFC 4291 text IPv6; nullopt for anything else.
  static std::optional<IpAddr> parse(std::string_view text) noexcept;

  [[nodiscard]] bool is_v4() const noexcept {
    static constexpr uint8_t kPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    return std::memcmp(bytes_.data(), kPrefix, 12) == 0;
  }
  [[nodiscard]] bool is_unspecified() const noexcept;
  [[nodiscard]] const std::array<uint8_t, 16>& bytes() const noexcept { return bytes_; }
  // Pointer to the 4 IPv4 bytes (valid when is_v4()).
  [[nodiscard]] const uint8_t* v4_bytes() const noexcept { return &bytes_[12]; }
  [[nodiscard]] std::string to_string() const;

  [[nodiscard]] uint64_t hi() const noexcept {
    uint64_t v;
    std::memcpy(&v, bytes_.data(), 8);
    return v;
  }
  [[nodiscard]] uint64_t lo() const noexcept {
    uint64_t v;
    std::memcpy(&v, bytes_.data() + 8, 8);
    return v;
  }

  friend bool operator==(const IpAddr&, const IpAddr&) = default;
  friend auto operator<=>(const IpAddr&, const IpAddr&) = default;

 private:
  alignas(8) std::array<uint8_t, 16> bytes_{};
};

// The unspecified address of the same family (0.0.0.0 or ::).
[[nodiscard]] IpAddr unspecified_like(const IpAddr& a) noexcept;

struct IpAddrHash {
  size_t operator()(const IpAddr& a) const noexcept {
    // Two 64-bit halves mixed with a multiply-xorshift; good enough for hash tables.
    uint64_t h = a.hi() * 0x9E3779B97F4A7C15ULL ^ a.lo();
    h ^= h >> 32;
    h *= 0xD6E8FEB86659FD93ULL;
    return static_cast<size_t>(h ^ (h >> 32));
  }
};

}  // namespace egressd
