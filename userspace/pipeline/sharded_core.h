// ShardedCore: the reducer's state machine over N shards, without queues or its own threads.
//
// apply() takes a run of batches in queue order and reduces them in up to three parallel phases
// on a TBB arena of `threads` threads (docs/pipeline.md, "Sharding"; under ThreadSanitizer on a
// ForkJoinPool, see fork_join.h):
//   R  route   — per record range: rewrite the key (group-public-ips), drop excluded delta
//                records, hash, and append the record's offset to its shard's list for that
//                range;
//   A  apply   — per shard: its records in queue order (entry state → delta → flow key);
//   B  merge   — per shard: deltas other shards computed for the flow keys it owns (skipped
//                when no shard computed any).
// close_interval() merges the overflow keys, appends every shard's flows to one Snapshot vector
// (a recycled one: docs/pipeline.md, "Publication") and clears the flow tables (capacity kept).
// Each entry and each flow key lives in exactly one shard, so the snapshot has one FlowDelta per
// key.
//
// Called from one thread (the reducer's driver) at a time.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include <oneapi/tbb/task_arena.h>

#include "egressd/common/self_metrics.h"
#include "egressd/flow.h"
#include "pipeline/fork_join.h"
#include "pipeline/shard.h"
#include "pipeline/snapshot.h"

namespace egressd::pipeline {

struct CoreOptions {
  size_t shards = 1;
  size_t threads = 1;  // threads of the arena (the caller is one of them); ≤ shards is useful
  ReducerLimits limits;
  uint64_t seed = 0;  // hash secret; 0 draws one from std::random_device
  // Runs of fewer records are reduced on the calling thread: below this the hand-off to the
  // arena costs more than it saves. Tests set 1 to drive the parallel phases with small inputs.
  size_t parallel_min_records = 8192;
};

class ShardedCore {
 public:
  ShardedCore(const CoreOptions& options, SelfMetrics& metrics);
  ~ShardedCore();
  ShardedCore(const ShardedCore&) = delete;
  ShardedCore& operator=(const ShardedCore&) = delete;

  // Applies the batches in order. Records are consumed: their keys are rewritten in place.
  void apply(std::span<RecordBatch> batches);
  // Local addresses whose records are not aggregated from the next apply() on (nullptr: none).
  void set_excluded(std::shared_ptr<const LocalIpSet> excluded) { excluded_ = std::move(excluded); }
  // Moves the open interval's deltas into a snapshot and starts a new interval. `buffer` is a
  // recycled snapshot vector (its contents are discarded, its pages reused).
  [[nodiscard]] Snapshot close_interval(std::chrono::system_clock::time_point start,
                                        std::chrono::system_clock::time_point end,
                                        std::vector<FlowDelta> buffer = {});

  [[nodiscard]] size_t shards() const noexcept { return shards_.size(); }
  [[nodiscard]] size_t threads() const noexcept { return threads_; }
  [[nodiscard]] size_t tracked_entries() const noexcept;
  [[nodiscard]] size_t open_flows() const noexcept;
  // Bytes held by the tables and routing buffers (not by published snapshots).
  [[nodiscard]] size_t memory_bytes() const noexcept;

 private:
  // A range of one batch's records and its per-shard routing lists.
  struct Slot {
    RecordBatch* batch = nullptr;
    size_t begin = 0;
    size_t end = 0;
    uint64_t excluded = 0;
    std::vector<std::vector<RoutedOffset>> routed;  // [shard]: offsets from `begin`
  };

  void apply_records(std::span<RecordBatch> batches);
  void run_slots(size_t used, size_t records);
  void route(Slot& slot, const RouteContext& ctx) const;
  void read_complete(const RecordBatch& marker);
  void flush_stats();
  // Runs fn(i) for i in [0, n): on the arena when `parallel`, else on the calling thread.
  template <typename Fn>
  void run(bool parallel, size_t n, const Fn& fn);

  size_t threads_;
  size_t parallel_min_;
  ReducerLimits limits_;
  HashSeed seed_;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::vector<Slot> slots_;
  std::shared_ptr<const LocalIpSet> excluded_;
  uint64_t sequence_ = 0;
  tbb::task_arena arena_;
  std::unique_ptr<ForkJoinPool> tsan_pool_;  // ThreadSanitizer builds only (fork_join.h)

  Counter& records_;
  Counter& resets_;
  Counter& stale_;
  Counter& vanished_;
  Counter& expired_;
  Counter& overflow_;
  Counter& entries_full_;
  Counter& excluded_records_;
  Gauge& entries_gauge_;
};

}  // namespace egressd::pipeline
