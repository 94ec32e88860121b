#include "pipeline/publisher.h"

#include <chrono>

namespace egressd::pipeline {

std::vector<FlowDelta> BufferPool::take() {
  std::lock_guard lock(mutex_);
  if (idle_.empty()) return {};
  std::vector<FlowDelta> out = std::move(idle_.back());
  idle_.pop_back();
  return out;
}

void BufferPool::give(std::vector<FlowDelta>&& buffer) {
  if (buffer.capacity() == 0) return;
  buffer.clear();
  std::vector<FlowDelta> dropped;  // freed outside the lock
  std::lock_guard lock(mutex_);
  if (idle_.size() < keep_) {
    idle_.push_back(std::move(buffer));
  } else {
    dropped = std::move(buffer);
  }
}

std::shared_ptr<const Snapshot> BufferPool::share(Snapshot&& snapshot,
                                                  std::shared_ptr<BufferPool> pool) {
  return std::shared_ptr<const Snapshot>(new Snapshot(std::move(snapshot)),
                                         [pool = std::move(pool)](const Snapshot* s) {
                                           // Allocated non-const just above.
                                           auto* owned = const_cast<Snapshot*>(s);
                                           pool->give(std::move(owned->flows));
                                           delete owned;
                                         });
}

Publisher::Publisher(SnapshotSink& sink, size_t capacity, SelfMetrics& metrics)
    : sink_(sink),
      capacity_(capacity == 0 ? 1 : capacity),
      consume_seconds_(metrics.gauge("egressd_last_snapshot_consume_seconds",
                                     "Time the snapshot consumers (enrichment and exporters) "
                                     "took for the last snapshot.")),
      consumed_(metrics.counter("egressd_snapshots_consumed_total",
                                "Interval snapshots the consumers (enrichment and exporters) have "
                                "finished with: what /metrics shows is at least that recent.")) {}

Publisher::~Publisher() {
  stop();
}

void Publisher::start() {
  if (thread_.joinable()) return;
  thread_ = std::jthread([this](const std::stop_token& st) { run(st); });
}

bool Publisher::has_room() {
  std::lock_guard lock(mutex_);
  return outstanding_ < capacity_;
}

void Publisher::offer(std::shared_ptr<const Snapshot> snapshot) {
  if (!thread_.joinable()) {
    sink_.consume(std::move(snapshot));
    consumed_.inc();
    return;
  }
  {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return outstanding_ < capacity_; });
    queue_.push_back(std::move(snapshot));
    ++outstanding_;
  }
  changed_.notify_all();
}

void Publisher::stop() {
  if (!thread_.joinable()) return;
  thread_.request_stop();  // wakes the wait below; what is queued is still delivered
  thread_.join();
}

void Publisher::run(const std::stop_token& stop) noexcept {
  std::unique_lock lock(mutex_);
  while (true) {
    changed_.wait(lock, stop, [&] { return !queue_.empty(); });
    if (queue_.empty()) return;  // stop requested and everything delivered
    std::shared_ptr<const Snapshot> next = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    const auto t0 = std::chrono::steady_clock::now();
    sink_.consume(std::move(next));
    consume_seconds_.set(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    consumed_.inc();
    lock.lock();
    --outstanding_;
    changed_.notify_all();
  }
}

}  // namespace egressd::pipeline
