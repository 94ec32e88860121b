// PacketBuilder: builds Ethernet frames (optionally VLAN-tagged) with IPv4 (optionally with
// options) or IPv6 (optionally with extension headers) and TCP/UDP/ICMP/ICMPv6 headers for
// BPF_PROG_TEST_RUN fixtures and benchmarks, plus deliberately broken variants (bogus length
// fields, truncation). Checksums are not computed: the programs under test do not verify them,
// and the kernel does not for test runs.
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
  // An 802.1Q/802.1ad tag after ethernet(0x8100 or 0x88a8): TCI, then the next EtherType.
  PacketBuilder& vlan(uint16_t tci, uint16_t ether_type) {
    be16(tci);
    be16(ether_type);
    return *this;
  }
  // IPv4 header (20 bytes plus `options`, a multiple of 4); total length is fixed up by finish().
  // `fragment_offset` is in 8-byte units.
  PacketBuilder& ipv4(const IpAddr& src, const IpAddr& dst, uint8_t proto,
                      std::span<const uint8_t> options = {}, uint16_t fragment_offset = 0) {
    l3_ = bytes_.size();
    v6_ = false;
    const auto ihl = static_cast<uint8_t>(5 + options.size() / 4);
    const uint16_t frag = fragment_offset == 0 ? 0x4000 : fragment_offset;  // DF, or the offset
    const uint8_t hdr[12] = {
        static_cast<uint8_t>(0x40 | ihl), 0,  0,     0, 0, 0, static_cast<uint8_t>(frag >> 8),
        static_cast<uint8_t>(frag),       64, proto, 0, 0};
    append(hdr, sizeof(hdr));
    append(src.v4_bytes(), 4);
    append(dst.v4_bytes(), 4);
    append(options.data(), options.size());
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
  // An IPv6 extension header of `type` whose next header is `next`, `len` bytes long (hop-by-hop,
  // routing, destination options: a multiple of 8; AH: a multiple of 4, at least 12), padded
  // with zeros.
  PacketBuilder& ipv6_ext(uint8_t type, uint8_t next, size_t len) {
    const size_t units = type == 51 ? len / 4 - 2 : len / 8 - 1;
    bytes_.push_back(next);
    bytes_.push_back(static_cast<uint8_t>(units));
    bytes_.insert(bytes_.end(), len - 2, 0);
    return *this;
  }
  // An IPv6 fragment header; `offset` in 8-byte units.
  PacketBuilder& ipv6_fragment(uint8_t next, uint16_t offset, bool more) {
    bytes_.push_back(next);
    bytes_.push_back(0);
    be16(static_cast<uint16_t>(offset << 3 | (more ? 1 : 0)));
    const uint8_t id[4] = {0, 0, 0x12, 0x34};
    append(id, 4);
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

  // Writes `v` into the IP length field (IPv4 total length, IPv6 payload length) instead of the
  // right value: a bogus length.
  PacketBuilder& length_field(uint16_t v) {
    length_override_ = v;
    has_length_override_ = true;
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
    if (has_length_override_ && l3_ != kNone) put16(l3_ + (v6_ ? 4 : 2), length_override_);
    return bytes_;
  }
  // The frame cut after `keep` bytes (length fields still say the whole packet).
  [[nodiscard]] std::vector<uint8_t> finish_truncated(size_t keep) {
    auto frame = finish();
    frame.resize(keep);
    return frame;
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
  uint16_t length_override_ = 0;
  bool has_length_override_ = false;
};

}  // namespace egressd::testing
