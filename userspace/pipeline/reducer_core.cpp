#include "pipeline/reducer_core.h"

#include "egressd/common/ip_class.h"

namespace egressd::pipeline {

namespace {

bool any_below(const Counters& now, const Counters& before) noexcept {
  return now.tx_bytes < before.tx_bytes || now.tx_packets < before.tx_packets ||
         now.rx_bytes < before.rx_bytes || now.rx_packets < before.rx_packets;
}

Counters minus(const Counters& now, const Counters& before) noexcept {
  return Counters{now.tx_bytes - before.tx_bytes, now.tx_packets - before.tx_packets,
                  now.rx_bytes - before.rx_bytes, now.rx_packets - before.rx_packets};
}

}  // namespace

ReducerCore::ReducerCore(const ReducerLimits& limits, SelfMetrics& metrics)
    : limits_(limits),
      records_(metrics.counter("egressd_reducer_records_total", "Records applied by the reducer.")),
      resets_(metrics.counter("egressd_reducer_resets_total",
                              "Cumulative counters that went backwards and were treated as a "
                              "reset (entry replaced or evicted).")),
      stale_(metrics.counter("egressd_reducer_stale_records_total",
                             "Records of an entry already finalized by a destroy event, ignored "
                             "(a dump that raced with the destroy).")),
      vanished_(metrics.counter("egressd_reducer_entries_vanished_total",
                                "Entries that disappeared between two complete reads without a "
                                "final record: traffic after their last read is not counted.")),
      overflow_(metrics.counter("egressd_reducer_overflow_records_total",
                                "Records folded into the per-endpoint overflow key because the "
                                "interval reached --max-flows keys (totals stay exact).")),
      entries_full_(metrics.counter("egressd_records_dropped_total", "Records dropped, by reason.",
                                    {{"reason", "entry_table_full"}})),
      entries_gauge_(metrics.gauge("egressd_reducer_tracked_entries",
                                   "Cumulative kernel entries whose last totals the reducer "
                                   "keeps.")) {}

void ReducerCore::apply(const RecordBatch& batch) {
  if (batch.kind == RecordBatch::Kind::kReadComplete) {
    read_complete(batch.source, batch.read_generation);
    return;
  }
  for (const FlowRecord& r : batch.records) apply_record(batch.source, batch.read_generation, r);
  records_.inc(batch.records.size());
  entries_gauge_.set(static_cast<double>(entries_.size()));
}

void ReducerCore::apply_record(SourceKind source, uint64_t generation, const FlowRecord& record) {
  FlowKey key = record.key;
  if (limits_.group_public_ips && !is_private(key.peer)) key.peer = unspecified_like(key.peer);
  if (record.mode == CounterMode::kDelta) {
    add(key, record.counters);
    return;
  }
  add(key, cumulative_delta(source, generation, record));
}

Counters ReducerCore::cumulative_delta(SourceKind source, uint64_t generation,
                                       const FlowRecord& record) {
  const EntryKey ek{record.entry_id, source};
  const auto it = entries_.find(ek);
  if (it == entries_.end()) {
    if (entries_.size() >= limits_.max_entries) {
      // A final record needs no state: count it. Any other record without state would be
      // counted again at its next sighting: drop it, and say so.
      if (record.final) return record.counters;
      entries_full_.inc();
      return {};
    }
    entries_.emplace(ek, EntryState{record.counters, generation, record.final});
    return record.counters;
  }
  EntryState& st = it->second;
  if (st.tombstone) {
    if (!any_below(st.last, record.counters)) {
      stale_.inc();  // not newer than the final totals: a dump that saw the entry before it died
      return {};
    }
    // Newer than the final totals: the same identity was reused by a new entry.
    st = EntryState{record.counters, generation, record.final};
    return record.counters;
  }
  Counters delta;
  if (any_below(record.counters, st.last)) {
    resets_.inc();
    delta = record.counters;
  } else {
    delta = minus(record.counters, st.last);
  }
  st.last = record.counters;
  st.generation = std::max(st.generation, generation);
  st.tombstone = record.final;
  return delta;
}

void ReducerCore::add(const FlowKey& key, const Counters& delta) {
  if (delta.is_zero()) return;
  auto it = interval_.find(key);
  if (it == interval_.end()) {
    if (interval_.size() >= limits_.max_flows) {
      // Keep totals exact and memory bounded: fold into one key per local endpoint.
      overflow_.inc();
      const FlowKey folded{key.local, unspecified_like(key.local), 0};
      interval_[folded] += delta;
      return;
    }
    it = interval_.emplace(key, Counters{}).first;
  }
  it->second += delta;
}

void ReducerCore::read_complete(SourceKind source, uint64_t generation) {
  for (auto it = entries_.begin(); it != entries_.end();) {
    const EntryState& st = it->second;
    if (it->first.source == source && st.generation < generation) {
      if (!st.tombstone) vanished_.inc();
      it = entries_.erase(it);
    } else {
      ++it;
    }
  }
  entries_gauge_.set(static_cast<double>(entries_.size()));
}

Snapshot ReducerCore::close_interval(std::chrono::system_clock::time_point start,
                                     std::chrono::system_clock::time_point end) {
  Snapshot snap;
  snap.sequence = ++sequence_;
  snap.start = start;
  snap.end = end;
  snap.flows.reserve(interval_.size());
  for (const auto& [key, delta] : interval_) snap.flows.push_back(FlowDelta{key, delta});
  interval_.clear();
  return snap;
}

}  // namespace egressd::pipeline
