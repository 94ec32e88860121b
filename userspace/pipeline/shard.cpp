#include "pipeline/shard.h"

#include <algorithm>

#include "egressd/common/ip_class.h"

namespace egressd::pipeline {

namespace {

// Records ahead of the current one whose index slot (far) and entry (near) are prefetched: a
// 1M-key table does not fit in cache, so each lookup is a miss; issuing them early overlaps ~8
// misses instead of waiting for each (docs/pipeline.md, "Tables").
constexpr size_t kPrefetchFar = 16;
constexpr size_t kPrefetchNear = 8;
constexpr size_t kRing = 32;  // hashes of the records in flight: a power of two > kPrefetchFar
static_assert(kRing > kPrefetchFar && (kRing & (kRing - 1)) == 0);

bool any_below(const Counters& now, const Counters& before) noexcept {
  return now.tx_bytes < before.tx_bytes || now.tx_packets < before.tx_packets ||
         now.rx_bytes < before.rx_bytes || now.rx_packets < before.rx_packets;
}

Counters minus(const Counters& now, const Counters& before) noexcept {
  return Counters{now.tx_bytes - before.tx_bytes, now.tx_packets - before.tx_packets,
                  now.rx_bytes - before.rx_bytes, now.rx_packets - before.rx_packets};
}

size_t share(size_t total, size_t count) noexcept {
  return std::max<size_t>(1, (total + count - 1) / count);
}

}  // namespace

Shard::Shard(size_t index, size_t count, const ReducerLimits& limits, const HashSeed& seed)
    : index_(index),
      count_(count),
      limits_(limits),
      seed_(seed),
      // Keys spread evenly over shards (keyed hash), so each shard gets an equal share of the
      // bounds; a skewed key set reaches its shard's share first and overflows early, which the
      // overflow policy keeps exact.
      entries_(share(limits.max_entries, count), seed),
      flows_(share(limits.max_flows, count), seed),
      overflow_(kMaxOverflowKeys, seed),
      outbox_(count) {}

FlowKey Shard::catch_all_key(uint8_t flags) noexcept {
  return FlowKey{IpAddr{}, IpAddr{}, 0, flags};
}

bool Shard::prepare(FlowRecord& r, SourceKind source, const RouteContext& ctx, uint64_t& route_hash,
                    uint64_t& excluded_count) {
  if (ctx.group_public_ips && !is_private(r.key.peer)) r.key.peer = unspecified_like(r.key.peer);
  if (r.mode == CounterMode::kCumulative) {
    route_hash = entry_hash(source, r.entry_id, ctx.seed);
    return true;
  }
  if (r.counters.is_zero()) return false;
  if (ctx.excluded != nullptr && ctx.excluded->contains(r.key.local)) {
    ++excluded_count;
    return false;
  }
  route_hash = flow_hash(r.key, ctx.seed);
  return true;
}

RecordHashes Shard::hashes(const FlowRecord& r, SourceKind source, const HashSeed& seed) noexcept {
  const uint64_t flow = flow_hash(r.key, seed);
  return RecordHashes{
      r.mode == CounterMode::kCumulative ? entry_hash(source, r.entry_id, seed) : flow, flow};
}

// `inline` with the header's always_inline: only this file calls these (GCC would not inline
// an always_inline function that is not inline).
inline void Shard::process(const FlowRecord& rec, SourceKind source, uint64_t generation,
                           const RecordHashes& h, const LocalIpSet* excluded) {
  if (rec.mode == CounterMode::kDelta) {
    // Routed by flow hash, so this shard owns the key; exclusion was applied when routing.
    add_local(rec.key, h.flow, rec.counters);
    return;
  }
  const Counters delta = cumulative_delta(source, generation, rec, h.route);
  if (delta.is_zero()) return;
  // Excluded after the entry's state is updated, so a pod that joins or leaves the excluded
  // set never makes its entries look new (counted twice) or vanished.
  if (excluded != nullptr && excluded->contains(rec.key.local)) {
    ++stats_.excluded;
    return;
  }
  add(rec.key, h.flow, delta);
}

inline void Shard::prefetch(bool cumulative, const RecordHashes& h, bool entry) const {
  const bool owns_flow = count_ == 1 || shard_of(h.flow, count_) == index_;
  if (entry) {
    if (cumulative) entries_.prefetch_entry(h.route);
    if (owns_flow) flows_.prefetch_entry(h.flow);
  } else {
    if (cumulative) entries_.prefetch_slot(h.route);
    if (owns_flow) flows_.prefetch_slot(h.flow);
  }
}

void Shard::apply(const RecordBatch& batch, size_t base, std::span<const RoutedOffset> routed,
                  const LocalIpSet* excluded) {
  // A software pipeline: a record's hashes are computed kPrefetchFar records ahead (which also
  // pulls the record into cache) and its index slots prefetched; its entries kPrefetchNear ahead.
  const FlowRecord* records = batch.records.data() + base;
  const size_t n = routed.size();
  RecordHashes ring[kRing];
  const auto stage = [&](size_t j) {
    const FlowRecord& r = records[routed[j]];
    const RecordHashes& h = ring[j % kRing] = hashes(r, batch.source, seed_);
    prefetch(h.route != h.flow, h, false);
  };
  for (size_t j = 0; j < std::min(n, kPrefetchFar); ++j) stage(j);
  for (size_t i = 0; i < n; ++i) {
    if (i + kPrefetchFar < n) stage(i + kPrefetchFar);
    if (i + kPrefetchNear < n) {
      // A delta record is routed by its flow hash: differing hashes mean a cumulative record
      // (a collision only costs a needless prefetch).
      const RecordHashes& near = ring[(i + kPrefetchNear) % kRing];
      prefetch(near.route != near.flow, near, true);
    }
    process(records[routed[i]], batch.source, batch.read_generation, ring[i % kRing], excluded);
  }
}

void Shard::merge(std::span<const Outgoing> in) {
  const size_t n = in.size();
  for (size_t i = 0; i < n; ++i) {
    if (i + kPrefetchFar < n) flows_.prefetch_slot(in[i + kPrefetchFar].flow_hash);
    if (i + kPrefetchNear < n) flows_.prefetch_entry(in[i + kPrefetchNear].flow_hash);
    add_local(in[i].flow.key, in[i].flow_hash, in[i].flow.delta);
  }
}

Counters Shard::cumulative_delta(SourceKind source, uint64_t generation, const FlowRecord& record,
                                 uint64_t hash) {
  bool inserted = false;
  EntryState* st = entries_.find_or_insert(EntryKey{record.entry_id, source}, hash, inserted);
  if (st == nullptr) {
    // A final record needs no state: count it. Any other record without state would be counted
    // again at its next sighting: drop it, and say so.
    if (record.final) return record.counters;
    ++stats_.entries_full;
    return {};
  }
  if (inserted || (st->tombstone && any_below(st->last, record.counters))) {
    // First sighting, or a record newer than the final totals: the identity was reused by a new
    // entry. Its whole totals are the delta.
    st->last = record.counters;
    st->generation = generation;
    st->tombstone = record.final;
    st->seen = interval_;
    return record.counters;
  }
  if (st->tombstone) {
    ++stats_.stale;  // not newer than the final totals: a dump that saw the entry before it died
    return {};
  }
  Counters delta;
  if (any_below(record.counters, st->last)) {
    ++stats_.resets;
    delta = record.counters;
  } else {
    delta = minus(record.counters, st->last);
  }
  st->last = record.counters;
  st->generation = std::max(st->generation, generation);
  st->tombstone = record.final;
  st->seen = interval_;
  return delta;
}

void Shard::add(const FlowKey& key, uint64_t flow_hash, const Counters& delta) {
  const size_t owner = shard_of(flow_hash, count_);
  if (owner == index_) {
    add_local(key, flow_hash, delta);
    return;
  }
  outbox_[owner].push_back(Outgoing{FlowDelta{key, delta}, flow_hash});
}

inline void Shard::add_local(const FlowKey& key, uint64_t flow_hash, const Counters& delta) {
  bool inserted = false;
  if (FlowDelta* f = flows_.find_or_insert(key, flow_hash, inserted); f != nullptr) {
    f->delta += delta;
    return;
  }
  // The interval reached this shard's share of --max-flows: keep totals exact and memory
  // bounded by folding into one key per local endpoint.
  ++stats_.overflow;
  const FlowKey folded{key.local, unspecified_like(key.local), 0, key.flags};
  if (FlowDelta* f =
          overflow_.find_or_insert(folded, ::egressd::pipeline::flow_hash(folded, seed_), inserted);
      f != nullptr) {
    f->delta += delta;
    return;
  }
  (key.merged_directions() ? other_merged_ : other_) += delta;
}

void Shard::read_complete(SourceKind source, uint64_t generation) {
  entries_.retain_if([&](const EntryState& e) {
    if (e.source != source || e.generation >= generation) return true;
    if (!e.tombstone) ++stats_.vanished;
    return false;
  });
}

void Shard::end_interval() {
  flows_.clear();
  overflow_.clear();
  other_ = {};
  other_merged_ = {};
  for (auto& box : outbox_) box.clear();
  ++interval_;
  // A sequential read of the entries (~2 ms per million): cheap enough at every close, and it
  // makes expiry exact — an entry goes at the first close `entry_idle_intervals` after its last
  // sighting.
  if (entries_.empty()) return;
  entries_.retain_if([&](const EntryState& e) {
    if (interval_ - e.seen <= limits_.entry_idle_intervals) return true;
    if (!e.tombstone) ++stats_.expired;
    return false;
  });
}

size_t Shard::memory_bytes() const noexcept {
  size_t outboxes = 0;
  for (const auto& box : outbox_) outboxes += box.capacity() * sizeof(Outgoing);
  return entries_.memory_bytes() + flows_.memory_bytes() + overflow_.memory_bytes() + outboxes;
}

}  // namespace egressd::pipeline
