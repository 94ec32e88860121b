// reducer_bench: the sharded reducer against plain single-threaded reducers, in one run.
//
// One benchmark iteration applies one interval's records: --records records over --keys distinct
// keys (defaults 10M over 1M), in batches of 4096 as the queue hands them over (the close, untimed
// there, is measured on its own). Two workloads:
//   delta       eBPF-style delta records; every key appears records/keys times per interval,
//               in a fresh random order each time;
//   cumulative  conntrack-style: --keys kernel entries (one flow key each) read records/keys
//               times per interval, totals rising, a complete-read marker after each read.
// Variants: (b) baseline — ReducerCore's rules written plainly over two std::unordered_maps on
// one thread (what egressd's first reducer was); (f) the same plain reducer over
// boost::unordered_flat_map (Boost 1.81: open addressing, SIMD-probed groups — what a good
// engineer would reach for today instead of std::unordered_map); (s1) the sharded core with one
// shard on one thread; (s2) two shards on two threads. Also the close latency for --keys keys and
// the memory per key (resident set growth across one filled interval). Prints records/s and the
// ratios s1/b (target >= 3), s1/f and s2/s1 (target >= 1.7).
//
//   build/bench/reducer_bench                                  # the full run (~6 min, ~2.5 GB)
//   build/bench/reducer_bench --keys=20000 --records=100000    # CTest's smoke pass
#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <benchmark/benchmark.h>
#include <boost/unordered/unordered_flat_map.hpp>

#include "pipeline/sharded_core.h"

namespace {

using namespace egressd;
using namespace egressd::pipeline;

size_t g_keys = 1'000'000;
size_t g_records = 10'000'000;
bool g_memory = true;  // --no-memory skips the memory-per-key measurement (profiling runs)
constexpr size_t kBatch = 4096;
constexpr size_t kRun = 32;  // batches per apply() call: what Reducer's driver hands over

// ---- the baseline: the first reducer's rules, plainly -------------------------------------------

// `Map` is std::unordered_map (the baseline) or boost::unordered_flat_map (the stronger one).
template <template <typename...> class Map>
class PlainReducer {
 public:
  void apply(const RecordBatch& batch) {
    if (batch.kind == RecordBatch::Kind::kReadComplete) {
      // std::erase_if or boost::unordered::erase_if, by argument-dependent lookup.
      erase_if(entries_, [&](const auto& kv) {
        return kv.first.source == batch.source && kv.second.generation < batch.read_generation;
      });
      return;
    }
    for (const FlowRecord& r : batch.records) {
      if (r.mode == CounterMode::kDelta) {
        add(r.key, r.counters);
        continue;
      }
      auto [it, fresh] = entries_.try_emplace(EntryKey{r.entry_id, batch.source});
      State& st = it->second;
      Counters delta;
      if (fresh) {
        delta = r.counters;
        st.generation = batch.read_generation;
      } else if (st.tombstone) {
        if (!below(st.last, r.counters)) continue;  // stale
        delta = r.counters;                         // identity reused
        st.generation = batch.read_generation;
      } else if (below(r.counters, st.last)) {
        delta = r.counters;  // reset
      } else {
        delta = Counters{
            r.counters.tx_bytes - st.last.tx_bytes, r.counters.tx_packets - st.last.tx_packets,
            r.counters.rx_bytes - st.last.rx_bytes, r.counters.rx_packets - st.last.rx_packets};
      }
      st.last = r.counters;
      st.generation = std::max(st.generation, batch.read_generation);
      st.tombstone = r.final;
      add(r.key, delta);
    }
  }
  std::vector<FlowDelta> close() {
    std::vector<FlowDelta> out;
    out.reserve(interval_.size());
    for (const auto& [k, c] : interval_) out.push_back(FlowDelta{k, c});
    interval_.clear();
    return out;
  }
  [[nodiscard]] size_t flows() const { return interval_.size(); }

 private:
  struct EntryKey {
    uint64_t id;
    SourceKind source;
    bool operator==(const EntryKey&) const = default;
  };
  struct EntryKeyHash {
    size_t operator()(const EntryKey& k) const noexcept {
      return std::hash<uint64_t>()(k.id ^ static_cast<uint64_t>(k.source));
    }
  };
  struct State {
    Counters last;
    uint64_t generation = 0;
    bool tombstone = false;
  };
  static bool below(const Counters& a, const Counters& b) {
    return a.tx_bytes < b.tx_bytes || a.tx_packets < b.tx_packets || a.rx_bytes < b.rx_bytes ||
           a.rx_packets < b.rx_packets;
  }
  void add(const FlowKey& k, const Counters& c) {
    if (!c.is_zero()) interval_[k] += c;
  }

