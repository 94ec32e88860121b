#include "pipeline/sharded_core.h"

#include <map>
#include <set>
#include <tuple>

#include <gtest/gtest.h>

#include "common/self_metrics_reader.h"

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

// Sum of the snapshot's deltas per key, for order-independent comparison.
std::map<std::string, Counters> by_key(const Snapshot& s) {
  std::map<std::string, Counters> out;
  for (const auto& f : s.flows) {
    out[f.key.local.to_string() + ">" + f.key.peer.to_string() + "/" +
        std::to_string(f.key.proto)] += f.delta;
  }
  return out;
}

// Every rule holds whatever the layout: one shard on the caller's thread, and several shards on
// a TBB arena with the parallel phases forced on for every run of records.
struct Layout {
  size_t shards;
  size_t threads;
};

CoreOptions options(Layout layout, ReducerLimits limits = {}) {
  CoreOptions o;
  o.shards = layout.shards;
  o.threads = layout.threads;
  o.limits = limits;
  o.parallel_min_records = 1;
  return o;
}

class ShardedCoreTest : public ::testing::TestWithParam<Layout> {
 protected:
  Snapshot close() { return core.close_interval({}, {}); }
  Counters only(const Snapshot& s) {
    EXPECT_EQ(s.flows.size(), 1u);
    return s.flows.empty() ? Counters{} : s.flows[0].delta;
  }
  void feed(RecordBatch b) { core.apply(std::span<RecordBatch>(&b, 1)); }

  SelfMetrics metrics;
  ShardedCore core{options(GetParam()), metrics};
};

std::string layout_name(const ::testing::TestParamInfo<Layout>& info) {
  return std::to_string(info.param.shards) + "shards" + std::to_string(info.param.threads) +
         "threads";
}

const auto kLayouts = ::testing::Values(Layout{1, 1}, Layout{3, 2}, Layout{8, 2});

TEST_P(ShardedCoreTest, FirstSightingCountsWholeTotalsThenDeltas) {
  feed(batch(1, {cumulative(7, {100, 2, 50, 1})}));
  EXPECT_EQ(only(close()), (Counters{100, 2, 50, 1}));
  feed(batch(2, {cumulative(7, {160, 3, 90, 2})}));
  EXPECT_EQ(only(close()), (Counters{60, 1, 40, 1}));
  // No change: no flow in the snapshot at all (a zero delta is not exported).
  feed(batch(3, {cumulative(7, {160, 3, 90, 2})}));
  EXPECT_TRUE(close().flows.empty());
}

TEST_P(ShardedCoreTest, CounterGoingBackwardsIsAResetNotAHugeDelta) {
  feed(batch(1, {cumulative(7, {1000, 10, 1000, 10})}));
  (void)close();
  feed(batch(2, {cumulative(7, {30, 1, 0, 0})}));
  EXPECT_EQ(only(close()), (Counters{30, 1, 0, 0}));
  EXPECT_EQ(egressd::testing::counter_value(metrics, "egressd_reducer_resets_total"), 1u);
}

TEST_P(ShardedCoreTest, FinalRecordCountsTheRestAndStaleDumpIsIgnored) {
  feed(batch(1, {cumulative(7, {100, 1, 100, 1})}));
  (void)close();
  feed(batch(2, {cumulative(7, {300, 3, 200, 2}, /*final=*/true)}));
  // A dump that read the entry before it died arrives afterwards: it must not count again.
  feed(batch(2, {cumulative(7, {250, 2, 150, 2})}));
  EXPECT_EQ(only(close()), (Counters{200, 2, 100, 1}));
  EXPECT_EQ(egressd::testing::counter_value(metrics, "egressd_reducer_stale_records_total"), 1u);
  // The tombstone is released by the complete reads that follow.
  feed(complete(2));
  EXPECT_EQ(core.tracked_entries(), 1u);
  feed(complete(3));
  EXPECT_EQ(core.tracked_entries(), 0u);
  EXPECT_EQ(egressd::testing::counter_value(metrics, "egressd_reducer_entries_vanished_total"), 0u);
}

TEST_P(ShardedCoreTest, ShortLivedFlowSeenOnlyAsFinalIsCountedWhole) {
  feed(batch(4, {cumulative(9, {500, 5, 400, 4}, /*final=*/true)}));
  EXPECT_EQ(only(close()), (Counters{500, 5, 400, 4}));
}

TEST_P(ShardedCoreTest, ReusedIdentityAfterFinalIsANewEntry) {
  feed(batch(1, {cumulative(7, {100, 1, 100, 1}, /*final=*/true)}));
  (void)close();
  feed(batch(1, {cumulative(7, {150, 2, 100, 1})}));  // newer than the final totals
  EXPECT_EQ(only(close()), (Counters{150, 2, 100, 1}));
}

