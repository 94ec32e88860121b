// Test fixtures for Cilium conntrack entries, written independently of the parser: keys and
// values are laid out byte by byte from the field offsets documented in Cilium's sources
// (docs/cilium.md tables), and the BTF of each layout is built member by member with libbpf, as
// Cilium's compiler would emit it. Shared by tests/unit/cilium and tests/bpf.
#pragma once

#include <bpf/btf.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include <arpa/inet.h>

namespace egressd::cilium::testing {

// A connection as a test thinks of it: who opened it, who answered, which protocol.
struct Conn {
  std::string originator;  // address text, IPv4 or IPv6
  uint16_t originator_port = 0;
  std::string responder;
  uint16_t responder_port = 0;
  uint8_t proto = 6;
};

inline void put_be16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
inline void put_u16(uint8_t* p, uint16_t v) {
  std::memcpy(p, &v, 2);
}
inline void put_u32(uint8_t* p, uint32_t v) {
  std::memcpy(p, &v, 4);
}
inline void put_u64(uint8_t* p, uint64_t v) {
  std::memcpy(p, &v, 8);
}

inline bool is_v6(const std::string& a) {
  return a.find(':') != std::string::npos;
}

// Cilium's key for a connection seen in `flags` direction: daddr = originator, saddr =
// responder, dport = responder's port, sport = originator's port (the swap of cilium#5848);
// SERVICE keys are not swapped: daddr = VIP (`responder`), saddr = client, dport = client port,
// sport = service port.
inline std::vector<uint8_t> make_key(const Conn& c, uint8_t flags) {
  const bool v6 = is_v6(c.originator);
  const size_t alen = v6 ? 16 : 4;
  std::vector<uint8_t> k(v6 ? 38 : 14, 0);
  const bool service = (flags & 4) != 0;
  const std::string& d = service ? c.responder : c.originator;
  const std::string& s = service ? c.originator : c.responder;
  inet_pton(v6 ? AF_INET6 : AF_INET, d.c_str(), k.data());
  inet_pton(v6 ? AF_INET6 : AF_INET, s.c_str(), k.data() + alen);
  put_be16(k.data() + 2 * alen, service ? c.originator_port : c.responder_port);      // dport
  put_be16(k.data() + 2 * alen + 2, service ? c.responder_port : c.originator_port);  // sport
  k[2 * alen + 4] = c.proto;
  k[2 * alen + 5] = flags;
  return k;
}

struct ValueFields {
  uint64_t w0 = 0;  // A rx_packets | B/C reserved0 | D nat_addr[0..8]
  uint64_t w1 = 0;  // A rx_bytes   | B/C backend_id | D nat_addr[8..16]
  uint64_t w2 = 0;  // A tx_packets | B-D packets
  uint64_t w3 = 0;  // A tx_bytes   | B-D bytes
  uint32_t lifetime = 0;
  uint16_t flags = 0;
  uint16_t rev_nat = 0;
  uint16_t f40 = 0;
  uint32_t src_sec_id = 0;
};

// The 56-byte ct_entry: 0,8,16,24 u64; 32 lifetime u32; 36 flags u16; 38 rev_nat_index;
// 40 u16; 42/43 tx/rx_flags_seen; 44 src_sec_id; 48/52 last_tx/rx_report.
inline std::vector<uint8_t> make_value(const ValueFields& f) {
  std::vector<uint8_t> v(56, 0);
  put_u64(v.data() + 0, f.w0);
  put_u64(v.data() + 8, f.w1);
  put_u64(v.data() + 16, f.w2);
  put_u64(v.data() + 24, f.w3);
  put_u32(v.data() + 32, f.lifetime);
  put_u16(v.data() + 36, f.flags);
  put_u16(v.data() + 38, f.rev_nat);
  put_u16(v.data() + 40, f.f40);
  v[42] = 0x12;  // tx_flags_seen: SYN|ACK
  v[43] = 0x12;
  put_u32(v.data() + 44, f.src_sec_id);
  put_u32(v.data() + 48, f.lifetime > 5 ? f.lifetime - 5 : 0);
  put_u32(v.data() + 52, f.lifetime > 5 ? f.lifetime - 5 : 0);
  return v;
}

// Layout A: rx/tx of the entry's local side.
inline std::vector<uint8_t> value_a(uint64_t rx_packets, uint64_t rx_bytes, uint64_t tx_packets,
                                    uint64_t tx_bytes, uint32_t lifetime) {
  return make_value({rx_packets, rx_bytes, tx_packets, tx_bytes, lifetime, 0x10, 0, 3, 0});
}
// Layouts B-D: one merged pair; w0/w1 as the layout leaves them (reserved, backend, nat_addr).
inline std::vector<uint8_t> value_merged(uint64_t packets, uint64_t bytes, uint32_t lifetime,
                                         uint64_t w0 = 0, uint64_t w1 = 0) {
  return make_value({w0, w1, packets, bytes, lifetime, 0x10, 0, 0, 0});
}

// One CPU's slot of cilium_ct_stats4/6: rx_packets, rx_bytes, tx_packets, tx_bytes.
inline std::vector<uint8_t> stats_slot(uint64_t rx_p, uint64_t rx_b, uint64_t tx_p, uint64_t tx_b) {
  std::vector<uint8_t> v(32, 0);
  put_u64(v.data() + 0, rx_p);
  put_u64(v.data() + 8, rx_b);
  put_u64(v.data() + 16, tx_p);
  put_u64(v.data() + 24, tx_b);
  return v;
}

enum class BtfLayout { kA, kB, kC, kD, kUnknown40, kStats };

// The BTF of struct ct_entry as each Cilium release declares it (bpf/lib/common.h, later
// conntrack_types.h), with the anonymous union/struct nesting of the real declarations. Returns
// the BTF object (caller frees) and the value type id.
struct BuiltBtf {
  btf* b = nullptr;
  uint32_t value_id = 0;
  uint32_t key_id = 0;
};

inline BuiltBtf build_btf(BtfLayout layout, bool v6_key = false) {
  btf* b = btf__new_empty();
  const int u8 = btf__add_int(b, "__u8", 1, 0);
  const int u16 = btf__add_int(b, "__u16", 2, 0);
  const int u32 = btf__add_int(b, "__u32", 4, 0);
  const int u64 = btf__add_int(b, "__u64", 8, 0);
  const auto u = [](int id) { return static_cast<uint32_t>(id); };
  BuiltBtf out;
  out.b = b;
  if (layout == BtfLayout::kStats) {
    out.value_id = u(btf__add_struct(b, "ct_stats_value", 32));
    btf__add_field(b, "rx_packets", u64, 0, 0);
    btf__add_field(b, "rx_bytes", u64, 64, 0);
    btf__add_field(b, "tx_packets", u64, 128, 0);
    btf__add_field(b, "tx_bytes", u64, 192, 0);
  } else {
    int head = -1;  // D: union { nat_addr; struct { reserved0; backend_id; } }
    if (layout == BtfLayout::kD) {
      const int arr = btf__add_array(b, u32, u8, 16);
      const int inner = btf__add_struct(b, nullptr, 16);
      btf__add_field(b, "reserved0", u64, 0, 0);
      btf__add_field(b, "backend_id", u64, 64, 0);
      head = btf__add_union(b, nullptr, 16);
      btf__add_field(b, "nat_addr", arr, 0, 0);
      btf__add_field(b, nullptr, inner, 0, 0);
    } else if (layout == BtfLayout::kA) {
      head = btf__add_union(b, nullptr, 8);  // union { rx_bytes; backend_id; } at 8
      btf__add_field(b, "rx_bytes", u64, 0, 0);
      btf__add_field(b, "backend_id", u64, 0, 0);
    }
    out.value_id = u(btf__add_struct(b, "ct_entry", 56));
    switch (layout) {
      case BtfLayout::kA:
        btf__add_field(b, "rx_packets", u64, 0, 0);
        btf__add_field(b, nullptr, head, 64, 0);
        btf__add_field(b, "tx_packets", u64, 128, 0);
        btf__add_field(b, "tx_bytes", u64, 192, 0);
        break;
      case BtfLayout::kD:
        btf__add_field(b, nullptr, head, 0, 0);
        btf__add_field(b, "packets", u64, 128, 0);
        btf__add_field(b, "bytes", u64, 192, 0);
        break;
      default:
        btf__add_field(b, "reserved0", u64, 0, 0);
        btf__add_field(b, "backend_id", u64, 64, 0);
        btf__add_field(b, "packets", u64, 128, 0);
        btf__add_field(b, "bytes", u64, 192, 0);
        break;
    }
    btf__add_field(b, "lifetime", u32, 256, 0);
    // The flag bitfield: rx_closing:1 at bit 288, tx_closing:1 at 289, ...
    btf__add_field(b, "rx_closing", u16, 288, 1);
    btf__add_field(b, "tx_closing", u16, 289, 1);
    btf__add_field(b, "rev_nat_index", u16, 304, 0);
    const char* f40 = layout == BtfLayout::kA || layout == BtfLayout::kB ? "ifindex"
                      : layout == BtfLayout::kC                          ? "reserved4"
                      : layout == BtfLayout::kD                          ? "nat_port"
                                                                         : "future_field";
    btf__add_field(b, f40, u16, 320, 0);
    btf__add_field(b, "tx_flags_seen", u8, 336, 0);
    btf__add_field(b, "rx_flags_seen", u8, 344, 0);
    btf__add_field(b, "src_sec_id", u32, 352, 0);
    btf__add_field(b, "last_tx_report", u32, 384, 0);
    btf__add_field(b, "last_rx_report", u32, 416, 0);
  }
  // The key: a struct of the tuple's size (its members do not matter to the reader).
  out.key_id = u(btf__add_struct(b, v6_key ? "ipv6_ct_tuple" : "ipv4_ct_tuple", v6_key ? 38 : 14));
  if (v6_key) {
    const int a16 = btf__add_array(b, u32, u8, 16);
    btf__add_field(b, "daddr", a16, 0, 0);
    btf__add_field(b, "saddr", a16, 128, 0);
    btf__add_field(b, "dport", u16, 256, 0);
    btf__add_field(b, "sport", u16, 272, 0);
    btf__add_field(b, "nexthdr", u8, 288, 0);
    btf__add_field(b, "flags", u8, 296, 0);
  } else {
    btf__add_field(b, "daddr", u32, 0, 0);
    btf__add_field(b, "saddr", u32, 32, 0);
    btf__add_field(b, "dport", u16, 64, 0);
    btf__add_field(b, "sport", u16, 80, 0);
    btf__add_field(b, "nexthdr", u8, 96, 0);
    btf__add_field(b, "flags", u8, 104, 0);
  }
  return out;
}

}  // namespace egressd::cilium::testing
