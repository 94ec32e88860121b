// ReducerCore: the single-threaded state machine of the reducer, without queues or threads.
//
// It turns cumulative records into deltas per kernel entry (with reset detection), adds delta
// records as they are, and accumulates per-flow deltas for the open interval. Rules
// (docs/pipeline.md):
//  - an entry seen for the first time contributes its whole counters;
//  - a counter that goes backwards is a reset: the new totals are the delta, and it is counted;
//  - a final record (conntrack DESTROY) leaves a tombstone until the source's next-but-one
//    complete read, so a dump that raced with the destroy cannot count the entry again;
//  - a complete read releases the entries of that source it did not see.
#pragma once

#include <chrono>
#include <cstdint>
#include <unordered_map>

#include "egressd/common/self_metrics.h"
#include "egressd/flow.h"
#include "pipeline/snapshot.h"

namespace egressd::pipeline {

struct ReducerLimits {
  size_t max_flows = 1'000'000;    // distinct flow keys in one interval
  size_t max_entries = 4'000'000;  // cumulative kernel entries tracked at once
  bool group_public_ips = false;   // public peers collapse to 0.0.0.0 / ::
};

class ReducerCore {
 public:
  ReducerCore(const ReducerLimits& limits, SelfMetrics& metrics);

  void apply(const RecordBatch& batch);
  // Moves the open interval's deltas into a snapshot and starts a new interval.
  [[nodiscard]] Snapshot close_interval(std::chrono::system_clock::time_point start,
                                        std::chrono::system_clock::time_point end);

  [[nodiscard]] size_t tracked_entries() const noexcept { return entries_.size(); }
  [[nodiscard]] size_t open_flows() const noexcept { return interval_.size(); }

 private:
  struct EntryKey {
    uint64_t id;
    SourceKind source;
    friend bool operator==(const EntryKey&, const EntryKey&) = default;
  };
  struct EntryKeyHash {
    size_t operator()(const EntryKey& k) const noexcept {
      return static_cast<size_t>((k.id ^ static_cast<uint64_t>(k.source)) * 0x9E3779B97F4A7C15ULL);
    }
  };
  struct EntryState {
    Counters last;
    uint64_t generation = 0;
    bool tombstone = false;
  };

  void apply_record(SourceKind source, uint64_t generation, const FlowRecord& record);
  // Returns the delta this cumulative record contributes (zero if none).
  Counters cumulative_delta(SourceKind source, uint64_t generation, const FlowRecord& record);
  void add(const FlowKey& key, const Counters& delta);
  void read_complete(SourceKind source, uint64_t generation);

  ReducerLimits limits_;
  std::unordered_map<EntryKey, EntryState, EntryKeyHash> entries_;
  std::unordered_map<FlowKey, Counters, FlowKeyHash> interval_;
  uint64_t sequence_ = 0;

  Counter& records_;
  Counter& resets_;
  Counter& stale_;
  Counter& vanished_;
  Counter& overflow_;
  Counter& entries_full_;
  Gauge& entries_gauge_;
};

}  // namespace egressd::pipeline
