// Parsers of one Cilium conntrack map entry: the key (IPv4 or IPv6 tuple) and the 56-byte value
// in each layout (A-D), plus the per-CPU values of cilium_ct_stats4/6. Byte offsets come from the
// mirror header include/egressd/abi/cilium_ct.h; fields are read with memcpy because batch
// buffers pack 14- and 38-byte keys back to back (unaligned).
//
// The parsers are pure and allocate nothing; they take exactly-sized spans so every byte they
// read is inside the input (fuzz/cilium_ct_fuzz.cpp feeds them arbitrary bytes).
#pragma once

#include <cstdint>
#include <cstring>
#include <span>

#include "cilium/layout.h"
#include "egressd/abi/cilium_ct.h"
#include "egressd/common/ip.h"
#include "loader/per_cpu.h"

namespace egressd::cilium {

enum class Family : uint8_t { kIpv4, kIpv6 };

[[nodiscard]] constexpr size_t key_size(Family f) noexcept {
  return f == Family::kIpv4 ? EGRESSD_CILIUM_CT_KEY4_SIZE : EGRESSD_CILIUM_CT_KEY6_SIZE;
}
inline constexpr size_t kValueSize = EGRESSD_CILIUM_CT_VALUE_SIZE;
inline constexpr size_t kStatsValueSize = EGRESSD_CILIUM_CT_STATS_SIZE;
// The kernel copies each CPU's slot of a per-CPU value rounded up to 8 bytes.
inline constexpr size_t kStatsSlot = (kStatsValueSize + 7) / 8 * 8;

// What kind of entry a key is (its flags and protocol).
enum class KeyKind : uint8_t {
  kOut,      // created by an egress lookup: the originator is the local side
  kIn,       // created by an ingress lookup: the responder is the local side
  kNoProto,  // nexthdr == 0: not a connection
  kRelated,  // TUPLE_F_RELATED: ICMP errors of a connection, counters start at 0
  kService,  // TUPLE_F_SERVICE: load-balancer entry on the pre-DNAT tuple, not swapped
};

// A key with Cilium's address swap undone (cilium/cilium#5848): the originator is (daddr, sport),
// the responder (saddr, dport). Ports in host order.
struct CtTuple {
  IpAddr originator;
  IpAddr responder;
  uint16_t originator_port = 0;
  uint16_t responder_port = 0;
  uint8_t proto = 0;
  uint8_t flags = 0;  // TUPLE_F_* as stored
};

// Counters of one entry. Per-direction (layout A, stats maps): tx is what the entry's local side
// sent (CT_EGRESS lookups), rx what it received (CT_INGRESS). Merged (layouts B-D): `packets` and
// `bytes` count both directions together and nothing says how they split.
struct CtCounters {
  bool merged = false;
  uint64_t tx_packets = 0;
  uint64_t tx_bytes = 0;
  uint64_t rx_packets = 0;
  uint64_t rx_bytes = 0;
  uint64_t packets = 0;  // merged only
  uint64_t bytes = 0;    // merged only

