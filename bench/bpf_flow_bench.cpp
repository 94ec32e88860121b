// bpf_flow_bench: the eBPF flow source's costs, measured in one run (docs/ebpf.md "Measured").
//
// Kernel side, ns/packet as BPF_PROG_TEST_RUN reports it (average over --repeat runs of one
// packet, median over --iterations repetitions of one iteration each):
//   floor         a per-CPU array counter: the cheapest useful TC program (bpf/flow_variants.bpf.c)
//   steady        the production TC egress program (bpf/flow.bpf.c) on a packet of a known flow
//   new flow      the same code with the key varied on every run, so each packet inserts a key
//                 (one extra per-CPU counter bump to vary it); preallocated maps as shipped, and
//                 maps without preallocation for comparison
//   ct lookup     the alternative NAT view: bpf_skb_ct_lookup() on the packet's tuple, with an
//                 entry present (hit) and absent (miss), instead of reading skb->_nfct
// Userspace side, per read interval: switch buffers + drain --flows keys with batched
// lookup-and-delete + orient them into records + batch them into a discarding sink.
//
// The process moves into a scratch network namespace first (the conntrack entry of the lookup
// benchmark lives there and vanishes with it). Needs root.
#include <sched.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <sys/wait.h>

#include "common/packet_builder.h"
#include "ebpf/flow_object.h"
#include "ebpf/flow_reader.h"
#include "ebpf/orientation.h"
#include "egressd/batch_writer.h"
#include "loader/libbpf_support.h"
#include "loader/per_cpu.h"
#include "loader/skeleton.h"

#include "flow_variants.skel.h"

namespace {

using namespace egressd;
using testing::PacketBuilder;

uint32_t g_repeat = 1'000'000;
int g_iterations = 5;
std::vector<size_t> g_flows = {100'000, 1'000'000};
bool g_have_ct_entry = false;

const IpAddr kSrc4 = IpAddr::parse("10.244.1.10").value();
const IpAddr kDst4 = IpAddr::parse("203.0.113.10").value();
const IpAddr kSrc6 = IpAddr::parse("fd00:244:1::10").value();
const IpAddr kDst6 = IpAddr::parse("2001:db8:113::10").value();
constexpr uint16_t kSport = 40000;
constexpr uint16_t kDport = 443;

// A 1500-byte-MTU-sized data segment of an established TCP connection.
std::vector<uint8_t> packet(bool v6) {
  PacketBuilder b;
  if (v6) {
    b.ethernet(0x86DD).ipv6(kSrc6, kDst6, 6);
  } else {
    b.ethernet(0x0800).ipv4(kSrc4, kDst4, 6);
  }
  return b.tcp(kSport, kDport).payload(v6 ? 1440 : 1460).finish();
}

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "bpf_flow_bench: %s\n", what.c_str());
  std::exit(1);
}

// The kernel's time for a benchmark's runs. Each iteration runs the program `repeat` times on one
// frame (BPF_PROG_TEST_RUN reports the average ns of one run); the iteration's manual time is the
// kernel's total, and `report()` sets ns_per_packet once, after the loop, from the sums over all
// iterations (a counter set inside the loop keeps only the last iteration's value). The Collector
// checks that ns_per_packet equals manual time / packets for every run it prints.
class PacketTimer {
 public:
  bool run(benchmark::State& state, int prog_fd, const std::vector<uint8_t>& frame,
           uint32_t repeat = g_repeat) {
    auto r = loader::test_run(prog_fd, frame, repeat);
    if (!r) {
      state.SkipWithError(r.error().message().c_str());
      return false;
    }
    const double total_ns = static_cast<double>(r->duration_ns) * repeat;
    state.SetIterationTime(total_ns / 1e9);
    ns_ += total_ns;
    packets_ += repeat;
    return true;
  }
  void report(benchmark::State& state) const {
    if (packets_ == 0) return;
    state.counters["ns_per_packet"] = ns_ / static_cast<double>(packets_);
    state.counters["packets"] = static_cast<double>(packets_);
  }

 private:
  double ns_ = 0;
  uint64_t packets_ = 0;
};

