// The normalized records every source produces and the reducer consumes.
//
// A record answers the accounting contract of docs/accounting.md: for one local endpoint (a pod of
// this node, or the node itself) and one real peer, over one L4 protocol, how many bytes and
// packets went each way. Sources differ in what their counters mean:
//  - cumulative sources (conntrack) report the running total of one kernel entry, identified by
//    `entry_id`; the reducer turns totals into deltas and detects resets;
//  - delta sources (in-kernel aggregation) report what happened since their last read.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "egressd/common/ip.h"

namespace egressd {

// IANA protocol numbers used for labels; any other value is exported as its number.
inline constexpr uint8_t kProtoIcmp = 1;
inline constexpr uint8_t kProtoTcp = 6;
inline constexpr uint8_t kProtoUdp = 17;
inline constexpr uint8_t kProtoIcmpV6 = 58;

// FlowKey::flags bits.
// The source cannot tell the directions apart (Cilium >= 1.16 conntrack values sum both ways):
// the record's tx counters hold the total of both directions and rx is 0. Such keys never merge
// with per-direction ones and are exported as their own families (docs/metrics.md).
inline constexpr uint8_t kFlowMergedDirections = 1U << 0;

struct FlowKey {
  IpAddr local;  // endpoint on this node: pod IP (pre-SNAT) or node address
  IpAddr peer;   // real remote endpoint (post-DNAT undo: the backend, not the service VIP)
  uint8_t proto = 0;
  uint8_t flags = 0;  // kFlowMergedDirections

  [[nodiscard]] bool merged_directions() const noexcept {
    return (flags & kFlowMergedDirections) != 0;
  }

  friend bool operator==(const FlowKey&, const FlowKey&) = default;
};

struct FlowKeyHash {
  size_t operator()(const FlowKey& k) const noexcept {
    uint64_t h = k.local.hi() ^ (k.local.lo() * 0x9E3779B97F4A7C15ULL);
    h = (h ^ k.peer.hi()) * 0xBF58476D1CE4E5B9ULL;
    h = (h ^ k.peer.lo()) * 0x94D049BB133111EBULL;
    h ^= k.proto | (static_cast<uint64_t>(k.flags) << 8);
    return static_cast<size_t>(h ^ (h >> 31));
  }
};

struct Counters {
  uint64_t tx_bytes = 0;  // local -> peer
  uint64_t tx_packets = 0;
  uint64_t rx_bytes = 0;  // peer -> local
  uint64_t rx_packets = 0;

  Counters& operator+=(const Counters& o) noexcept {
    tx_bytes += o.tx_bytes;
    tx_packets += o.tx_packets;
    rx_bytes += o.rx_bytes;
    rx_packets += o.rx_packets;
    return *this;
  }
  [[nodiscard]] bool is_zero() const noexcept {
    return (tx_bytes | tx_packets | rx_bytes | rx_packets) == 0;
  }
  friend bool operator==(const Counters&, const Counters&) = default;
};

enum class CounterMode : uint8_t {
  kCumulative,  // running total of the entry `entry_id`
  kDelta,       // increment since the source's previous read
};

struct FlowRecord {
  FlowKey key;
  Counters counters;
  // Identity of the kernel object whose running totals `counters` are (cumulative mode only):
  // stable for the object's life, distinct across objects alive at once within one source.
  uint64_t entry_id = 0;
  CounterMode mode = CounterMode::kCumulative;
  // The object is gone (conntrack DESTROY): these are its final totals.
  bool final = false;
};

enum class SourceKind : uint8_t { kNetfilter, kEbpf, kCilium };
[[nodiscard]] std::string_view source_name(SourceKind kind) noexcept;

// What travels through the queue: records, or a marker that a full read of a cumulative source
// completed (entries not seen in it are gone and their state can be released).
struct RecordBatch {
  enum class Kind : uint8_t { kRecords, kReadComplete };
  Kind kind = Kind::kRecords;
  SourceKind source = SourceKind::kNetfilter;
  // Number of the source's full read this batch belongs to (cumulative sources); increases by one
  // per read. Final records carry the number of the read in progress when they were seen.
  uint64_t read_generation = 0;
  std::vector<FlowRecord> records;
};

}  // namespace egressd