  Map<EntryKey, State, EntryKeyHash> entries_;
  Map<FlowKey, Counters, FlowKeyHash> interval_;
};
using BaselineReducer = PlainReducer<std::unordered_map>;
using FlatMapReducer = PlainReducer<boost::unordered_flat_map>;

// ---- workloads ----------------------------------------------------------------------------------

FlowKey key_of(size_t i) {
  // Pods 10.244.x.y talking to peers spread over private and public space, TCP and UDP.
  const auto local = IpAddr::v4(0x0AF40000 + static_cast<uint32_t>(i % 250));
  const auto peer = IpAddr::v4(static_cast<uint32_t>(0x0B000000 + i / 250 * 7919));
  return FlowKey{local, peer, i % 3 == 0 ? kProtoUdp : kProtoTcp};
}

struct Workload {
  std::vector<RecordBatch> batches;
  size_t records = 0;
};

std::vector<RecordBatch> to_batches(const std::vector<FlowRecord>& records, SourceKind source,
                                    uint64_t generation) {
  std::vector<RecordBatch> out;
  for (size_t i = 0; i < records.size(); i += kBatch) {
    RecordBatch b;
    b.source = source;
    b.read_generation = generation;
    b.records.assign(
        records.begin() + static_cast<ptrdiff_t>(i),
        records.begin() + static_cast<ptrdiff_t>(std::min(records.size(), i + kBatch)));
    out.push_back(std::move(b));
  }
  return out;
}

Workload& delta_workload() {
  static Workload w = [] {
    Workload out;
    std::mt19937_64 rng(1);
    std::vector<size_t> order(g_keys);
    for (size_t i = 0; i < g_keys; ++i) order[i] = i;
    std::vector<FlowRecord> records;
    records.reserve(g_records);
    while (records.size() < g_records) {
      std::shuffle(order.begin(), order.end(), rng);
      for (size_t i = 0; i < g_keys && records.size() < g_records; ++i) {
        FlowRecord r;
        r.key = key_of(order[i]);
        r.counters = Counters{1500, 1, 60, 1};
        r.mode = CounterMode::kDelta;
        records.push_back(r);
      }
    }
    out.batches = to_batches(records, SourceKind::kEbpf, 0);
    out.records = records.size();
    return out;
  }();
  return w;
}

// Reads 1..n of g_keys entries; bump() moves totals and generations on by one interval, so every
// interval sees rising counters (no resets) as a real conntrack table would.
Workload& cumulative_workload() {
  static Workload w = [] {
    Workload out;
    std::mt19937_64 rng(2);
    std::vector<size_t> order(g_keys);
    for (size_t i = 0; i < g_keys; ++i) order[i] = i;
    const size_t reads = std::max<size_t>(1, g_records / g_keys);
    for (size_t g = 1; g <= reads; ++g) {
      std::shuffle(order.begin(), order.end(), rng);
      std::vector<FlowRecord> records;
      records.reserve(g_keys);
      for (const size_t i : order) {
        FlowRecord r;
        r.key = key_of(i);
        r.entry_id = i * 0x9E3779B97F4A7C15ULL + 1;
        r.counters = Counters{g * 1500, g, g * 60, g};
        records.push_back(r);
      }
      auto batches = to_batches(records, SourceKind::kNetfilter, g);
      for (auto& b : batches) out.batches.push_back(std::move(b));
      RecordBatch marker;
      marker.kind = RecordBatch::Kind::kReadComplete;
      marker.source = SourceKind::kNetfilter;
      marker.read_generation = g;
      out.batches.push_back(std::move(marker));
      out.records += records.size();
    }
    return out;
  }();
  return w;
}

void bump(Workload& w) {
  const uint64_t reads = std::max<size_t>(1, g_records / g_keys);
  for (RecordBatch& b : w.batches) {
    b.read_generation += reads;
    for (FlowRecord& r : b.records) {
      r.counters += Counters{reads * 1500, reads, reads * 60, reads};
    }
  }
}

CoreOptions sharded(size_t threads) {
  CoreOptions o;
  o.shards = threads;
  o.threads = threads;
  o.limits.max_flows = 100'000'000;
  o.limits.max_entries = 100'000'000;
  return o;
}

// Runs the workload once untimed (tables reach their steady size), then times the apply of one
// interval's records per iteration; the close is measured by BM_close.
template <typename Apply, typename Close>
void run_intervals(benchmark::State& state, Workload& w, bool cumulative, Apply apply,
                   Close close) {
  apply(w);
  close();
  for (auto _ : state) {
    apply(w);
    state.PauseTiming();
    close();
    if (cumulative) bump(w);
    state.ResumeTiming();
  }
  state.counters["records/s"] = benchmark::Counter(static_cast<double>(w.records),
                                                   benchmark::Counter::kIsIterationInvariantRate);
}

template <typename Plain>
void BM_plain(benchmark::State& state, bool cumulative) {
  Workload& w = cumulative ? cumulative_workload() : delta_workload();
  Plain r;
  run_intervals(
      state, w, cumulative,
      [&](const Workload& work) {
        for (const RecordBatch& b : work.batches) r.apply(b);
      },
      [&] { benchmark::DoNotOptimize(r.close()); });
}

void BM_sharded(benchmark::State& state, bool cumulative) {
  Workload& w = cumulative ? cumulative_workload() : delta_workload();
  SelfMetrics metrics;
  ShardedCore core(sharded(static_cast<size_t>(state.range(0))), metrics);
  // The driver hands the core runs of up to 32 batches, as Reducer does.
  run_intervals(
      state, w, cumulative,
      [&](Workload& work) {
        for (size_t i = 0; i < work.batches.size(); i += kRun) {
          const size_t n = std::min<size_t>(kRun, work.batches.size() - i);
          core.apply(std::span<RecordBatch>(work.batches.data() + i, n));
        }
      },
      [&] { benchmark::DoNotOptimize(core.close_interval({}, {})); });
}

// Close latency: --keys distinct keys in the interval (one delta record each), then the close.
// Args: threads (0: a plain reducer's close, a fresh vector filled from the map, then clear();
// `flat` picks the flat map's) and whether the snapshot vector is recycled as Reducer does (1)
// or freshly allocated (0).
template <typename Plain = BaselineReducer>
void BM_close(benchmark::State& state) {
  const size_t threads = static_cast<size_t>(state.range(0));
  const bool recycle = state.range(1) != 0;
  std::vector<FlowRecord> records;
  records.reserve(g_keys);
  for (size_t i = 0; i < g_keys; ++i) {
    FlowRecord r;
    r.key = key_of(i);
    r.counters = Counters{1500, 1, 60, 1};
    r.mode = CounterMode::kDelta;
    records.push_back(r);
  }
  auto batches = to_batches(records, SourceKind::kEbpf, 0);
  SelfMetrics metrics;
  std::unique_ptr<ShardedCore> core;
  Plain baseline;
  if (threads > 0) core = std::make_unique<ShardedCore>(sharded(threads), metrics);
  std::vector<FlowDelta> spare;
  for (auto _ : state) {
    state.PauseTiming();
    if (core) {
      core->apply(batches);
    } else {
      for (const auto& b : batches) baseline.apply(b);
    }
    state.ResumeTiming();
    std::vector<FlowDelta> snap =
        core ? core->close_interval({}, {}, std::move(spare)).flows : baseline.close();
    benchmark::DoNotOptimize(snap);
    state.PauseTiming();
    if (snap.size() != g_keys) state.SkipWithError("close lost keys");
    if (recycle) spare = std::move(snap);
    snap = {};
    state.ResumeTiming();
  }
}

void register_all() {
  for (const bool cumulative : {false, true}) {
    const std::string w = cumulative ? "cumulative" : "delta";
    benchmark::RegisterBenchmark(("BM_b_baseline_" + w).c_str(), BM_plain<BaselineReducer>,
                                 cumulative)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
    benchmark::RegisterBenchmark(("BM_f_flatmap_" + w).c_str(), BM_plain<FlatMapReducer>,
                                 cumulative)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
    benchmark::RegisterBenchmark(("BM_s_sharded_" + w).c_str(), BM_sharded, cumulative)
        ->Arg(1)
        ->Arg(2)
        ->ArgName("threads")
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
  }
  benchmark::RegisterBenchmark("BM_close_flatmap", BM_close<FlatMapReducer>)
      ->Args({0, 0})
      ->ArgNames({"threads", "recycled"})
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime();
  benchmark::RegisterBenchmark("BM_close", BM_close<BaselineReducer>)
      ->Args({0, 0})
      ->Args({1, 0})
      ->Args({1, 1})
      ->Args({2, 1})
      ->ArgNames({"threads", "recycled"})
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime();
}

// ---- memory per key -----------------------------------------------------------------------------

// Resident memory of the process (/proc/self/statm): the sharded core's tables are mappings of
// their own (mapped_region.h), which the allocator's counters do not see.
size_t resident_bytes() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  unsigned long size = 0;
  unsigned long resident = 0;
  const int got = std::fscanf(f, "%lu %lu", &size, &resident);
  std::fclose(f);
  return got == 2 ? resident * static_cast<size_t>(sysconf(_SC_PAGESIZE)) : 0;
}