loader::Skeleton<flow_variants> load_bench(uint32_t entries, bool no_prealloc) {
  auto skel = loader::Skeleton<flow_variants>::open("flow_variants");
  if (!skel) die(skel.error().message());
  for (bpf_map* m : {(*skel)->maps.egressd_flows_a, (*skel)->maps.egressd_flows_b}) {
    bpf_map__set_max_entries(m, entries);
    if (no_prealloc) bpf_map__set_map_flags(m, BPF_F_NO_PREALLOC);
  }
  // The inner-map template must carry the same flags as the buffers it accepts.
  if (no_prealloc) {
    bpf_map__set_map_flags(bpf_map__inner_map((*skel)->maps.egressd_flow_active),
                           BPF_F_NO_PREALLOC);
  }
  if (auto st = skel->load(); !st) die(st.error().message());
  return std::move(*skel);
}

std::array<uint64_t, EGRESSD_FLOW_STAT_MAX> stat_totals(
    const loader::Skeleton<flow_variants>& skel) {
  const uint32_t zero = 0;
  std::array<uint64_t, EGRESSD_FLOW_STAT_MAX> total{};
  auto raw = loader::lookup_percpu(bpf_map__fd(skel->maps.egressd_flow_stats), &zero,
                                   sizeof(egressd_flow_stats));
  if (!raw) return total;
  const auto sum = loader::sum_per_cpu<egressd_flow_stats>(*raw);
  std::copy(std::begin(sum.value), std::end(sum.value), total.begin());
  return total;
}

void BM_floor(benchmark::State& state) {
  auto skel = load_bench(1024, false);
  const auto frame = packet(false);
  PacketTimer timer;
  for (auto _ : state) {
    if (!timer.run(state, bpf_program__fd(skel->progs.egressd_bench_floor), frame)) return;
  }
  timer.report(state);
}

void BM_steady(benchmark::State& state) {
  auto object = ebpf::FlowObject::load({});
  if (!object) die(object.error().message());
  const auto frame = packet(state.range(0) == 6);
  (void)loader::test_run((*object)->tc_ethernet_fd(), frame);  // the key exists from here on
  PacketTimer timer;
  for (auto _ : state) {
    if (!timer.run(state, (*object)->tc_ethernet_fd(), frame)) return;
  }
  timer.report(state);
  // Every run was counted into the one key (a parse error would also be fast).
  const uint32_t zero = 0;
  auto raw = loader::lookup_percpu((*object)->stats_map_fd(), &zero, sizeof(egressd_flow_stats));
  const uint64_t counted =
      raw ? loader::sum_per_cpu<egressd_flow_stats>(*raw).value[EGRESSD_FLOW_STAT_EGRESS_PACKETS]
          : 0;
  if (counted != 1 + uint64_t{g_repeat} * static_cast<uint64_t>(state.iterations())) {
    state.SkipWithError("not every run was counted");
  }
}

