// Reducer: the stage between sources and export. Sources push RecordBatches through a lock-free
// multi-producer queue (moodycamel); one reducer thread applies them to a ReducerCore and, at each
// interval boundary, publishes an immutable Snapshot to the SnapshotSink.
//
// The queue is bounded by --queue-capacity batches: a push beyond it is refused at once (the
// source is never blocked) and counted in egressd_records_dropped_total{reason="queue_full"}.
// This first version reduces on one thread; the sharded TBB reducer replaces the core later
// behind the same BatchSink/SnapshotSink interfaces.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>

#include "egressd/common/clock.h"
#include "egressd/common/error.h"
#include "egressd/common/self_metrics.h"
#include "egressd/source.h"
#include "pipeline/reducer_core.h"
#include "pipeline/snapshot.h"

namespace egressd::pipeline {

struct ReducerOptions {
  std::chrono::milliseconds interval{5000};
  size_t queue_capacity = 1024;  // batches in flight between sources and the reducer
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

  bool push(RecordBatch&& batch) override;

  void start();
  // Applies what is queued, publishes the last (partial) interval, joins the thread.
  void stop();

 private:
  struct Impl;
  explicit Reducer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace egressd::pipeline
