// Property tests: random streams of cumulative and delta records (resets, final records, late
// dump records, reused identities, lost markers, duplicated and reordered records, idle expiry)
// reduced by the sharded reducer and by the single-threaded reference model of
// reference_model.h must give equal flows in every interval; on clean streams both must also
// equal the traffic the generator invented.
#include <map>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "common/manual_clock.h"
#include "common/self_metrics_reader.h"
#include "pipeline/reducer.h"
#include "pipeline/sharded_core.h"
#include "reference_model.h"
#include "stream_gen.h"

namespace egressd::pipeline {
namespace {

using testing::ReferenceModel;
using testing::RefFlows;
using testing::RefKey;
using testing::RefOptions;
using testing::StreamGenerator;
using testing::StreamOptions;

// Seeds per case; each case runs for every layout. Kept small enough for the sanitizer builds.
constexpr uint64_t kSeeds = 24;

struct Layout {
  size_t shards;
  size_t threads;
};
constexpr Layout kLayouts[] = {{1, 1}, {2, 2}, {3, 2}, {7, 2}};

RefFlows flows_of(const Snapshot& s) {
  RefFlows out;
  for (const FlowDelta& f : s.flows) {
    EXPECT_FALSE(f.delta.is_zero()) << "a zero delta was published";
    const bool fresh = out.emplace(RefKey{f.key.local, f.key.peer, f.key.proto}, f.delta).second;
    EXPECT_TRUE(fresh) << "a key appears twice in one snapshot";
  }
  return out;
}

void add_all(RefFlows& into, const RefFlows& from) {
  for (const auto& [k, c] : from) into[k] += c;
}

testing::RefCounts counts_of(const SelfMetrics& m) {
  return {egressd::testing::counter_value(m, "egressd_reducer_resets_total"),
          egressd::testing::counter_value(m, "egressd_reducer_stale_records_total"),
          egressd::testing::counter_value(m, "egressd_reducer_entries_vanished_total"),
          egressd::testing::counter_value(m, "egressd_reducer_entries_expired_total"),
          egressd::testing::counter_value(m, "egressd_reducer_excluded_records_total")};
}

std::string describe(const RefKey& k, const Counters& c) {
  return std::get<0>(k).to_string() + ">" + std::get<1>(k).to_string() + "/" +
         std::to_string(std::get<2>(k)) + " = {" + std::to_string(c.tx_bytes) + ", " +
         std::to_string(c.tx_packets) + ", " + std::to_string(c.rx_bytes) + ", " +
         std::to_string(c.rx_packets) + "}";
}

// Equal flow maps, or the first few keys where they differ.
::testing::AssertionResult same_flows(const RefFlows& got, const RefFlows& want) {
  std::string diff;
  size_t shown = 0;
  const auto note = [&](const std::string& line) {
    if (shown++ < 8) diff += "\n  " + line;
  };
  for (const auto& [k, c] : want) {
    const auto it = got.find(k);
    if (it == got.end()) {
      note("missing " + describe(k, c));
    } else if (!(it->second == c)) {
      note("got " + describe(k, it->second) + " want " + describe(k, c));
    }
  }
  for (const auto& [k, c] : got) {
    if (!want.contains(k)) note("unexpected " + describe(k, c));
  }
  if (shown == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << shown << " keys differ:" << diff;
}

struct Case {
  bool chaos = false;
  uint32_t idle_intervals = 1u << 30;
  size_t max_flows = 1'000'000;
};

// Runs one seed through the core (runs of batches of random length, closes at random points)
// and through the reference, comparing every interval. Returns the reference's counts.
testing::RefCounts run_core_case(uint64_t seed, Layout layout, const Case& c) {
  StreamOptions so;
  so.chaos = c.chaos;
  so.group_public_ips = seed % 2 == 0;
  std::set<IpAddr> excluded;
  if (seed % 3 == 0) excluded.insert(testing::locals()[2]);
  StreamGenerator gen(seed, so, excluded);
  const auto streams = gen.generate();
  auto batches = gen.interleave(streams);

  RefOptions ro;
  ro.group_public_ips = so.group_public_ips;
  ro.excluded = excluded;
  ro.idle_intervals = c.idle_intervals;
  ReferenceModel ref(ro);

  SelfMetrics metrics;
  CoreOptions co;
  co.shards = layout.shards;
  co.threads = layout.threads;
  co.limits.group_public_ips = so.group_public_ips;
  co.limits.entry_idle_intervals = c.idle_intervals;
  co.limits.max_flows = c.max_flows;
  co.seed = seed;
  co.parallel_min_records = 1 + gen.below(64);  // both the sequential and the parallel path
  ShardedCore core(co, metrics);
  if (!excluded.empty()) {
    core.set_excluded(std::make_shared<LocalIpSet>(excluded.begin(), excluded.end()));
  }

  RefFlows got_total;
  RefFlows want_total;
  size_t i = 0;
  size_t interval = 0;
  const auto close = [&] {
    const RefFlows got = flows_of(core.close_interval({}, {}));
    const RefFlows want = ref.close();
    if (c.max_flows >= 1'000'000) {
      EXPECT_TRUE(same_flows(got, want)) << "seed " << seed << " interval " << interval;
    } else {
      // Bounded: keys beyond the bound fold into one per local endpoint; per local, exact.
      std::map<IpAddr, Counters> g;
      std::map<IpAddr, Counters> w;
      for (const auto& [k, v] : got) g[std::get<0>(k)] += v;
      for (const auto& [k, v] : want) w[std::get<0>(k)] += v;
      EXPECT_EQ(g, w) << "seed " << seed << " interval " << interval;
    }
    add_all(got_total, got);
    add_all(want_total, want);
    ++interval;
  };
  while (i < batches.size()) {
    const size_t run = std::min(batches.size() - i, 1 + gen.below(12));
    for (size_t k = i; k < i + run; ++k) ref.apply(batches[k]);
    core.apply(std::span<RecordBatch>(batches.data() + i, run));
    i += run;
    if (gen.chance(0.15)) close();
  }
  close();
  EXPECT_EQ(counts_of(metrics), ref.counts()) << "seed " << seed;
  EXPECT_EQ(core.tracked_entries(), ref.entries()) << "seed " << seed;
  if (!c.chaos) {
    // Clean streams: nothing is lost or counted twice, whatever the interleaving.
    if (c.max_flows >= 1'000'000) {
      EXPECT_TRUE(same_flows(got_total, streams.truth)) << "seed " << seed;
    } else {
      uint64_t got_bytes = 0;
      uint64_t truth_bytes = 0;
      for (const auto& [k, v] : got_total) got_bytes += v.tx_bytes + v.rx_bytes;
      for (const auto& [k, v] : streams.truth) truth_bytes += v.tx_bytes + v.rx_bytes;
      EXPECT_EQ(got_bytes, truth_bytes) << "seed " << seed;
    }
  }
  return ref.counts();
}

TEST(ReducerProperty, CleanStreamsEqualTheReferenceAndTheTruth) {
  for (const Layout layout : kLayouts) {
    for (uint64_t seed = 1; seed <= kSeeds; ++seed) run_core_case(seed, layout, {});
  }
}

TEST(ReducerProperty, ChaoticStreamsWithExpiryEqualTheReference) {
  testing::RefCounts seen;
  for (const Layout layout : kLayouts) {
    for (uint64_t seed = 1; seed <= kSeeds; ++seed) {
      const auto c = run_core_case(seed, layout, {true, static_cast<uint32_t>(2 + seed % 3)});
      seen.resets += c.resets;
      seen.stale += c.stale;
      seen.vanished += c.vanished;
      seen.expired += c.expired;
      seen.excluded += c.excluded;
    }
  }
  // The streams exercise every rule (otherwise equality above would prove little).
  EXPECT_GT(seen.resets, 0u);
  EXPECT_GT(seen.stale, 0u);
  EXPECT_GT(seen.vanished, 0u);
  EXPECT_GT(seen.expired, 0u);
  EXPECT_GT(seen.excluded, 0u);
}

TEST(ReducerProperty, BoundedKeysKeepTotalsPerLocalEndpoint) {
  for (const Layout layout : kLayouts) {
    for (uint64_t seed = 1; seed <= kSeeds; ++seed) {
      run_core_case(seed, layout, {false, 1u << 30, 7});
    }
  }
}

// The threaded reducer: one producer thread per source with its own token, intervals closing
// whenever the clock says, sources interleaving however the scheduler likes. Per-source order is
// all the rules depend on, so the sum over every snapshot equals the reference's.
class CollectingSink final : public SnapshotSink {
 public:
  void consume(std::shared_ptr<const Snapshot> s) override {
    std::lock_guard lock(mutex);
    EXPECT_EQ(s->sequence, ++sequence);
    add_all(total, flows_of(*s));
  }
  std::mutex mutex;
  uint64_t sequence = 0;
  RefFlows total;
};

TEST(ReducerProperty, ConcurrentProducersEqualTheReference) {
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    StreamOptions so;
    so.chaos = seed % 2 == 0;
    so.reads = 12;
    StreamGenerator gen(seed, so, {});
    const auto streams = gen.generate();
    ReferenceModel ref({});
    for (const auto& source : streams.sources) {
      for (const auto& b : source.batches) ref.apply(b);
    }
    const RefFlows want = ref.close();

    CollectingSink sink;
    SelfMetrics metrics;
    // The producers move the test's clock as they go, so intervals close in the middle of the
    // streams (wherever the driver happens to be); the sum over all snapshots must not care.
    egressd::testing::ManualClock clock;
    ReducerOptions o;
    o.interval = std::chrono::milliseconds(1 + seed % 3);
    o.queue_capacity = 1'000'000;
    o.shards = 1 + seed % 4;
    o.parallel_min_records = 1;
    auto reducer = Reducer::create(o, sink, metrics, clock).value();
    reducer->start();
    {
      std::vector<std::jthread> producers;
      for (const auto& source : streams.sources) {
        producers.emplace_back([&reducer, &source, &clock, &o] {
          auto sink_handle = reducer->producer();
          size_t n = 0;
          for (RecordBatch b : source.batches) {
            if (!sink_handle->push(std::move(b))) {
              ADD_FAILURE() << "the queue refused a batch";
              return;
            }
            if (++n % 3 == 0) clock.advance(o.interval);
            std::this_thread::yield();
          }
        });
      }
    }
    reducer->stop();
    std::lock_guard lock(sink.mutex);
    EXPECT_TRUE(same_flows(sink.total, want)) << "seed " << seed;
    if (!so.chaos) {
      EXPECT_TRUE(same_flows(sink.total, streams.truth)) << "seed " << seed;
    }
    EXPECT_EQ(counts_of(metrics), ref.counts()) << "seed " << seed;
  }
}

}  // namespace
}  // namespace egressd::pipeline