void BM_new_flow(benchmark::State& state, bool no_prealloc) {
  const auto frame = packet(state.range(0) == 6);
  PacketTimer timer;
  for (auto _ : state) {
    // A fresh map per iteration: every run inserts (the key's initiator changes each time). The
    // comparison without preallocation is ~40x slower: 100k runs are enough to price it.
    const uint32_t repeat = no_prealloc ? std::min<uint32_t>(g_repeat, 100'000) : g_repeat;
    auto skel = load_bench(repeat + 1024, no_prealloc);
    if (!timer.run(state, bpf_program__fd(skel->progs.egressd_bench_new_flow), frame, repeat)) {
      return;
    }
    const auto stats = stat_totals(skel);
    // (Without preallocation an insert may also fail for memory, which goes to the ring.)
    if (!no_prealloc &&
        (stats[EGRESSD_FLOW_STAT_EGRESS_PACKETS] != repeat ||
         stats[EGRESSD_FLOW_STAT_MAP_FULL] + stats[EGRESSD_FLOW_STAT_LOST_PACKETS] != 0)) {
      state.SkipWithError("not every run inserted a key");
    }
    state.PauseTiming();  // freeing the map is not the program's cost
    skel = loader::Skeleton<flow_variants>::open("unused").value();
    state.ResumeTiming();
  }
  timer.report(state);
}

void BM_ct_lookup(benchmark::State& state) {
  const bool hit = state.range(0) == 1;
  if (hit && !g_have_ct_entry) {
    state.SkipWithError("no conntrack entry (conntrack -I failed)");
    return;
  }
  auto skel = load_bench(1024, false);
  auto frame = packet(false);
  if (!hit) frame[14 + 12] ^= 0x01;  // another source address: no entry
  PacketTimer timer;
  for (auto _ : state) {
    if (!timer.run(state, bpf_program__fd(skel->progs.egressd_bench_ct_lookup), frame)) return;
  }
  timer.report(state);
  // The program counts its misses: a "hit" run that missed would price the wrong path.
  const uint64_t misses = stat_totals(skel)[EGRESSD_FLOW_STAT_NO_CONNTRACK];
  if (hit ? misses != 0 : misses == 0) state.SkipWithError("the lookup did not hit/miss as meant");
}

class DiscardSink final : public BatchSink {
 public:
  bool push(RecordBatch&& batch) override {
    records += batch.records.size();
    return true;
  }
  uint64_t records = 0;
};

class OrientVisitor final : public ebpf::FlowReader::Visitor {
 public:
  OrientVisitor(const LocalEndpoints& local, BatchWriter& writer)
      : local_(local), writer_(writer) {}
  void flow(const egressd_flow_key& key, const egressd_flow_counters& c) override {
    std::array<FlowRecord, 2> out;
    const uint8_t n = ebpf::orient(key, c, local_, out);
    for (uint8_t i = 0; i < n; ++i) writer_.add(out[i]);
  }

 private:
  const LocalEndpoints& local_;
  BatchWriter& writer_;
};

// Fills the active buffer with `n` keys (110 local pods, distinct peers), per-CPU values on all
// CPUs, from userspace in batches.
void fill(const ebpf::FlowObject& object, int buffer, size_t n, unsigned cpus) {
  constexpr size_t kChunk = 8192;
  std::vector<egressd_flow_key> keys(kChunk);
  std::vector<egressd_flow_counters> values(kChunk * cpus, egressd_flow_counters{1500, 1, 60, 1});
  for (size_t done = 0; done < n;) {
    const size_t count = std::min(kChunk, n - done);
    for (size_t i = 0; i < count; ++i) {
      const size_t k = done + i;
      egressd_flow_key key{};
      const IpAddr local = IpAddr::v4(0x0AF40100 + static_cast<uint32_t>(k % 110));
      const IpAddr peer = IpAddr::v4(0x64000000 + static_cast<uint32_t>(k));
      std::memcpy(key.orig_src, local.bytes().data(), 16);
      std::memcpy(key.reply_src, peer.bytes().data(), 16);
      key.proto = 6;
      keys[i] = key;
    }
    auto c = static_cast<uint32_t>(count);
    bpf_map_batch_opts opts{};
    opts.sz = sizeof(opts);
    if (bpf_map_update_batch(object.buffer_map_fd(buffer), keys.data(), values.data(), &c, &opts) !=
        0) {
      die("filling the flow buffer: " + std::string(std::strerror(errno)));
    }
    done += count;
  }
}

class NullVisitor final : public ebpf::FlowReader::Visitor {
 public:
  void flow(const egressd_flow_key& /*key*/, const egressd_flow_counters& /*c*/) override {}
};

// `orient`: the whole per-interval cost; else only switching and draining (the kernel's share).
void BM_read(benchmark::State& state, bool orient) {
  const auto n = static_cast<size_t>(state.range(0));
  ebpf::FlowObjectOptions options;
  options.map_entries = static_cast<uint32_t>(n + 1024);
  auto object = ebpf::FlowObject::load(options);
  if (!object) die(object.error().message());
  auto reader = ebpf::FlowReader::create(**object);
  if (!reader) die(reader.error().message());
  const unsigned cpus = loader::possible_cpus().value();
  std::vector<IpAddr> pods;
  for (uint32_t i = 0; i < 110; ++i) pods.push_back(IpAddr::v4(0x0AF40100 + i));
  const LocalEndpoints local(pods, {IpAddr::parse("192.168.50.10").value()});
  DiscardSink sink;
  BatchWriter writer(sink, SourceKind::kEbpf, 4096);
  double switch_ms = 0;
  for (auto _ : state) {
    fill(**object, (*reader)->active_buffer(), n, cpus);
    OrientVisitor orienting(local, writer);
    NullVisitor null;
    const auto t0 = std::chrono::steady_clock::now();
    auto d = orient ? (*reader)->drain(orienting) : (*reader)->drain(null);
    writer.flush();
    const auto t1 = std::chrono::steady_clock::now();
    if (!d || d->entries != n) {
      state.SkipWithError("drain failed or read the wrong number of keys");
      return;
    }
    state.SetIterationTime(std::chrono::duration<double>(t1 - t0).count());
    switch_ms += std::chrono::duration<double, std::milli>(d->switch_time).count();
  }
  state.counters["flows"] = static_cast<double>(n);
  state.counters["switch_ms"] = benchmark::Counter(switch_ms, benchmark::Counter::kAvgIterations);
  if (orient && sink.records != n * static_cast<size_t>(state.iterations())) {
    state.SkipWithError("records lost between drain and sink");
  }
}

// Median of the iteration times (ns) of each benchmark, by name.
class Collector final : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& r : runs) {
      if (r.run_type != Run::RT_Iteration || r.error_occurred) continue;
      auto& v = seconds[r.benchmark_name()];
      v.push_back(r.GetAdjustedRealTime());  // per iteration, in the benchmark's time unit
      const auto ns = r.counters.find("ns_per_packet");
      const auto packets = r.counters.find("packets");
      if (ns == r.counters.end() || packets == r.counters.end()) continue;
      ns_per_packet[r.benchmark_name()].push_back(ns->second.value);
      // The printed figure must be what the manual time says: time per iteration (ms here) x
      // iterations / packets. A mismatch is a bug in this bench, and it fails the run.
      const double manual_ns = r.GetAdjustedRealTime() * 1e6 * static_cast<double>(r.iterations);
      const double expected = manual_ns / packets->second.value;
      if (std::abs(ns->second.value - expected) > 1e-6 * expected + 1e-9) {
        std::fprintf(stderr,
                     "bpf_flow_bench: %s prints %.3f ns/packet but its manual time / packets is "
                     "%.3f ns\n",
                     r.benchmark_name().c_str(), ns->second.value, expected);
        inconsistent = true;
      }
    }
    ConsoleReporter::ReportRuns(runs);
  }
  static double median(std::vector<double> v) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  }
  double packet_ns(const std::string& prefix) const {
    for (const auto& [name, v] : ns_per_packet) {
      if (name.rfind(prefix, 0) == 0) return median(v);
    }
    return 0;
  }
  double time(const std::string& prefix) const {
    for (const auto& [name, v] : seconds) {
      if (name.rfind(prefix, 0) == 0) return median(v);
    }
    return 0;
  }
  std::map<std::string, std::vector<double>> seconds;
  std::map<std::string, std::vector<double>> ns_per_packet;
  bool inconsistent = false;
};

