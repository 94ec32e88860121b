#include "pipeline/reducer.h"

#include <unistd.h>

#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "common/manual_clock.h"
#include "common/self_metrics_reader.h"
#include "common/wait.h"

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

using testing::counter_value;
using testing::gauge_value;
using testing::ManualClock;

using testing::eventually;  // the reducer's driver looks at its clock at least every 100 ms

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
  ManualClock clock;
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
  ManualClock clock;
  ReducerOptions o;
  o.interval = std::chrono::milliseconds(20);
  o.queue_capacity = 1'000'000;
  auto reducer = Reducer::create(o, sink, metrics, clock).value();
  reducer->start();
  constexpr int kBatches = 2000;
  std::atomic<int> refused{0};
  {
    std::vector<std::jthread> producers;
    for (uint32_t p = 0; p < 3; ++p) {
      producers.emplace_back([&, p] {
        for (int i = 0; i < kBatches; ++i) {
          if (!reducer->push(delta_batch(0x0AF40200 + p, 3, 10))) ++refused;
          if (i % 500 == 0 && p == 0) clock.advance(o.interval);  // intervals close meanwhile
        }
      });
    }
  }
  reducer->stop();
  EXPECT_EQ(refused, 0);
  EXPECT_EQ(sink.total_tx_bytes(), 3ull * kBatches * 10 * 3);
  EXPECT_GE(sink.count(), 1u);
  for (size_t i = 0; i < sink.snapshots.size(); ++i) {
    EXPECT_EQ(sink.snapshots[i]->sequence, i + 1);
  }
}

// Time is the test's: each advance by one interval closes exactly one interval, traffic or not,
// and stop() publishes the open one.
TEST(Reducer, PublishesAtIntervalBoundariesWithoutTraffic) {
  RecordingSink sink;
  SelfMetrics metrics;
  ManualClock clock;
  ReducerOptions o;
  o.interval = std::chrono::seconds(5);
  auto reducer = Reducer::create(o, sink, metrics, clock).value();
  reducer->start();
  for (size_t i = 1; i <= 3; ++i) {
    clock.advance(o.interval);
    ASSERT_TRUE(eventually([&] { return sink.count() == i; })) << "interval " << i;
    EXPECT_EQ(counter_value(metrics, "egressd_intervals_total"), i);
  }
  clock.advance(o.interval / 2);  // not a boundary
  ASSERT_TRUE(reducer->push(delta_batch(1, 7, 1)));
  ASSERT_TRUE(
      eventually([&] { return counter_value(metrics, "egressd_reducer_records_total") == 1; }));
  EXPECT_EQ(sink.count(), 3u) << "half an interval closes nothing";
  reducer->stop();
  ASSERT_EQ(sink.count(), 4u) << "stop publishes the open interval";
  for (size_t i = 0; i < 3; ++i) EXPECT_TRUE(sink.snapshots[i]->flows.empty());
  EXPECT_EQ(sink.total_tx_bytes(), 7u);
  // Interval bounds come from the same clock: consecutive, one interval long.
  for (size_t i = 1; i < 3; ++i) {
    EXPECT_EQ(sink.snapshots[i]->start, sink.snapshots[i - 1]->end);
    EXPECT_EQ(sink.snapshots[i]->end - sink.snapshots[i]->start, o.interval);
  }
}

TEST(Reducer, FullQueueRefusesAndCountsWithoutBlocking) {
  RecordingSink sink;
  SelfMetrics metrics;
  ManualClock clock;
  ReducerOptions o;
  o.queue_capacity = 2;
  auto reducer = Reducer::create(o, sink, metrics, clock).value();
  // Not started: nothing drains the queue.
  EXPECT_TRUE(reducer->push(delta_batch(1, 1, 4)));
  EXPECT_TRUE(reducer->push(delta_batch(1, 1, 4)));
  EXPECT_FALSE(reducer->push(delta_batch(1, 1, 5)));
  EXPECT_EQ(counter_value(metrics, "egressd_records_dropped_total"), 5u);
  // Once started and stopped, what was accepted is published.
  reducer->start();
  reducer->stop();
  EXPECT_EQ(sink.total_tx_bytes(), 8u);
}

