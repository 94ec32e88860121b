// Publisher: delivers closed snapshots to the SnapshotSink on its own thread, in order, each once.
//
// The reducer's driver must never wait for a consumer (FlowMetrics takes the lock a scrape holds
// while it serializes every series), so closing an interval only hands the snapshot over here.
// At most `capacity` snapshots are outstanding (queued or being consumed); while has_room() is
// false the reducer keeps the interval open instead of closing it (docs/pipeline.md,
// "Publication").
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "egressd/common/self_metrics.h"
#include "pipeline/snapshot.h"

namespace egressd::pipeline {

// Snapshot vectors handed back when the last reader drops a snapshot, and reused by the next
// close: a fresh vector for a million flows is 72 MB of pages to fault in again at every close
// (docs/pipeline.md, "Publication"). Keeps at most `keep` idle vectors. Thread-safe: the last
// reader may be any thread.
class BufferPool {
 public:
  explicit BufferPool(size_t keep) : keep_(keep) {}
  [[nodiscard]] std::vector<FlowDelta> take();
  void give(std::vector<FlowDelta>&& buffer);
  // A shared snapshot whose vector returns to `pool` when its last reference goes.
  [[nodiscard]] static std::shared_ptr<const Snapshot> share(Snapshot&& snapshot,
                                                             std::shared_ptr<BufferPool> pool);

 private:
  std::mutex mutex_;
  size_t keep_;
  std::vector<std::vector<FlowDelta>> idle_;
};

class Publisher {
 public:
  Publisher(SnapshotSink& sink, size_t capacity, SelfMetrics& metrics);
  ~Publisher();
  Publisher(const Publisher&) = delete;
  Publisher& operator=(const Publisher&) = delete;

  void start();
  // Fewer than `capacity` snapshots outstanding: offer() will not wait. Only the offering thread
  // adds snapshots, so a true answer stays true until it offers.
  [[nodiscard]] bool has_room();
  // Queues the snapshot, waiting for room if needed (shutdown). Delivers inline if never started.
  void offer(std::shared_ptr<const Snapshot> snapshot);
  // Delivers everything offered, then joins the thread.
  void stop();

 private:
  void run(const std::stop_token& stop) noexcept;

  SnapshotSink& sink_;
  size_t capacity_;
  std::mutex mutex_;
  std::condition_variable_any changed_;
  std::deque<std::shared_ptr<const Snapshot>> queue_;
  size_t outstanding_ = 0;  // queued + being consumed
  Gauge& consume_seconds_;
  Counter& consumed_;
  std::jthread thread_;  // last: joined before the members it uses go away
};

}  // namespace egressd::pipeline