// `conntrack -I` an established TCP entry for the benchmark packet's tuple in this namespace.
bool insert_ct_entry() {
  const std::string cmd =
      "conntrack -I -p tcp -s 10.244.1.10 -d 203.0.113.10 --sport 40000 --dport 443 "
      "--state ESTABLISHED --timeout 600 >/dev/null 2>&1";
  return std::system(cmd.c_str()) == 0;  // NOLINT(cert-env33-c): a fixed command line
}

void parse_flags(int& argc, char** argv) {
  int out = 1;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--repeat=", 0) == 0) {
      g_repeat = static_cast<uint32_t>(std::stoul(a.substr(9)));
    } else if (a.rfind("--iterations=", 0) == 0) {
      g_iterations = std::stoi(a.substr(13));
    } else if (a.rfind("--flows=", 0) == 0) {
      g_flows.clear();
      size_t pos = 8;
      while (pos < a.size()) {
        const size_t comma = a.find(',', pos);
        g_flows.push_back(std::stoul(a.substr(pos, comma - pos)));
        pos = comma == std::string::npos ? a.size() : comma + 1;
      }
    } else {
      argv[out++] = argv[i];
    }
  }
  argc = out;
}

}  // namespace

int main(int argc, char** argv) {
  parse_flags(argc, argv);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  if (unshare(CLONE_NEWNET) != 0) die("unshare(CLONE_NEWNET) (needs root)");
  loader::install_libbpf_logging();
  spdlog::set_level(spdlog::level::warn);
  g_have_ct_entry = insert_ct_entry();

  const auto reg = [](const char* name, auto fn) {
    return benchmark::RegisterBenchmark(name, fn)
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond)
        ->Iterations(1)
        ->Repetitions(g_iterations);
  };
  reg("floor", BM_floor);
  reg("steady/v4", BM_steady)->Arg(4);
  reg("steady/v6", BM_steady)->Arg(6);
  reg("new_flow/v4", [](benchmark::State& s) { BM_new_flow(s, false); })->Arg(4);
  reg("new_flow/v6", [](benchmark::State& s) { BM_new_flow(s, false); })->Arg(6);
  reg("new_flow_no_prealloc/v4", [](benchmark::State& s) { BM_new_flow(s, true); })->Arg(4);
  reg("ct_lookup_hit/v4", BM_ct_lookup)->Arg(1);
  reg("ct_lookup_miss/v4", BM_ct_lookup)->Arg(0);
  for (const size_t n : g_flows) {
    reg("read", [](benchmark::State& s) { BM_read(s, true); })->Arg(static_cast<int64_t>(n));
    reg("drain_only", [](benchmark::State& s) { BM_read(s, false); })->Arg(static_cast<int64_t>(n));
  }

  Collector collector;
  benchmark::RunSpecifiedBenchmarks(&collector);
  benchmark::Shutdown();

  if (collector.inconsistent) die("a printed ns/packet disagrees with its manual time (above)");
  const double floor = collector.packet_ns("floor");
  if (floor <= 0) die("the floor benchmark did not run");
  std::printf(
      "\nns/packet (BPF_PROG_TEST_RUN, %u runs of one packet, median of %d), ratio to the "
      "floor:\n",
      g_repeat, g_iterations);
  const auto row = [&](const char* what, const char* name) {
    const double ns = collector.packet_ns(name);
    if (ns <= 0) {
      std::printf("  %-44s   (did not run)\n", what);
      return;
    }
    std::printf("  %-44s %6.1f ns  %5.2fx\n", what, ns, ns / floor);
  };
  row("floor: per-CPU array counter", "floor");
  row("flow program, steady state, IPv4", "steady/v4");
  row("flow program, steady state, IPv6", "steady/v6");
  row("flow program, new flow, IPv4", "new_flow/v4");
  row("flow program, new flow, IPv6", "new_flow/v6");
  row("  new flow, IPv4, map without preallocation", "new_flow_no_prealloc/v4");
  row("bpf_skb_ct_lookup() variant, entry found", "ct_lookup_hit/v4");
  row("bpf_skb_ct_lookup() variant, no entry", "ct_lookup_miss/v4");
  std::printf(
      "\nuserspace read per interval, median: (a) switch buffers + batched "
      "lookup-and-delete only,\n(b) the source's whole read: (a) + orientation + "
      "record batches:\n");
  for (const size_t n : g_flows) {
    const double a = collector.time("drain_only/" + std::to_string(n));
    const double b = collector.time("read/" + std::to_string(n));
    const double per = 1e6 / static_cast<double>(n);
    std::printf("  %8zu flows  (a) %8.2f ms %5.0f ns/flow  (b) %8.2f ms %5.0f ns/flow  b/a %.2f\n",
                n, a, a * per, b, b * per, a > 0 ? b / a : 0.0);
  }
  return 0;
}