RecordBatch conntrack_read(uint64_t generation, std::vector<std::pair<uint64_t, uint64_t>> seen) {
  RecordBatch b;
  b.source = SourceKind::kNetfilter;
  b.read_generation = generation;
  for (const auto& [id, total] : seen) {
    FlowRecord r;
    r.key = FlowKey{IpAddr::v4(0x0AF4010A), IpAddr::v4(0x0AF4020A), kProtoTcp};
    r.counters = Counters{total, 1, 0, 0};
    r.entry_id = id;
    b.records.push_back(r);
  }
  return b;
}

RecordBatch read_complete(uint64_t generation) {
  RecordBatch b;
  b.kind = RecordBatch::Kind::kReadComplete;
  b.source = SourceKind::kNetfilter;
  b.read_generation = generation;
  return b;
}

TEST(Reducer, ReadWithARefusedBatchReleasesNothing) {
  RecordingSink sink;
  SelfMetrics metrics;
  ManualClock clock;
  ReducerOptions o;
  o.queue_capacity = 3;
  auto reducer = Reducer::create(o, sink, metrics, clock).value();
  ASSERT_TRUE(reducer->push(conntrack_read(1, {{1, 10}, {2, 20}})));
  ASSERT_TRUE(reducer->push(read_complete(1)));
  ASSERT_TRUE(reducer->push(conntrack_read(2, {{1, 15}})));
  ASSERT_FALSE(reducer->push(conntrack_read(2, {{2, 25}})));  // queue full: entry 2 unseen
  reducer->start();
  ASSERT_TRUE(eventually([&] {
    return counter_value(metrics, "egressd_reducer_records_total") == 3 &&
           gauge_value(metrics, "egressd_queue_batches") == 0;
  }));
  // The source saw every entry in read 2, the reducer did not: read 2 must not release entry 2,
  // or its next sighting would count its whole totals again.
  ASSERT_TRUE(reducer->push(read_complete(2)));
  ASSERT_TRUE(reducer->push(conntrack_read(3, {{1, 15}, {2, 30}})));
  reducer->stop();
  EXPECT_EQ(sink.total_tx_bytes(), 10u + 20u + 5u + 10u);
  EXPECT_EQ(counter_value(metrics, "egressd_reducer_incomplete_reads_total"), 1u);
  EXPECT_EQ(counter_value(metrics, "egressd_reducer_entries_vanished_total"), 0u);
}

// A consumer that blocks in consume() until released, like an exporter whose lock a slow scrape
// holds.
class BlockingSink final : public SnapshotSink {
 public:
  void consume(std::shared_ptr<const Snapshot> s) override {
    std::unique_lock lock(mutex);
    ++entered;
    changed.notify_all();
    changed.wait(lock, [&] { return released; });
    snapshots.push_back(std::move(s));
  }
  void release() {
    std::lock_guard lock(mutex);
    released = true;
    changed.notify_all();
  }
  std::mutex mutex;
  std::condition_variable changed;
  int entered = 0;
  bool released = false;
  std::vector<std::shared_ptr<const Snapshot>> snapshots;
};

