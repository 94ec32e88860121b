#include "pipeline/reducer_core.h"

#include <map>

#include <gtest/gtest.h>

namespace egressd::pipeline {
namespace {

const IpAddr kPod = IpAddr::parse("10.244.1.10").value();
const IpAddr kPeer = IpAddr::parse("10.244.2.10").value();
const IpAddr kPublic = IpAddr::parse("203.0.113.10").value();
const IpAddr kPublic2 = IpAddr::parse("198.51.100.7").value();

FlowRecord cumulative(uint64_t id, Counters c, bool final = false, IpAddr peer = kPeer) {
  FlowRecord r;
  r.key = FlowKey{kPod, peer, kProtoTcp};
  r.counters = c;
  r.entry_id = id;
  r.mode = CounterMode::kCumulative;
  r.final = final;
  return r;
}

RecordBatch batch(uint64_t generation, std::vector<FlowRecord> records) {
  RecordBatch b;
  b.source = SourceKind::kNetfilter;
  b.read_generation = generation;
  b.records = std::move(records);
  return b;
}

RecordBatch complete(uint64_t generation) {
  RecordBatch b;
  b.kind = RecordBatch::Kind::kReadComplete;
  b.source = SourceKind::kNetfilter;
  b.read_generation = generation;
  return b;
}

uint64_t metric(const SelfMetrics& m, const std::string& name, const std::string& reason = "") {
  uint64_t v = 0;
  m.visit([&](const SelfMetrics::Entry& e) {
    if (e.name != name || e.type != SelfMetrics::Type::kCounter) return;
    if (!reason.empty() && (e.labels.empty() || e.labels[0].second != reason)) return;
    v += e.counter->value();
  });
  return v;
}

// Sum of the snapshot's deltas per key, for order-independent comparison.
std::map<std::string, Counters> by_key(const Snapshot& s) {
  std::map<std::string, Counters> out;
  for (const auto& f : s.flows) {
    out[f.key.local.to_string() + ">" + f.key.peer.to_string() + "/" +
        std::to_string(f.key.proto)] += f.delta;
  }
  return out;
}

class ReducerCoreTest : public ::testing::Test {
 protected:
  Snapshot close() { return core.close_interval({}, {}); }
  Counters only(const Snapshot& s) {
    EXPECT_EQ(s.flows.size(), 1u);
    return s.flows.empty() ? Counters{} : s.flows[0].delta;
  }

