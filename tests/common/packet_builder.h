// PacketBuilder: builds Ethernet frames with IPv4/IPv6 and TCP/UDP/ICMP headers for
// BPF_PROG_TEST_RUN fixtures and benchmarks. Checksums are not computed: the programs under test
// do not verify them, and the kernel does not for test runs.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>
#include <vector>

#include "egressd/common/ip.h"

namespace egressd::testing {

class PacketBuilder {
 public:
  // Ethernet header with the given EtherType (host order, e.g. 0x0800).
  PacketBuilder& ethernet(uint16_t ether_type) {
    const uint8_t dst[6] = {0x02, 0, 0, 0, 0, 0x02};
    const uint8_t src[6] = {0x02, 0, 0, 0, 0, 0x01};
    append(dst, 6);
    append(src, 6);
    be16(ether_type);
    return *this;
  }
  // IPv4 header (20 bytes, no options); total length is fixed up by finish().
  PacketBuilder& ipv4(const IpAddr& src, const IpAddr& dst, uint8_t proto) {
    l3_ = bytes_.size();
    v6_ = false;
    const uint8_t hdr[12] = {0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, proto, 0, 0};
    append(hdr, sizeof(hdr));
    append(src.v4_bytes(), 4);
    append(dst.v4_bytes(), 4);
    return *this;
  }
  // IPv6 header (40 bytes); payload length is fixed up by finish().
  PacketBuilder& ipv6(const IpAddr& src, const IpAddr& dst, uint8_t next_header) {
    l3_ = bytes_.size();
    v6_ = true;
    const uint8_t hdr[8] = {0x60, 0, 0, 0, 0, 0, next_header, 64};
    append(hdr, sizeof(hdr));
    append(src.bytes().data(), 16);
    append(dst.bytes().data(), 16);
    return *this;
  }
  PacketBuilder& tcp(uint16_t sport, uint16_t dport, uint8_t flags = 0x18) {
    be16(sport);
    be16(dport);
    const uint8_t rest[16] = {0, 0, 0, 1, 0, 0, 0, 0, 0x50, flags, 0xff, 0xff, 0, 0, 0, 0};
    append(rest, sizeof(rest));
    return *this;
  }
  PacketBuilder& udp(uint16_t sport, uint16_t dport) {
    udp_ = bytes_.size();
    be16(sport);
    be16(dport);
    be16(0);  // length, fixed up by finish()
    be16(0);
    return *this;
  }
  PacketBuilder& icmp(uint8_t type, uint8_t code) {
    const uint8_t hdr[8] = {type, code, 0, 0, 0, 1, 0, 1};
    append(hdr, sizeof(hdr));
    return *this;
  }
  PacketBuilder& payload(size_t n, uint8_t fill = 0xab) {
    bytes_.insert(bytes_.end(), n, fill);
    return *this;
  }
  PacketBuilder& raw(std::span<const uint8_t> b) {
    append(b.data(), b.size());
    return *this;
  }

  // Fixes up length fields and returns the frame.
  [[nodiscard]] std::vector<uint8_t> finish() {
    if (l3_ != kNone) {
      const size_t l3_len = bytes_.size() - l3_;
      if (v6_) {
        put16(l3_ + 4, static_cast<uint16_t>(l3_len - 40));
      } else {
        put16(l3_ + 2, static_cast<uint16_t>(l3_len));
      }
    }
    if (udp_ != kNone) put16(udp_ + 4, static_cast<uint16_t>(bytes_.size() - udp_));
    return bytes_;
  }

 private:
  static constexpr size_t kNone = ~size_t{0};
  void append(const uint8_t* p, size_t n) { bytes_.insert(bytes_.end(), p, p + n); }
  void be16(uint16_t v) {
    bytes_.push_back(static_cast<uint8_t>(v >> 8));
    bytes_.push_back(static_cast<uint8_t>(v));
  }
  void put16(size_t at, uint16_t v) {
    bytes_[at] = static_cast<uint8_t>(v >> 8);
    bytes_[at + 1] = static_cast<uint8_t>(v);
  }

  std::vector<uint8_t> bytes_;
  size_t l3_ = kNone;
  size_t udp_ = kNone;
  bool v6_ = false;
};

}  // namespace egressd::testing