TEST(Reducer, ABlockedConsumerDelaysPublicationNeverIngestion) {
  BlockingSink sink;
  SelfMetrics metrics;
  ManualClock clock;
  ReducerOptions o;
  o.interval = std::chrono::milliseconds(5);
  o.queue_capacity = 4;
  auto reducer = Reducer::create(o, sink, metrics, clock).value();
  // Declared after the reducer, so destroyed before it: a failed ASSERT below releases the sink
  // before ~Reducer waits for the publisher (which waits for the blocked consume()).
  struct Release {
    BlockingSink& sink;
    ~Release() { sink.release(); }
  } release_on_exit{sink};
  reducer->start();
  clock.advance(o.interval);
  ASSERT_TRUE(eventually([&] {
    std::lock_guard lock(sink.mutex);
    return sink.entered == 1;
  }));
  // The consumer is stuck; far more batches than the queue holds still get through, because the
  // reducer keeps reducing into an interval it cannot close.
  for (uint64_t i = 1; i <= 50; ++i) {
    ASSERT_TRUE(reducer->push(delta_batch(1, 2, 10)));
    ASSERT_TRUE(eventually(
        [&] { return counter_value(metrics, "egressd_reducer_records_total") == 10 * i; }));
  }
  // Boundaries pass while the consumer is stuck: once the publisher's room is used up, closes are
  // deferred, not dropped.
  EXPECT_TRUE(eventually([&] {
    clock.advance(o.interval);
    return counter_value(metrics, "egressd_reducer_publish_deferred_total") > 0;
  }));
  EXPECT_EQ(counter_value(metrics, "egressd_records_dropped_total"), 0u);
  sink.release();
  reducer->stop();
  uint64_t bytes = 0;
  for (size_t i = 0; i < sink.snapshots.size(); ++i) {
    EXPECT_EQ(sink.snapshots[i]->sequence, i + 1);
    for (const auto& f : sink.snapshots[i]->flows) bytes += f.delta.tx_bytes;
  }
  EXPECT_EQ(bytes, 50u * 10 * 2);
}

TEST(Reducer, ExcludedLocalsAreNotAggregated) {
  RecordingSink sink;
  SelfMetrics metrics;
  ManualClock clock;
  auto excluded = std::make_shared<LocalIpSet>();
  excluded->insert(IpAddr::v4(0x0AF4010A));
  ReducerOptions o;
  o.excluded_locals = [excluded] { return excluded; };
  auto reducer = Reducer::create(o, sink, metrics, clock).value();
  RecordBatch other = delta_batch(7, 5, 2);
  for (auto& r : other.records) r.key.local = IpAddr::v4(0x0AF4010B);
  ASSERT_TRUE(reducer->push(delta_batch(7, 100, 3)));
  ASSERT_TRUE(reducer->push(std::move(other)));
  reducer->start();
  reducer->stop();
  EXPECT_EQ(sink.total_tx_bytes(), 10u);
  EXPECT_EQ(counter_value(metrics, "egressd_reducer_excluded_records_total"), 3u);
}

// The reducer's CPU count goes through the cgroup quota (the rule itself: cpu_quota_test.cpp).
TEST(Reducer, AvailableCpusHonoursCgroupQuotas) {
  const auto root =
      std::filesystem::temp_directory_path() / ("egressd-cgroup-" + std::to_string(::getpid()));
  std::filesystem::create_directories(root);
  std::ofstream(root / "cpu.max") << "100000 100000\n";
  EXPECT_EQ(available_cpus(root.string()), 1u) << "a one-CPU quota allows one, on any machine";
  std::filesystem::remove_all(root);
}

TEST(Reducer, ProducerHandlesKeepEachSourcesOrder) {
  RecordingSink sink;
  SelfMetrics metrics;
  ManualClock clock;
  ReducerOptions o;
  o.shards = 3;
  o.parallel_min_records = 1;
  auto reducer = Reducer::create(o, sink, metrics, clock).value();
  reducer->start();
  {
    // Entry 1's totals rise by one per read; out of order they would read as resets.
    auto handle = reducer->producer();
    for (uint64_t g = 1; g <= 200; ++g) ASSERT_TRUE(handle->push(conntrack_read(g, {{1, g}})));
  }
  reducer->stop();
  EXPECT_EQ(sink.total_tx_bytes(), 200u);
  EXPECT_EQ(counter_value(metrics, "egressd_reducer_resets_total"), 0u);
}

}  // namespace
}  // namespace egressd::pipeline