  SelfMetrics metrics;
  ReducerLimits limits;
  ReducerCore core{limits, metrics};
};

TEST_F(ReducerCoreTest, FirstSightingCountsWholeTotalsThenDeltas) {
  core.apply(batch(1, {cumulative(7, {100, 2, 50, 1})}));
  EXPECT_EQ(only(close()), (Counters{100, 2, 50, 1}));
  core.apply(batch(2, {cumulative(7, {160, 3, 90, 2})}));
  EXPECT_EQ(only(close()), (Counters{60, 1, 40, 1}));
  // No change: no flow in the snapshot at all (a zero delta is not exported).
  core.apply(batch(3, {cumulative(7, {160, 3, 90, 2})}));
  EXPECT_TRUE(close().flows.empty());
}

TEST_F(ReducerCoreTest, CounterGoingBackwardsIsAResetNotAHugeDelta) {
  core.apply(batch(1, {cumulative(7, {1000, 10, 1000, 10})}));
  (void)close();
  core.apply(batch(2, {cumulative(7, {30, 1, 0, 0})}));
  EXPECT_EQ(only(close()), (Counters{30, 1, 0, 0}));
  EXPECT_EQ(metric(metrics, "egressd_reducer_resets_total"), 1u);
}

TEST_F(ReducerCoreTest, FinalRecordCountsTheRestAndStaleDumpIsIgnored) {
  core.apply(batch(1, {cumulative(7, {100, 1, 100, 1})}));
  (void)close();
  core.apply(batch(2, {cumulative(7, {300, 3, 200, 2}, /*final=*/true)}));
  // A dump that read the entry before it died arrives afterwards: it must not count again.
  core.apply(batch(2, {cumulative(7, {250, 2, 150, 2})}));
  EXPECT_EQ(only(close()), (Counters{200, 2, 100, 1}));
  EXPECT_EQ(metric(metrics, "egressd_reducer_stale_records_total"), 1u);
  // The tombstone is released by the complete reads that follow.
  core.apply(complete(2));
  EXPECT_EQ(core.tracked_entries(), 1u);
  core.apply(complete(3));
  EXPECT_EQ(core.tracked_entries(), 0u);
  EXPECT_EQ(metric(metrics, "egressd_reducer_entries_vanished_total"), 0u);
}

TEST_F(ReducerCoreTest, ShortLivedFlowSeenOnlyAsFinalIsCountedWhole) {
  core.apply(batch(4, {cumulative(9, {500, 5, 400, 4}, /*final=*/true)}));
  EXPECT_EQ(only(close()), (Counters{500, 5, 400, 4}));
}

TEST_F(ReducerCoreTest, ReusedIdentityAfterFinalIsANewEntry) {
  core.apply(batch(1, {cumulative(7, {100, 1, 100, 1}, /*final=*/true)}));
  (void)close();
  core.apply(batch(1, {cumulative(7, {150, 2, 100, 1})}));  // newer than the final totals
  EXPECT_EQ(only(close()), (Counters{150, 2, 100, 1}));
}

TEST_F(ReducerCoreTest, CompleteReadReleasesEntriesItDidNotSee) {
  core.apply(batch(1, {cumulative(1, {10, 1, 0, 0}), cumulative(2, {20, 1, 0, 0})}));
  core.apply(complete(1));
  core.apply(batch(2, {cumulative(1, {15, 2, 0, 0})}));
  core.apply(complete(2));
  EXPECT_EQ(core.tracked_entries(), 1u);
  EXPECT_EQ(metric(metrics, "egressd_reducer_entries_vanished_total"), 1u);
  // Entry 2 comes back (a new kernel entry with the same identity): counted from zero.
  core.apply(batch(3, {cumulative(2, {5, 1, 0, 0})}));
  const auto s = by_key(close());
  EXPECT_EQ(s.at("10.244.1.10>10.244.2.10/6"), (Counters{10 + 20 + 5 + 5, 4, 0, 0}));
}

TEST_F(ReducerCoreTest, EntriesOfOneSourceSurviveAnotherSourcesCompleteRead) {
  core.apply(batch(1, {cumulative(1, {10, 1, 0, 0})}));
  RecordBatch other = complete(50);
  other.source = SourceKind::kCilium;
  core.apply(other);
  EXPECT_EQ(core.tracked_entries(), 1u);
}

TEST_F(ReducerCoreTest, DeltaRecordsAddUpAcrossEntriesOfOneKey) {
  FlowRecord d = cumulative(0, {7, 1, 3, 1});
  d.mode = CounterMode::kDelta;
  core.apply(batch(0, {d, d, cumulative(5, {100, 1, 0, 0})}));
  EXPECT_EQ(only(close()), (Counters{114, 3, 6, 2}));
}

TEST(ReducerCoreLimits, GroupPublicIpsCollapsesOnlyPublicPeers) {
  SelfMetrics metrics;
  ReducerLimits limits;
  limits.group_public_ips = true;
  ReducerCore core(limits, metrics);
  core.apply(batch(1, {cumulative(1, {10, 1, 0, 0}, false, kPublic),
                       cumulative(2, {20, 1, 0, 0}, false, kPublic2),
                       cumulative(3, {40, 1, 0, 0}, false, kPeer)}));
  const auto s = by_key(core.close_interval({}, {}));
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s.at("10.244.1.10>0.0.0.0/6"), (Counters{30, 2, 0, 0}));
  EXPECT_EQ(s.at("10.244.1.10>10.244.2.10/6"), (Counters{40, 1, 0, 0}));
}

TEST(ReducerCoreLimits, FlowOverflowFoldsIntoOneKeyPerLocalEndpointKeepingTotals) {
  SelfMetrics metrics;
  ReducerLimits limits;
  limits.max_flows = 2;
  ReducerCore core(limits, metrics);
  std::vector<FlowRecord> records;
  uint64_t total = 0;
  for (uint32_t i = 0; i < 10; ++i) {
    records.push_back(cumulative(i + 1, {i + 1, 1, 0, 0}, false, IpAddr::v4(0x0AF40200 + i)));
    total += i + 1;
  }
  core.apply(batch(1, records));
  const auto snap = core.close_interval({}, {});
  uint64_t sum = 0;
  for (const auto& f : snap.flows) sum += f.delta.tx_bytes;
  EXPECT_EQ(sum, total);
  EXPECT_EQ(snap.flows.size(), 3u);  // two keys + the overflow key
  EXPECT_EQ(metric(metrics, "egressd_reducer_overflow_records_total"), 8u);
}

TEST(ReducerCoreLimits, FullEntryTableDropsCountedButFinalsStillCount) {
  SelfMetrics metrics;
  ReducerLimits limits;
  limits.max_entries = 1;
  ReducerCore core(limits, metrics);
  core.apply(batch(1, {cumulative(1, {10, 1, 0, 0}), cumulative(2, {20, 1, 0, 0}),
                       cumulative(3, {40, 1, 0, 0}, /*final=*/true)}));
  const auto snap = core.close_interval({}, {});
  ASSERT_EQ(snap.flows.size(), 1u);
  EXPECT_EQ(snap.flows[0].delta.tx_bytes, 50u);
  EXPECT_EQ(metric(metrics, "egressd_records_dropped_total", "entry_table_full"), 1u);
}

TEST(ReducerCoreSequence, SnapshotsAreNumberedAndCarryTheirInterval) {
  SelfMetrics metrics;
  ReducerCore core(ReducerLimits{}, metrics);
  const auto t0 = std::chrono::system_clock::time_point(std::chrono::seconds(100));
  const auto t1 = t0 + std::chrono::seconds(5);
  const auto a = core.close_interval(t0, t1);
  const auto b = core.close_interval(t1, t1 + std::chrono::seconds(5));
  EXPECT_EQ(a.sequence, 1u);
  EXPECT_EQ(b.sequence, 2u);
  EXPECT_EQ(a.start, t0);
  EXPECT_EQ(a.end, t1);
}

}  // namespace
}  // namespace egressd::pipeline
