#include "pipeline/reducer.h"

#include <mutex>
#include <thread>

#include <gtest/gtest.h>

namespace egressd::pipeline {
namespace {

class RecordingSink final : public SnapshotSink {
 public:
  void consume(std::shared_ptr<const Snapshot> s) override {
    std::lock_guard lock(mutex);
    snapshots.push_back(std::move(s));
  }
  uint64_t total_tx_bytes() {
    std::lock_guard lock(mutex);
    uint64_t sum = 0;
    for (const auto& s : snapshots) {
      for (const auto& f : s->flows) sum += f.delta.tx_bytes;
    }
    return sum;
  }
  size_t count() {
    std::lock_guard lock(mutex);
    return snapshots.size();
  }
  std::mutex mutex;
  std::vector<std::shared_ptr<const Snapshot>> snapshots;
};

RecordBatch delta_batch(uint32_t peer, uint64_t bytes, size_t n) {
  RecordBatch b;
  b.source = SourceKind::kEbpf;
  for (size_t i = 0; i < n; ++i) {
    FlowRecord r;
    r.key = FlowKey{IpAddr::v4(0x0AF4010A), IpAddr::v4(peer), kProtoUdp};
    r.counters = Counters{bytes, 1, 0, 0};
    r.mode = CounterMode::kDelta;
    b.records.push_back(r);
  }
  return b;
}

TEST(Reducer, RejectsBadOptions) {
  RecordingSink sink;
  SelfMetrics metrics;
  SystemClock clock;
  ReducerOptions o;
  o.interval = std::chrono::milliseconds(0);
  EXPECT_FALSE(Reducer::create(o, sink, metrics, clock));
  o.interval = std::chrono::milliseconds(10);
  o.queue_capacity = 0;
  EXPECT_FALSE(Reducer::create(o, sink, metrics, clock));
}

TEST(Reducer, ConcurrentProducersLoseNothingAndStopPublishesTheRest) {
  RecordingSink sink;
  SelfMetrics metrics;
  SystemClock clock;
  ReducerOptions o;
  o.interval = std::chrono::milliseconds(20);
  o.queue_capacity = 1'000'000;
  auto reducer = Reducer::create(o, sink, metrics, clock).value();
  reducer->start();
  constexpr int kBatches = 2000;
  std::vector<std::jthread> producers;
  for (uint32_t p = 0; p < 3; ++p) {
    producers.emplace_back([&, p] {
      for (int i = 0; i < kBatches; ++i) {
        ASSERT_TRUE(reducer->push(delta_batch(0x0AF40200 + p, 3, 10)));
      }
    });
  }
  producers.clear();
  reducer->stop();
  EXPECT_EQ(sink.total_tx_bytes(), 3ull * kBatches * 10 * 3);
  EXPECT_GE(sink.count(), 1u);
  for (size_t i = 0; i < sink.snapshots.size(); ++i) {
    EXPECT_EQ(sink.snapshots[i]->sequence, i + 1);
  }
}

TEST(Reducer, PublishesAtIntervalBoundariesWithoutTraffic) {
  RecordingSink sink;
  SelfMetrics metrics;
  SystemClock clock;
  ReducerOptions o;
  o.interval = std::chrono::milliseconds(20);
  auto reducer = Reducer::create(o, sink, metrics, clock).value();
  reducer->start();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (sink.count() < 3 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  reducer->stop();
  EXPECT_GE(sink.count(), 3u);
}

TEST(Reducer, FullQueueRefusesAndCountsWithoutBlocking) {
  RecordingSink sink;
  SelfMetrics metrics;
  SystemClock clock;
  ReducerOptions o;
  o.queue_capacity = 2;
  auto reducer = Reducer::create(o, sink, metrics, clock).value();
  // Not started: nothing drains the queue.
  EXPECT_TRUE(reducer->push(delta_batch(1, 1, 4)));
  EXPECT_TRUE(reducer->push(delta_batch(1, 1, 4)));
  EXPECT_FALSE(reducer->push(delta_batch(1, 1, 5)));
  uint64_t dropped = 0;
  metrics.visit([&](const SelfMetrics::Entry& e) {
    if (e.name == "egressd_records_dropped_total") dropped += e.counter->value();
  });
  EXPECT_EQ(dropped, 5u);
  // Once started and stopped, what was accepted is published.
  reducer->start();
  reducer->stop();
  EXPECT_EQ(sink.total_tx_bytes(), 8u);
}

}  // namespace
}  // namespace egressd::pipeline