TEST_P(ShardedCoreTest, CompleteReadReleasesEntriesItDidNotSee) {
  feed(batch(1, {cumulative(1, {10, 1, 0, 0}), cumulative(2, {20, 1, 0, 0})}));
  feed(complete(1));
  feed(batch(2, {cumulative(1, {15, 2, 0, 0})}));
  feed(complete(2));
  EXPECT_EQ(core.tracked_entries(), 1u);
  EXPECT_EQ(egressd::testing::counter_value(metrics, "egressd_reducer_entries_vanished_total"), 1u);
  // Entry 2 comes back (a new kernel entry with the same identity): counted from zero.
  feed(batch(3, {cumulative(2, {5, 1, 0, 0})}));
  const auto s = by_key(close());
  EXPECT_EQ(s.at("10.244.1.10>10.244.2.10/6"), (Counters{10 + 20 + 5 + 5, 4, 0, 0}));
}

TEST_P(ShardedCoreTest, EntriesOfOneSourceSurviveAnotherSourcesCompleteRead) {
  feed(batch(1, {cumulative(1, {10, 1, 0, 0})}));
  RecordBatch other = complete(50);
  other.source = SourceKind::kCilium;
  feed(other);
  EXPECT_EQ(core.tracked_entries(), 1u);
}

TEST_P(ShardedCoreTest, DeltaRecordsAddUpAcrossEntriesOfOneKey) {
  FlowRecord d = cumulative(0, {7, 1, 3, 1});
  d.mode = CounterMode::kDelta;
  feed(batch(0, {d, d, cumulative(5, {100, 1, 0, 0})}));
  EXPECT_EQ(only(close()), (Counters{114, 3, 6, 2}));
}

TEST_P(ShardedCoreTest, OneKeyFedByEntriesOfEveryShardIsOneFlow) {
  // 200 kernel entries of one (local, peer, proto) spread over all shards by their identity; the
  // deltas meet in the key's owner (phase B), so the snapshot holds the key once.
  std::vector<FlowRecord> records;
  for (uint64_t id = 1; id <= 200; ++id) records.push_back(cumulative(id, {id, 1, 2 * id, 1}));
  feed(batch(1, records));
  EXPECT_EQ(only(close()), (Counters{200 * 201 / 2, 200, 200 * 201, 200}));
  for (auto& r : records) r.counters.tx_bytes += 1;
  feed(batch(2, records));
  EXPECT_EQ(only(close()), (Counters{200, 0, 0, 0}));
}

TEST_P(ShardedCoreTest, GroupPublicIpsCollapsesOnlyPublicPeers) {
  ReducerLimits limits;
  limits.group_public_ips = true;
  ShardedCore grouped(options(GetParam(), limits), metrics);
  RecordBatch b = batch(1, {cumulative(1, {10, 1, 0, 0}, false, kPublic),
                            cumulative(2, {20, 1, 0, 0}, false, kPublic2),
                            cumulative(3, {40, 1, 0, 0}, false, kPeer)});
  grouped.apply(std::span<RecordBatch>(&b, 1));
  const auto s = by_key(grouped.close_interval({}, {}));
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s.at("10.244.1.10>0.0.0.0/6"), (Counters{30, 2, 0, 0}));
  EXPECT_EQ(s.at("10.244.1.10>10.244.2.10/6"), (Counters{40, 1, 0, 0}));
}

TEST_P(ShardedCoreTest, FlowOverflowFoldsIntoOneKeyPerLocalEndpointKeepingTotals) {
  const Layout layout = GetParam();
  ReducerLimits limits;
  limits.max_flows = 2 * layout.shards;  // two keys a shard
  ShardedCore bounded(options(layout, limits), metrics);
  const IpAddr pod2 = IpAddr::parse("10.244.1.11").value();
  std::vector<FlowRecord> records;
  std::map<IpAddr, uint64_t> per_local;
  for (uint32_t i = 0; i < 60; ++i) {
    FlowRecord r = cumulative(i + 1, {i + 1, 1, 0, 0}, false, IpAddr::v4(0x0AF40200 + i));
    if (i % 2 == 1) r.key.local = pod2;
    per_local[r.key.local] += i + 1;
    records.push_back(r);
  }
  RecordBatch b = batch(1, records);
  bounded.apply(std::span<RecordBatch>(&b, 1));
  const auto snap = bounded.close_interval({}, {});
  std::map<IpAddr, uint64_t> got;
  std::set<std::tuple<IpAddr, IpAddr, uint8_t>> keys;
  size_t regular = 0;
  for (const auto& f : snap.flows) {
    got[f.key.local] += f.delta.tx_bytes;
    EXPECT_TRUE(keys.emplace(f.key.local, f.key.peer, f.key.proto).second) << "duplicate key";
    if (!f.key.peer.is_unspecified()) ++regular;
  }
  EXPECT_EQ(got, per_local);  // totals per local endpoint are exact
  EXPECT_LE(regular, limits.max_flows);
  EXPECT_GE(regular, 1u);
  EXPECT_EQ(snap.flows.size(), regular + 2);  // + one overflow key per local endpoint
  EXPECT_EQ(egressd::testing::counter_value(metrics, "egressd_reducer_overflow_records_total"),
            60 - regular);
}