constexpr size_t kFlatMap = ~size_t{0};  // bytes_per_key(): the flat-map reducer

// Resident-memory growth across one interval of the workload, before the close, per distinct
// key. Free heap pages are returned first (malloc_trim), so that neither variant lands on pages a
// previous benchmark left resident.
double bytes_per_key(bool cumulative, size_t threads) {
  Workload& w = cumulative ? cumulative_workload() : delta_workload();
  malloc_trim(0);
  const size_t before = resident_bytes();
  double per_key = 0;
  if (threads == 0) {
    auto r = std::make_unique<BaselineReducer>();
    for (const RecordBatch& b : w.batches) r->apply(b);
    per_key = static_cast<double>(resident_bytes() - before) / static_cast<double>(g_keys);
  } else if (threads == kFlatMap) {
    auto r = std::make_unique<FlatMapReducer>();
    for (const RecordBatch& b : w.batches) r->apply(b);
    per_key = static_cast<double>(resident_bytes() - before) / static_cast<double>(g_keys);
  } else {
    SelfMetrics metrics;
    auto core = std::make_unique<ShardedCore>(sharded(threads), metrics);
    core->apply(w.batches);
    per_key = static_cast<double>(resident_bytes() - before) / static_cast<double>(g_keys);
  }
  return per_key;
}

