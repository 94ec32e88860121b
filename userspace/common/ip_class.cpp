#include "egressd/common/ip_class.h"

namespace egressd {

namespace {

bool v4_private(const uint8_t* b) noexcept {
  const uint8_t a = b[0];
  const uint8_t c = b[1];
  if (a == 0 || a == 10 || a == 127) return true;
  if (a == 100 && (c & 0xc0) == 64) return true;  // 100.64.0.0/10
  if (a == 169 && c == 254) return true;          // 169.254.0.0/16
  if (a == 172 && (c & 0xf0) == 16) return true;  // 172.16.0.0/12
  if (a == 192 && c == 168) return true;          // 192.168.0.0/16
  if (a == 198 && (c & 0xfe) == 18) return true;  // 198.18.0.0/15
  return a >= 224;                                // multicast and reserved
}

}  // namespace

bool is_private(const IpAddr& ip) noexcept {
  if (ip.is_v4()) return v4_private(ip.v4_bytes());
  const auto& b = ip.bytes();
  if (ip.hi() == 0) {
    // ::/128 and ::1; other ::/96 forms are deprecated IPv4-compatible addresses.
    return ip.lo() == 0 || (b[8] | b[9] | b[10] | b[11] | b[12] | b[13] | b[14]) == 0;
  }
  if ((b[0] & 0xfe) == 0xfc) return true;                  // fc00::/7
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return true;  // fe80::/10
  return b[0] == 0xff;                                     // multicast
}

}  // namespace egressd