TEST_P(ShardedCoreTest, ExcludedLocalsAreTrackedButNotAggregated) {
  auto excluded = std::make_shared<LocalIpSet>();
  excluded->insert(kPod);
  core.set_excluded(excluded);
  FlowRecord d = cumulative(0, {7, 1, 3, 1});
  d.mode = CounterMode::kDelta;
  FlowRecord other = d;
  other.key.local = IpAddr::parse("10.244.1.99").value();
  feed(batch(1, {cumulative(7, {100, 1, 0, 0}), d, other}));
  EXPECT_EQ(only(close()), (Counters{7, 1, 3, 1}));
  EXPECT_EQ(egressd::testing::counter_value(metrics, "egressd_reducer_excluded_records_total"), 2u);
  // No longer excluded: the entry's state was kept, so only its new traffic counts.
  core.set_excluded(nullptr);
  feed(batch(2, {cumulative(7, {130, 2, 0, 0})}));
  EXPECT_EQ(only(close()), (Counters{30, 1, 0, 0}));
}

TEST_P(ShardedCoreTest, IdleEntriesExpireAfterTheLimitAndOnlyThen) {
  ReducerLimits limits;
  limits.entry_idle_intervals = 2;
  ShardedCore core2(options(GetParam(), limits), metrics);
  const auto read = [&](uint64_t gen, std::vector<FlowRecord> records) {
    RecordBatch b = batch(gen, std::move(records));
    core2.apply(std::span<RecordBatch>(&b, 1));
  };
  read(1, {cumulative(1, {10, 1, 0, 0}), cumulative(2, {10, 1, 0, 0})});
  (void)core2.close_interval({}, {});       // close 1: both seen in it
  read(2, {cumulative(1, {11, 1, 0, 0})});  // entry 2 not seen again
  (void)core2.close_interval({}, {});       // close 2: entry 2 idle for one close
  EXPECT_EQ(core2.tracked_entries(), 2u);
  read(3, {cumulative(1, {12, 1, 0, 0})});
  (void)core2.close_interval({}, {});  // close 3: entry 2 idle for two: released
  EXPECT_EQ(core2.tracked_entries(), 1u);
  EXPECT_EQ(egressd::testing::counter_value(metrics, "egressd_reducer_entries_expired_total"), 1u);
  read(4, {cumulative(2, {15, 2, 0, 0})});  // seen again: a new entry, whole totals
  const auto s = by_key(core2.close_interval({}, {}));
  EXPECT_EQ(s.at("10.244.1.10>10.244.2.10/6"), (Counters{15, 2, 0, 0}));
}

TEST_P(ShardedCoreTest, SnapshotsAreNumberedAndCarryTheirInterval) {
  const auto t0 = std::chrono::system_clock::time_point(std::chrono::seconds(100));
  const auto t1 = t0 + std::chrono::seconds(5);
  const auto a = core.close_interval(t0, t1);
  const auto b = core.close_interval(t1, t1 + std::chrono::seconds(5));
  EXPECT_EQ(a.sequence, 1u);
  EXPECT_EQ(b.sequence, 2u);
  EXPECT_EQ(a.start, t0);
  EXPECT_EQ(a.end, t1);
}

INSTANTIATE_TEST_SUITE_P(Layouts, ShardedCoreTest, kLayouts, layout_name);

// The folding rules on one shard, where the budget is exact.
TEST(ShardedCoreLimits, OverflowIntoAnExistingKeyStaysOneFlow) {
  SelfMetrics metrics;
  ReducerLimits limits;
  limits.max_flows = 1;
  ShardedCore core(options({1, 1}, limits), metrics);
  FlowRecord folded_key = cumulative(0, {5, 1, 0, 0});
  folded_key.mode = CounterMode::kDelta;
  folded_key.key = FlowKey{kPod, IpAddr::parse("0.0.0.0").value(), 0};
  RecordBatch b = batch(1, {folded_key, cumulative(1, {10, 1, 0, 0})});
  core.apply(std::span<RecordBatch>(&b, 1));
  const auto snap = core.close_interval({}, {});
  ASSERT_EQ(snap.flows.size(), 1u);
  EXPECT_EQ(snap.flows[0].delta, (Counters{15, 2, 0, 0}));
}