// Keeps every iteration run's wall time per iteration (ms) by benchmark name.
class Collector final : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& r : runs) {
      if (r.run_type == Run::RT_Iteration && !r.error_occurred) {
        times[r.benchmark_name()].push_back(r.GetAdjustedRealTime());
      }
    }
    ConsoleReporter::ReportRuns(runs);
  }
  // Fastest and slowest iteration run (ms); 0 if it did not run.
  [[nodiscard]] std::pair<double, double> range(const std::string& name) const {
    const std::vector<double>* v = runs(name);
    if (v == nullptr) return {0, 0};
    const auto [lo, hi] = std::minmax_element(v->begin(), v->end());
    return {*lo, *hi};
  }
  // Median over repetitions; 0 if it did not run.
  [[nodiscard]] double median(const std::string& name) const {
    const std::vector<double>* runs_ms = runs(name);
    if (runs_ms == nullptr) return 0;
    std::vector<double> v = *runs_ms;
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  }
  // The iteration runs of `name` (also found under UseRealTime()'s suffix), or nullptr.
  [[nodiscard]] const std::vector<double>* runs(const std::string& name) const {
    auto it = times.find(name);
    if (it == times.end()) it = times.find(name + "/real_time");
    return it == times.end() ? nullptr : &it->second;
  }
  std::map<std::string, std::vector<double>> times;
};

}  // namespace

