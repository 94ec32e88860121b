#include "conntrack/orientation.h"

namespace egressd::conntrack {

namespace {

// wyhash's multiply-fold (Wang Yi, public domain): one 64x64->128 multiply, halves xored. Three
// rounds with odd constants mix the 40 bytes of identity; the side is folded in last so the
// two records of one entry share the work.
constexpr uint64_t mum(uint64_t a, uint64_t b) noexcept {
  const auto r = static_cast<__uint128_t>(a) * b;
  return static_cast<uint64_t>(r) ^ static_cast<uint64_t>(r >> 64);
}
constexpr uint64_t kP0 = 0xa0761d6478bd642fULL;
constexpr uint64_t kP1 = 0xe7037ed1a0b428dbULL;
constexpr uint64_t kP2 = 0x8ebc6af09c88c6e3ULL;
constexpr uint64_t kP3 = 0x589965cc75374cc3ULL;

// Identity of the entry: CTA_ID, the original tuple and the zones (not the reply tuple, which a
// NAT rebinding could change, nor the counters).
uint64_t entry_base(const CtEntry& e) noexcept {
  const CtTuple& t = e.orig;
  const uint64_t l4 = static_cast<uint64_t>(t.src_port) << 48 |
                      static_cast<uint64_t>(t.dst_port) << 32 |
                      static_cast<uint64_t>(t.icmp_id) << 16 |
                      static_cast<uint64_t>(t.icmp_type) << 8 | t.icmp_code;
  const uint64_t meta = static_cast<uint64_t>(e.id) << 32 | static_cast<uint64_t>(t.proto) << 24 |
                        static_cast<uint64_t>(t.has_zone ? 1U : 0U) << 16 | e.zone;
  uint64_t h = mum(t.src.hi() ^ kP0, t.src.lo() ^ kP1);
  h = mum(h ^ t.dst.hi() ^ kP2, t.dst.lo() ^ kP3);
  return mum(h ^ l4 ^ kP1, meta ^ (static_cast<uint64_t>(t.zone) << 48) ^ kP2);
}

uint64_t finish(uint64_t base, Side side) noexcept {
  return mum(base ^ kP3, side == Side::kOriginator ? kP0 : kP1);
}

FlowRecord record(const CtEntry& e, Side side, bool final, uint64_t base) noexcept {
  FlowRecord r;
  r.key.proto = e.orig.proto;
  if (side == Side::kOriginator) {
    r.key.local = e.orig.src;
    r.key.peer = e.reply.src;
    r.counters = Counters{e.orig_counters.bytes, e.orig_counters.packets, e.reply_counters.bytes,
                          e.reply_counters.packets};
  } else {
    r.key.local = e.reply.src;
    r.key.peer = e.orig.src;
    r.counters = Counters{e.reply_counters.bytes, e.reply_counters.packets, e.orig_counters.bytes,
                          e.orig_counters.packets};
  }
  r.entry_id = finish(base, side);
  r.mode = CounterMode::kCumulative;
  r.final = final;
  return r;
}

}  // namespace

uint64_t entry_id(const CtEntry& e, Side side) noexcept {
  return finish(entry_base(e), side);
}

FlowRecord make_record(const CtEntry& e, Side side, bool final) noexcept {
  return record(e, side, final, entry_base(e));
}

Orientation orient(const CtEntry& entry, const LocalEndpoints& local, bool final,
                   std::span<FlowRecord, 2> out) noexcept {
  // Counters first: without them the entry says nothing, wherever it is.
  if (!entry.has_counters()) return {0, DropReason::kNoCounters};
  const EndpointKind os = local.classify(entry.orig.src);
  const EndpointKind rs = local.classify(entry.reply.src);
  Side sides[2];
  uint8_t n = 0;
  if (os == EndpointKind::kLocalPod) sides[n++] = Side::kOriginator;
  if (rs == EndpointKind::kLocalPod) sides[n++] = Side::kResponder;
  if (n == 0) {
    // Node traffic (and host-network pods) is reported once, under the node, from the side that
    // is on this node; a pod <-> node connection was reported above, from the pod's side only.
    if (os == EndpointKind::kLocalNode) {
      sides[n++] = Side::kOriginator;
    } else if (rs == EndpointKind::kLocalNode) {
      sides[n++] = Side::kResponder;
    }
  }
  if (n == 0) return {0, DropReason::kTransit};
  const uint64_t base = entry_base(entry);
  for (uint8_t i = 0; i < n; ++i) out[i] = record(entry, sides[i], final, base);
  return {n, DropReason::kNone};
}

}  // namespace egressd::conntrack
