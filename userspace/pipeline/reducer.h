// Reducer: the stage between sources and export (docs/pipeline.md).
//
// Sources push RecordBatches into one bounded lock-free multi-producer queue (moodycamel); each
// source thread gets its own producer token (producer()), which keeps its batches in order and
// makes its enqueues cheaper. A driver thread dequeues runs of batches and reduces them on a
// ShardedCore (N shards on a TBB arena). At each interval boundary it closes the interval into an
// immutable Snapshot and hands it to a publisher thread, which calls SnapshotSink::consume(): a
// slow consumer (a scrape holding the exporter's lock) delays a publication, never ingestion.
//
// Bounds: --queue-capacity batches in flight (a push beyond it is refused at once and counted in
// egressd_records_dropped_total{reason="queue_full"}: the source is never blocked), at most two
// snapshots not yet consumed (further closes wait, the interval grows, nothing is dropped), and
// the key bounds of ReducerLimits.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "egressd/common/clock.h"
#include "egressd/common/error.h"
#include "egressd/common/self_metrics.h"
#include "egressd/source.h"
#include "pipeline/shard.h"
#include "pipeline/snapshot.h"

namespace egressd::pipeline {

struct ReducerOptions {
  std::chrono::milliseconds interval{5000};
  size_t queue_capacity = 1024;  // batches in flight between sources and the reducer
  size_t shards = 0;             // 0: one per available CPU (available_cpus())
  size_t max_pending_snapshots = 2;
  size_t parallel_min_records = 8192;  // CoreOptions::parallel_min_records
  // Local addresses (pods of --exclude-namespaces) whose records are not aggregated. Called on
  // the driver thread before each run of batches; return the same set until the inventory
  // changes (docs/pipeline.md, "Cardinality controls"). Empty: nothing is excluded here.
  std::function<std::shared_ptr<const LocalIpSet>()> excluded_locals;
  // entry_idle_intervals is derived from `interval` (docs/pipeline.md, "Bounds").
  ReducerLimits limits;
};

class Reducer final : public BatchSink {
 public:
  [[nodiscard]] static Result<std::unique_ptr<Reducer>> create(const ReducerOptions& options,
                                                               SnapshotSink& sink,
                                                               SelfMetrics& metrics,
                                                               const Clock& clock);
  ~Reducer() override;
  Reducer(const Reducer&) = delete;
  Reducer& operator=(const Reducer&) = delete;

  // Any thread, without a token (moodycamel's implicit per-thread producer).
  bool push(RecordBatch&& batch) override;
  // A BatchSink with its own producer token, for one thread at a time (a source's reader
  // thread): its batches are applied in the order it pushed them. Must not outlive the reducer.
  [[nodiscard]] std::unique_ptr<BatchSink> producer();

  void start();
  // Applies what is queued, publishes the last (partial) interval, waits until the sink has
  // consumed every snapshot, joins the threads.
  void stop();

  [[nodiscard]] size_t shards() const noexcept;
  [[nodiscard]] size_t threads() const noexcept;

 private:
  struct Impl;
  class TokenProducer;
  explicit Reducer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// CPUs this process may use: the affinity mask (TBB's default concurrency) capped by the cgroup
// CPU quota under `cgroup_root` (cpus_within_quota(), common/cpu_quota.h).
[[nodiscard]] size_t available_cpus(const std::string& cgroup_root = "/sys/fs/cgroup");

}  // namespace egressd::pipeline