  [[nodiscard]] bool all_zero() const noexcept {
    return (tx_packets | tx_bytes | rx_packets | rx_bytes | packets | bytes) == 0;
  }
};

struct CtValue {
  CtCounters counters;
  uint32_t lifetime = 0;  // expiry in bpf_mono_now() units (ktime seconds or jiffies >> 8)
  uint16_t flags = 0;     // EGRESSD_CILIUM_CT_* bits
  // Layout-specific words, decoded for diagnostics (never used for accounting):
  uint64_t word0 = 0;       // A rx_packets, B/C reserved0, D first half of nat_addr
  uint16_t field40 = 0;     // A/B ifindex, C reserved4, D nat_port (host order)
  uint32_t src_sec_id = 0;  // security identity of the source
};

namespace detail {
template <typename T>
[[nodiscard]] inline T load(const uint8_t* p) noexcept {
  T v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}
[[nodiscard]] inline uint16_t load_be16(const uint8_t* p) noexcept {
  return static_cast<uint16_t>(p[0] << 8 | p[1]);
}
}  // namespace detail

[[nodiscard]] constexpr KeyKind classify_key(uint8_t nexthdr, uint8_t flags) noexcept {
  if (nexthdr == 0) return KeyKind::kNoProto;
  if ((flags & EGRESSD_CILIUM_TUPLE_F_SERVICE) != 0) return KeyKind::kService;
  if ((flags & EGRESSD_CILIUM_TUPLE_F_RELATED) != 0) return KeyKind::kRelated;
  return (flags & EGRESSD_CILIUM_TUPLE_F_IN) != 0 ? KeyKind::kIn : KeyKind::kOut;
}

// Unchecked form for the reader's hot path: `key` holds key_size(f) bytes.
[[nodiscard]] inline KeyKind parse_key_unchecked(Family f, const uint8_t* key,
                                                 CtTuple& out) noexcept {
  if (f == Family::kIpv4) {
    out.originator = IpAddr::from_v4_bytes(key + 0);    // daddr
    out.responder = IpAddr::from_v4_bytes(key + 4);     // saddr
    out.responder_port = detail::load_be16(key + 8);    // dport
    out.originator_port = detail::load_be16(key + 10);  // sport
    out.proto = key[12];
    out.flags = key[13];
  } else {
    out.originator = IpAddr::from_v6_bytes(key + 0);
    out.responder = IpAddr::from_v6_bytes(key + 16);
    out.responder_port = detail::load_be16(key + 32);
    out.originator_port = detail::load_be16(key + 34);
    out.proto = key[36];
    out.flags = key[37];
  }
  return classify_key(out.proto, out.flags);
}

// Unchecked form: `value` holds kValueSize bytes.
inline void parse_value_unchecked(Layout layout, const uint8_t* value, CtValue& out) noexcept {
  using detail::load;
  const auto w0 = load<uint64_t>(value + EGRESSD_CILIUM_CT_OFF_COUNTER0);
  const auto w1 = load<uint64_t>(value + EGRESSD_CILIUM_CT_OFF_COUNTER1);
  const auto w2 = load<uint64_t>(value + EGRESSD_CILIUM_CT_OFF_COUNTER2);
  const auto w3 = load<uint64_t>(value + EGRESSD_CILIUM_CT_OFF_COUNTER3);
  CtCounters& c = out.counters;
  if (per_direction(layout)) {
    c = CtCounters{false, w2, w3, w0, w1, 0, 0};
  } else {
    // B, C and D: offsets 0-15 are reserved0/backend_id (or D's nat_addr), never counters.
    c = CtCounters{true, 0, 0, 0, 0, w2, w3};
  }
  out.lifetime = load<uint32_t>(value + EGRESSD_CILIUM_CT_OFF_LIFETIME);
  out.flags = load<uint16_t>(value + EGRESSD_CILIUM_CT_OFF_FLAGS);
  out.word0 = w0;
  const uint8_t* f40 = value + EGRESSD_CILIUM_CT_OFF_40;
  out.field40 = layout == Layout::kD ? detail::load_be16(f40) : load<uint16_t>(f40);
  out.src_sec_id = load<uint32_t>(value + 44);
}

// Sums the per-CPU slots of a cilium_ct_stats4/6 value (`cpus` slots of kStatsSlot bytes).
inline void parse_stats_unchecked(const uint8_t* percpu, size_t cpus, CtCounters& out) noexcept {
  static_assert(kStatsSlot == sizeof(egressd_cilium_ct_stats), "no padding between CPU slots");
  const auto sum = loader::sum_per_cpu<egressd_cilium_ct_stats>(
      std::span<const uint8_t>(percpu, cpus * kStatsSlot));
  out = CtCounters{};
  out.rx_packets = sum.rx_packets;
  out.rx_bytes = sum.rx_bytes;
  out.tx_packets = sum.tx_packets;
  out.tx_bytes = sum.tx_bytes;
}

// Checked forms: false if the span does not have exactly the size of the structure.
[[nodiscard]] inline bool parse_key(Family f, std::span<const uint8_t> key, CtTuple& out,
                                    KeyKind& kind) noexcept {
  if (key.size() != key_size(f)) return false;
  kind = parse_key_unchecked(f, key.data(), out);
  return true;
}
[[nodiscard]] inline bool parse_value(Layout layout, std::span<const uint8_t> value,
                                      CtValue& out) noexcept {
  if (value.size() != kValueSize) return false;
  parse_value_unchecked(layout, value.data(), out);
  return true;
}
[[nodiscard]] inline bool parse_stats(std::span<const uint8_t> percpu, size_t cpus,
                                      CtCounters& out) noexcept {
  if (cpus == 0 || percpu.size() != cpus * kStatsSlot) return false;
  parse_stats_unchecked(percpu.data(), cpus, out);
  return true;
}

}  // namespace egressd::cilium