int main(int argc, char** argv) {
  std::vector<char*> rest;
  for (int i = 0; i < argc; ++i) {
    if (std::strncmp(argv[i], "--keys=", 7) == 0) {
      g_keys = std::stoul(argv[i] + 7);
    } else if (std::strncmp(argv[i], "--records=", 10) == 0) {
      g_records = std::stoul(argv[i] + 10);
    } else if (std::strcmp(argv[i], "--no-memory") == 0) {
      g_memory = false;
    } else {
      rest.push_back(argv[i]);
    }
  }
  if (g_keys == 0 || g_records < g_keys) {
    std::fprintf(stderr, "reducer_bench: need 0 < --keys <= --records\n");
    return 1;
  }
  // This machine's speed drifts by tens of percent from minute to minute (a shared VM): the
  // variants run as interleaved repetitions in random order, so that drift hits each variant
  // alike and the medians' ratios compare like with like. Flags given on the command line win.
  std::string repetitions = "--benchmark_repetitions=7";
  std::string interleave = "--benchmark_enable_random_interleaving=true";
  const auto given = [&](const char* flag) {
    return std::any_of(rest.begin(), rest.end(), [&](const char* a) {
      return std::strncmp(a, flag, std::strlen(flag)) == 0;
    });
  };
  if (!given("--benchmark_repetitions")) rest.push_back(repetitions.data());
  if (!given("--benchmark_enable_random_interleaving")) rest.push_back(interleave.data());
  int rest_argc = static_cast<int>(rest.size());
  benchmark::Initialize(&rest_argc, rest.data());
  if (benchmark::ReportUnrecognizedArguments(rest_argc, rest.data())) return 1;
  register_all();
  Collector collector;
  benchmark::RunSpecifiedBenchmarks(&collector);
  benchmark::Shutdown();

  const auto rate = [](double ms, size_t records) {
    return ms > 0 ? static_cast<double>(records) / (ms / 1000.0) : 0.0;
  };
  std::printf(
      "\n%zu distinct keys, %zu records per interval (records applied per second of "
      "wall clock, median):\n",
      g_keys, g_records);
  for (const char* w : {"delta", "cumulative"}) {
    // Without generating a workload that did not run: delta has --records records, cumulative
    // whole reads of --keys entries.
    const size_t records =
        std::string(w) == "delta" ? g_records : std::max<size_t>(1, g_records / g_keys) * g_keys;
    const double b = rate(collector.median(std::string("BM_b_baseline_") + w), records);
    const double f = rate(collector.median(std::string("BM_f_flatmap_") + w), records);
    const double s1 =
        rate(collector.median(std::string("BM_s_sharded_") + w + "/threads:1"), records);
    const double s2 =
        rate(collector.median(std::string("BM_s_sharded_") + w + "/threads:2"), records);
    if (b <= 0 && f <= 0 && s1 <= 0 && s2 <= 0) continue;  // filtered out
    const auto ratio = [](double x, double y) { return y > 0 ? x / y : 0.0; };
    std::printf(
        "  %-10s (b) unordered_map %6.2f M/s | (f) flat_map %6.2f M/s | (s1) 1 thread %6.2f M/s | "
        "(s2) 2 threads %6.2f M/s\n  %-10s s1/b = %.2f (>= 3)  s1/f = %.2f  s2/s1 = %.2f (>= "
        "1.7)\n",
        w, b / 1e6, f / 1e6, s1 / 1e6, s2 / 1e6, "", ratio(s1, b), ratio(s1, f), ratio(s2, s1));
    const auto [s1_fast, s1_slow] =
        collector.range(std::string("BM_s_sharded_") + w + "/threads:1");
    const auto [s2_fast, s2_slow] =
        collector.range(std::string("BM_s_sharded_") + w + "/threads:2");
    std::printf("  %-10s spread over the repetitions: (s1) %.2f..%.2f M/s, (s2) %.2f..%.2f M/s\n",
                "", rate(s1_slow, records) / 1e6, rate(s1_fast, records) / 1e6,
                rate(s2_slow, records) / 1e6, rate(s2_fast, records) / 1e6);
  }
  // Like with like first: every variant into a fresh vector; then what Reducer does (recycled).
  std::printf(
      "  close of %zu keys into a fresh vector: unordered_map %.1f ms | flat_map %.1f ms | "
      "1 thread %.1f ms\n  close into the recycled vector (as Reducer runs): 1 thread %.1f ms | "
      "2 threads %.1f ms\n",
      g_keys, collector.median("BM_close/threads:0/recycled:0"),
      collector.median("BM_close_flatmap/threads:0/recycled:0"),
      collector.median("BM_close/threads:1/recycled:0"),
      collector.median("BM_close/threads:1/recycled:1"),
      collector.median("BM_close/threads:2/recycled:1"));
  if (!g_memory) return 0;
  std::printf("  memory per key, one interval filled (resident set growth):\n");
  for (const bool cumulative : {false, true}) {
    std::printf(
        "    %-10s unordered_map %6.1f B | flat_map %6.1f B | 1 thread %6.1f B | 2 threads "
        "%6.1f B  (target <= 100 B%s)\n",
        cumulative ? "cumulative" : "delta", bytes_per_key(cumulative, 0),
        bytes_per_key(cumulative, kFlatMap), bytes_per_key(cumulative, 1),
        bytes_per_key(cumulative, 2), cumulative ? "; an entry and its flow key" : "");
  }
  return 0;
}
