#include "conntrack/orientation.h"

#include "egressd/accounting.h"
#include "egressd/common/hash.h"

namespace egressd::conntrack {

namespace {

// Identity of the entry, three rounds of the multiply-fold (egressd/common/hash.h) over CTA_ID,
// the original tuple and the zones (not the reply tuple, which a NAT rebinding could change, nor
// the counters); the side is folded in last so the two records of one entry share the work.
uint64_t entry_base(const CtEntry& e) noexcept {
  const CtTuple& t = e.orig;
  const uint64_t l4 = static_cast<uint64_t>(t.src_port) << 48 |
                      static_cast<uint64_t>(t.dst_port) << 32 |
                      static_cast<uint64_t>(t.icmp_id) << 16 |
                      static_cast<uint64_t>(t.icmp_type) << 8 | t.icmp_code;
  const uint64_t meta = static_cast<uint64_t>(e.id) << 32 | static_cast<uint64_t>(t.proto) << 24 |
                        static_cast<uint64_t>(t.has_zone ? 1U : 0U) << 16 | e.zone;
  uint64_t h = hash::mix(t.src.hi() ^ hash::kP0, t.src.lo() ^ hash::kP1);
  h = hash::mix(h ^ t.dst.hi() ^ hash::kP2, t.dst.lo() ^ hash::kP3);
  return hash::mix(h ^ l4 ^ hash::kP1, meta ^ (static_cast<uint64_t>(t.zone) << 48) ^ hash::kP2);
}

uint64_t finish(uint64_t base, Side side) noexcept {
  return hash::mix(base ^ hash::kP3, side == Side::kOriginator ? hash::kP0 : hash::kP1);
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
  const accounting::ReportingSides r =
      accounting::reporting_sides(local.classify(entry.orig.src), local.classify(entry.reply.src));
  if (r.none()) return {0, DropReason::kTransit};
  Side sides[2];
  uint8_t n = 0;
  if (r.initiator) sides[n++] = Side::kOriginator;
  if (r.responder) sides[n++] = Side::kResponder;
  const uint64_t base = entry_base(entry);
  for (uint8_t i = 0; i < n; ++i) out[i] = record(entry, sides[i], final, base);
  return {n, DropReason::kNone};
}

}  // namespace egressd::conntrack