TEST(ShardedCoreLimits, FullOverflowTableFoldsIntoTheNodeCatchAll) {
  SelfMetrics metrics;
  ReducerLimits limits;
  limits.max_flows = 1;
  ShardedCore core(options({1, 1}, limits), metrics);
  std::vector<FlowRecord> records;
  const size_t locals = Shard::kMaxOverflowKeys + 2;
  for (uint32_t i = 0; i < locals; ++i) {
    FlowRecord r = cumulative(i + 1, {1, 1, 0, 0});
    r.key.local = IpAddr::v4(0x0A000000 + i);
    records.push_back(r);
  }
  RecordBatch b = batch(1, records);
  core.apply(std::span<RecordBatch>(&b, 1));
  const auto snap = core.close_interval({}, {});
  // One regular key, one overflow key per local for the next 4096 locals, the catch-all last.
  ASSERT_EQ(snap.flows.size(), 1 + Shard::kMaxOverflowKeys + 1);
  uint64_t sum = 0;
  for (const auto& f : snap.flows) sum += f.delta.tx_bytes;
  EXPECT_EQ(sum, locals);
  const FlowKey catch_all = Shard::catch_all_key(0);
  const auto it = std::find_if(snap.flows.begin(), snap.flows.end(),
                               [&](const FlowDelta& f) { return f.key == catch_all; });
  ASSERT_NE(it, snap.flows.end());
  EXPECT_EQ(it->delta.tx_bytes, 1u);
}

TEST(ShardedCoreLimits, MergedDirectionKeysStayApartEvenWhenFolded) {
  SelfMetrics metrics;
  ReducerLimits limits;
  limits.max_flows = 2;
  ShardedCore core(options({1, 1}, limits), metrics);
  FlowRecord split = cumulative(1, {10, 1, 20, 2});
  FlowRecord merged = cumulative(2, {30, 3, 0, 0});
  merged.key.flags = kFlowMergedDirections;
  // Same tuple, other kind of counters: two flows, never one.
  RecordBatch b = batch(1, {split, merged});
  core.apply(std::span<RecordBatch>(&b, 1));
  auto snap = core.close_interval({}, {});
  ASSERT_EQ(snap.flows.size(), 2u);
  for (const auto& f : snap.flows) {
    EXPECT_EQ(f.delta,
              f.key.merged_directions() ? (Counters{30, 3, 0, 0}) : (Counters{10, 1, 20, 2}));
  }
  // Beyond max_flows, a merged key folds into a merged per-local key.
  FlowRecord third = cumulative(3, {1, 1, 0, 0}, false, kPublic);
  third.key.flags = kFlowMergedDirections;
  RecordBatch b2 = batch(2, {cumulative(1, {11, 2, 20, 2}),
                             [&] {
                               FlowRecord m = merged;
                               m.counters = {31, 4, 0, 0};
                               return m;
                             }(),
                             third});
  core.apply(std::span<RecordBatch>(&b2, 1));
  snap = core.close_interval({}, {});
  ASSERT_EQ(snap.flows.size(), 3u);
  bool folded_merged = false;
  for (const auto& f : snap.flows) {
    if (f.key.peer.is_unspecified()) {
      folded_merged = f.key.merged_directions() && f.delta == Counters{1, 1, 0, 0};
    }
  }
  EXPECT_TRUE(folded_merged);
}

TEST(ShardedCoreLimits, FullEntryTableDropsCountedButFinalsStillCount) {
  SelfMetrics metrics;
  ReducerLimits limits;
  limits.max_entries = 1;
  ShardedCore core(options({1, 1}, limits), metrics);
  RecordBatch b = batch(1, {cumulative(1, {10, 1, 0, 0}), cumulative(2, {20, 1, 0, 0}),
                            cumulative(3, {40, 1, 0, 0}, /*final=*/true)});
  core.apply(std::span<RecordBatch>(&b, 1));
  const auto snap = core.close_interval({}, {});
  ASSERT_EQ(snap.flows.size(), 1u);
  EXPECT_EQ(snap.flows[0].delta.tx_bytes, 50u);
  EXPECT_EQ(egressd::testing::counter_value(metrics, "egressd_records_dropped_total",
                                            {{"reason", "entry_table_full"}}),
            1u);
}

}  // namespace
}  // namespace egressd::pipeline
