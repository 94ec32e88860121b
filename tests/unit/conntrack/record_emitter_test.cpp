// RecordEmitter: batching, generations, final records, counted drops and a full queue.
#include "conntrack/record_emitter.h"

#include <map>

#include <gtest/gtest.h>

#include "common/self_metrics_reader.h"
#include "ct_test_util.h"

namespace egressd::conntrack {
namespace {

class FakeSink final : public BatchSink {
 public:
  bool push(RecordBatch&& batch) override {
    if (refuse) return false;
    batches.push_back(std::move(batch));
    return true;
  }
  std::vector<RecordBatch> batches;
  bool refuse = false;
};

IpAddr ip(const char* text) {
  return *IpAddr::parse(text);
}

CtEntry make(const char* os, const char* rs, bool counters = true) {
  CtEntry e;
  e.family = 2;
  e.orig.src = ip(os);
  e.orig.dst = ip(rs);
  e.reply.src = ip(rs);
  e.reply.dst = ip(os);
  e.orig.proto = e.reply.proto = 17;
  e.orig_counters = {1, 100};
  e.reply_counters = {2, 200};
  if (counters) e.fields = kFieldCountersOrig | kFieldCountersReply;
  return e;
}

struct Fixture {
  SelfMetrics registry;
  SourceMetrics metrics{registry};
  FakeSink sink;
  std::shared_ptr<const LocalEndpoints> endpoints = std::make_shared<const LocalEndpoints>(
      std::vector<IpAddr>{ip("10.0.0.1"), ip("10.0.0.2")}, std::vector<IpAddr>{ip("10.0.0.254")});
};

TEST(RecordEmitter, BatchesCarryGenerationAndSize) {
  Fixture f;
  RecordEmitter em(f.sink, f.metrics, 3);
  em.begin(f.endpoints, 7);
  for (int i = 0; i < 4; ++i) em.on_entry(make("10.0.0.1", "8.8.8.8"), MessageKind::kNew);
  em.on_entry(make("10.0.0.1", "10.0.0.2"), MessageKind::kNew);  // same node: two records
  em.read_complete(7);
  ASSERT_EQ(f.sink.batches.size(), 3U);
  EXPECT_EQ(f.sink.batches[0].records.size(), 3U);
  EXPECT_EQ(f.sink.batches[1].records.size(), 3U);
  EXPECT_EQ(f.sink.batches[2].kind, RecordBatch::Kind::kReadComplete);
  for (const auto& b : f.sink.batches) {
    EXPECT_EQ(b.read_generation, 7U);
    EXPECT_EQ(b.source, SourceKind::kNetfilter);
  }
  EXPECT_EQ(em.records_pushed(), 6U);
  EXPECT_EQ(egressd::testing::counter_value(f.registry, "egressd_records_read_total",
                                            {{"source", "netfilter"}}),
            5U);
}

TEST(RecordEmitter, DestroyEventsAreFinalRecords) {
  Fixture f;
  RecordEmitter em(f.sink, f.metrics, 100);
  em.begin(f.endpoints, 3);
  em.on_entry(make("10.0.0.1", "8.8.8.8"), MessageKind::kDelete);
  em.flush();
  ASSERT_EQ(f.sink.batches.size(), 1U);
  ASSERT_EQ(f.sink.batches[0].records.size(), 1U);
  EXPECT_TRUE(f.sink.batches[0].records[0].final);
  EXPECT_EQ(f.sink.batches[0].read_generation, 3U);
  EXPECT_EQ(egressd::testing::counter_value(f.registry, "egressd_conntrack_events_total",
                                            {{"type", "destroy"}}),
            1U);
}

TEST(RecordEmitter, DropsAreCountedByReason) {
  Fixture f;
  RecordEmitter em(f.sink, f.metrics, 100);
  em.begin(f.endpoints, 1);
  em.on_entry(make("1.1.1.1", "8.8.8.8"), MessageKind::kNew);          // transit
  em.on_entry(make("10.0.0.1", "8.8.8.8", false), MessageKind::kNew);  // no counters
  em.on_entry(make("10.0.0.254", "8.8.8.8"), MessageKind::kNew);       // node: kept
  em.flush();
  EXPECT_EQ(egressd::testing::counter_value(f.registry, "egressd_records_dropped_total",
                                            {{"reason", "transit"}}),
            1U);
  EXPECT_EQ(egressd::testing::counter_value(f.registry, "egressd_records_dropped_total",
                                            {{"reason", "no_counters"}}),
            1U);
  ASSERT_EQ(f.sink.batches.size(), 1U);
  EXPECT_EQ(f.sink.batches[0].records.size(), 1U);
}

TEST(RecordEmitter, EndpointsSnapshotIsTakenPerRead) {
  Fixture f;
  RecordEmitter em(f.sink, f.metrics, 100);
  em.begin(f.endpoints, 1);
  em.on_entry(make("10.0.0.9", "8.8.8.8"), MessageKind::kNew);  // not local yet: transit
  em.begin(std::make_shared<const LocalEndpoints>(std::vector<IpAddr>{ip("10.0.0.9")},
                                                  std::vector<IpAddr>{}),
           2);
  em.on_entry(make("10.0.0.9", "8.8.8.8"), MessageKind::kNew);
  em.flush();
  ASSERT_EQ(f.sink.batches.size(), 1U);
  EXPECT_EQ(f.sink.batches[0].read_generation, 2U);
  EXPECT_EQ(f.sink.batches[0].records.size(), 1U);
}

TEST(RecordEmitter, FullQueueLosesRecordsCountably) {
  Fixture f;
  f.sink.refuse = true;
  RecordEmitter em(f.sink, f.metrics, 2);
  em.begin(f.endpoints, 1);
  for (int i = 0; i < 5; ++i) em.on_entry(make("10.0.0.1", "8.8.8.8"), MessageKind::kNew);
  em.flush();
  EXPECT_EQ(em.records_lost(), 5U);
  EXPECT_EQ(em.records_pushed(), 0U);
  f.sink.refuse = false;
  em.on_entry(make("10.0.0.1", "8.8.8.8"), MessageKind::kNew);
  em.flush();
  EXPECT_EQ(em.records_pushed(), 1U);
}

TEST(RecordEmitter, WalkerFeedsTheEmitterFromCapturedBytes) {
  // The fixture dump through walker + emitter: 10.0.0.1 and 10.0.0.2 as pods, 10.0.0.3 and
  // fd00::1 as node addresses (see tests/fixtures/conntrack/README.md for the flows).
  Fixture f;
  RecordEmitter em(f.sink, f.metrics, 100);
  em.begin(
      std::make_shared<const LocalEndpoints>(std::vector<IpAddr>{ip("10.0.0.1"), ip("10.0.0.2")},
                                             std::vector<IpAddr>{ip("10.0.0.3"), ip("fd00::1")}),
      1);
  const auto bytes = testing::load_fixture("dump.bin");
  const WalkResult r = walk_messages(bytes, {}, em);
  em.flush();
  ASSERT_EQ(r.entries, 6U);
  ASSERT_EQ(f.sink.batches.size(), 1U);
  std::map<std::string, Counters> by_key;
  for (const FlowRecord& rec : f.sink.batches[0].records) {
    by_key[rec.key.local.to_string() + ">" + rec.key.peer.to_string() + "/" +
           std::to_string(rec.key.proto)] = rec.counters;
  }
  // ICMP 10.0.0.1 <-> 10.0.0.2 (both pods): 2 records; TCP 10.0.0.1 -> VIP => 10.0.0.2: 2
  // records; UDP 10.0.0.3 (node) -> 10.0.0.2 (pod), SNAT: 1 (the pod's); the three IPv6 flows
  // from fd00::1 (node) to fd00::2 (unknown): 1 each, the node's side.
  EXPECT_EQ(f.sink.batches[0].records.size(), 8U);
  EXPECT_EQ(by_key.size(), 8U);
  EXPECT_EQ(by_key["10.0.0.1>10.0.0.2/6"], (Counters{1320, 6, 2216, 4}));
  EXPECT_EQ(by_key["10.0.0.2>10.0.0.1/6"], (Counters{2216, 4, 1320, 6}));
  EXPECT_EQ(by_key["10.0.0.2>10.0.0.3/17"], (Counters{528, 1, 328, 1}));
  EXPECT_EQ(by_key["10.0.0.1>10.0.0.2/1"], (Counters{84, 1, 84, 1}));
  EXPECT_EQ(by_key["10.0.0.2>10.0.0.1/1"], (Counters{84, 1, 84, 1}));
  EXPECT_EQ(by_key["fd00::1>fd00::2/17"], (Counters{148, 1, 248, 1}));
  EXPECT_EQ(by_key["fd00::1>fd00::2/6"], (Counters{1140, 6, 1796, 4}));
  EXPECT_EQ(by_key["fd00::1>fd00::2/58"], (Counters{80, 1, 80, 1}));
}

}  // namespace
}  // namespace egressd::conntrack
