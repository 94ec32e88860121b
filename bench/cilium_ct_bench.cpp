// cilium_ct_bench: a full read of Cilium's conntrack maps, measured three ways in one run.
//
//   (a) floor    a bare BPF_MAP_LOOKUP_BATCH loop over the four maps that discards the data
//                (kernel cost and copy-out only; same batch size as the reader)
//   (b) egressd  CtReader: batch lookups + parse + orientation + BatchWriter into a discarding
//                sink, as the source runs it every read interval
//   (c) bpftool  `bpftool map dump pinned <pin>` > /dev/null for each of the four maps
//
// The process unshares its mount namespace, mounts a private bpffs on a scratch directory and
// creates the four CT maps there with Cilium's layout A (LRU_HASH, 14/38-byte keys, 56-byte
// values, max_entries 1.25x their share), filled with --entries entries (default 500000: half
// TCP v4, a quarter TCP v6, the rest UDP/ICMP) by BPF_MAP_UPDATE_BATCH. The mix is what a busy
// node holds: pods' OUT and IN entries with counters (110 pods per family), 10 % SERVICE and 5 %
// RELATED entries. Everything vanishes with the process. Prints entries/s and the ratios b/a and
// c/b (targets: b/a <= 1.2, c/b >= 10). Needs root.
#include <fcntl.h>
#include <sched.h>
#include <spawn.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <system_error>
#include <vector>

#include <arpa/inet.h>
#include <benchmark/benchmark.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "cilium/ct_reader.h"
#include "egressd/abi/cilium_ct.h"

extern char** environ;

namespace {

using namespace egressd;
using namespace egressd::cilium;

size_t g_entries = 500'000;
uint32_t g_batch = 4096;
std::string g_root;
constexpr int kPods = 110;

[[noreturn]] void die(const std::string& what, int err = errno) {
  std::fprintf(stderr, "cilium_ct_bench: %s: %s\n", what.c_str(),
               std::generic_category().message(err).c_str());
  std::fflush(nullptr);
  std::_Exit(1);
}

struct MapSpec {
  MapRole role;
  size_t share_num;  // share of the entries: num/8
};
constexpr std::array<MapSpec, 4> kMaps{
    {{MapRole::kTcp4, 4}, {MapRole::kTcp6, 2}, {MapRole::kAny4, 1}, {MapRole::kAny6, 1}}};
std::array<int, 4> g_fds{};  // read-write fds kept by the bench (the reader opens its own)
std::array<size_t, 4> g_counts{};

void put_be16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}

// Entry i of a map: a pod of this node (OUT: originator = pod; IN: responder = pod) and a remote
// peer, counters of a few packets, lifetime an hour from boot+; 10 % SERVICE, 5 % RELATED.
void make_entry(bool v6, bool tcp, size_t i, uint8_t* key, uint8_t* value) {
  const size_t alen = v6 ? 16 : 4;
  std::memset(key, 0, 2 * alen + 6);
  uint8_t pod[16] = {}, peer[16] = {};
  if (v6) {
    pod[0] = 0xfd;
    pod[15] = static_cast<uint8_t>(i % kPods + 1);
    peer[0] = 0x20;
    peer[1] = 0x01;
    peer[13] = static_cast<uint8_t>(i >> 16);
    peer[14] = static_cast<uint8_t>(i >> 8);
    peer[15] = static_cast<uint8_t>(i);
  } else {
    pod[0] = 10;
    pod[1] = 244;
    pod[3] = static_cast<uint8_t>(i % kPods + 1);
    peer[0] = 172;
    peer[1] = static_cast<uint8_t>(16 + (i >> 16));
    peer[2] = static_cast<uint8_t>(i >> 8);
    peer[3] = static_cast<uint8_t>(i);
  }
  const size_t kind = i % 20;
  uint8_t flags = kind < 12 ? EGRESSD_CILIUM_TUPLE_F_OUT : EGRESSD_CILIUM_TUPLE_F_IN;
  if (kind == 17 || kind == 18) flags = EGRESSD_CILIUM_TUPLE_F_SERVICE;
  if (kind == 19) flags = EGRESSD_CILIUM_TUPLE_F_RELATED;
  const bool pod_originates = flags != EGRESSD_CILIUM_TUPLE_F_IN;
  std::memcpy(key, pod_originates ? pod : peer, alen);                    // daddr = originator
  std::memcpy(key + alen, pod_originates ? peer : pod, alen);             // saddr = responder
  put_be16(key + 2 * alen, static_cast<uint16_t>(tcp ? 443 : 53));        // dport
  put_be16(key + 2 * alen + 2, static_cast<uint16_t>(1024 + i % 60000));  // sport
  key[2 * alen + 4] = tcp ? 6 : (i % 4 == 0 ? (v6 ? 58 : 1) : 17);
  key[2 * alen + 5] = flags;
  egressd_cilium_ct_entry_a e{};
  if (flags != EGRESSD_CILIUM_TUPLE_F_SERVICE && flags != EGRESSD_CILIUM_TUPLE_F_RELATED) {
    e.rx_packets = i % 7 + 1;
    e.rx_bytes = e.rx_packets * 1400;
    e.tx_packets = i % 5 + 1;
    e.tx_bytes = e.tx_packets * 120;
  }
  e.lifetime = 1'000'000;
  std::memcpy(value, &e, sizeof(e));
}

void create_maps() {
  const std::string dir = g_root + "/tc";
  mkdir(dir.c_str(), 0700);
  mkdir((dir + "/globals").c_str(), 0700);
  for (size_t m = 0; m < kMaps.size(); ++m) {
    const MapRole role = kMaps[m].role;
    const bool v6 = role == MapRole::kTcp6 || role == MapRole::kAny6;
    const bool tcp = role == MapRole::kTcp4 || role == MapRole::kTcp6;
    const size_t n = m + 1 == kMaps.size() ? g_entries - (g_counts[0] + g_counts[1] + g_counts[2])
                                           : g_entries * kMaps[m].share_num / 8;
    g_counts[m] = n;
    const uint32_t key_size = v6 ? 38 : 14;
    bpf_map_create_opts opts{};
    opts.sz = sizeof(opts);
    const auto max = static_cast<uint32_t>(std::max<size_t>(n + n / 4, 1024));
    const int fd =
        bpf_map_create(BPF_MAP_TYPE_LRU_HASH, "cilium_ct_bench", key_size, 56, max, &opts);
    if (fd < 0) die("bpf_map_create");
    const std::string pin = pin_path(g_root, role);
    if (bpf_obj_pin(fd, pin.c_str()) != 0) die("pin " + pin);
    g_fds[m] = fd;
    constexpr size_t kChunk = 8192;
    std::vector<uint8_t> keys(kChunk * key_size), values(kChunk * 56);
    for (size_t done = 0; done < n;) {
      const size_t c = std::min(kChunk, n - done);
      for (size_t j = 0; j < c; ++j) {
        make_entry(v6, tcp, done + j, keys.data() + j * key_size, values.data() + j * 56);
      }
      auto count = static_cast<uint32_t>(c);
      bpf_map_batch_opts bopts{};
      bopts.sz = sizeof(bopts);
      if (bpf_map_update_batch(fd, keys.data(), values.data(), &count, &bopts) != 0) {
        die("BPF_MAP_UPDATE_BATCH");
      }
      done += c;
    }
  }
}

// (a) The floor: batch lookups of every entry of the four maps, nothing done with them.
size_t bare_read() {
  static std::vector<uint8_t> keys(size_t{g_batch} * 38), values(size_t{g_batch} * 56);
  size_t total = 0;
  for (size_t m = 0; m < kMaps.size(); ++m) {
    uint64_t in = 0, out = 0;
    bool first = true;
    bpf_map_batch_opts opts{};
    opts.sz = sizeof(opts);
    while (true) {
      uint32_t count = g_batch;
      const int rc = bpf_map_lookup_batch(g_fds[m], first ? nullptr : &in, &out, keys.data(),
                                          values.data(), &count, &opts);
      total += count;
      if (rc != 0) {
        if (errno == ENOENT) break;
        die("BPF_MAP_LOOKUP_BATCH");
      }
      in = out;
      first = false;
    }
  }
  return total;
}

void BM_a_floor(benchmark::State& state) {
  while (state.KeepRunning()) {
    if (bare_read() != g_entries) state.SkipWithError("floor read a different count");
  }
  state.counters["entries/s"] = benchmark::Counter(static_cast<double>(g_entries),
                                                   benchmark::Counter::kIsIterationInvariantRate);
}

class DiscardSink final : public BatchSink {
 public:
  bool push(RecordBatch&& batch) override {
    records += batch.records.size();
    return true;
  }
  size_t records = 0;
};

// (b) The project's reader, as the source runs it on every read interval.
void BM_b_reader(benchmark::State& state) {
  SelfMetrics registry;
  SourceMetrics metrics(registry);
  CtReaderOptions options;
  options.bpf_roots = {g_root};
  options.layout.layout = Layout::kA;
  options.clock = ClockSetting::kKtime;
  options.lookup_batch = g_batch;
  auto reader = CtReader::open(options, metrics);
  if (!reader) die(reader.error().message(), reader.error().sys_errno());
  std::vector<IpAddr> pods;
  for (int i = 1; i <= kPods; ++i) {
    const uint8_t v4[4] = {10, 244, 0, static_cast<uint8_t>(i)};
    uint8_t v6[16] = {0xfd};
    v6[15] = static_cast<uint8_t>(i);
    pods.push_back(IpAddr::from_v4_bytes(v4));
    pods.push_back(IpAddr::from_v6_bytes(v6));
  }
  const LocalEndpoints endpoints(pods, {});
  DiscardSink sink;
  BatchWriter writer(sink, SourceKind::kCilium, 4096);
  uint64_t generation = 0;
  size_t records = 0;
  while (state.KeepRunning()) {
    writer.begin(++generation);
    const ReadSummary s = (*reader)->read(endpoints, writer, {});
    writer.read_complete(generation);
    records = s.records;
    if (!s.complete || s.entries != g_entries) state.SkipWithError("incomplete read");
  }
  state.counters["records"] = static_cast<double>(records);
  state.counters["entries/s"] = benchmark::Counter(static_cast<double>(g_entries),
                                                   benchmark::Counter::kIsIterationInvariantRate);
}

int spawn_bpftool(const std::string& pin, double& cpu_s) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  const char* argv[] = {"bpftool", "map", "dump", "pinned", pin.c_str(), nullptr};
  pid_t pid = 0;
  const int rc =
      posix_spawnp(&pid, "bpftool", &actions, nullptr, const_cast<char**>(argv), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) die("spawn bpftool", rc);
  int status = 0;
  rusage usage{};
  wait4(pid, &status, 0, &usage);
  const auto secs = [](const timeval& tv) {
    return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
  };
  cpu_s += secs(usage.ru_utime) + secs(usage.ru_stime);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// (c) bpftool (the child inherits the private mount namespace, so it sees the pins).
void BM_c_bpftool(benchmark::State& state) {
  double child_cpu_s = 0;
  while (state.KeepRunning()) {
    for (const MapSpec& m : kMaps) {
      if (spawn_bpftool(pin_path(g_root, m.role), child_cpu_s) != 0) {
        state.SkipWithError("bpftool map dump failed");
        break;
      }
    }
  }
  state.counters["child_cpu_ms"] =
      benchmark::Counter(child_cpu_s * 1000.0, benchmark::Counter::kAvgIterations);
  state.counters["entries/s"] = benchmark::Counter(static_cast<double>(g_entries),
                                                   benchmark::Counter::kIsIterationInvariantRate);
}

BENCHMARK(BM_a_floor)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_b_reader)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_c_bpftool)->Unit(benchmark::kMillisecond)->UseRealTime();

// Keeps every run's wall and CPU time per iteration (ms) by benchmark name.
class Collector final : public benchmark::ConsoleReporter {
 public:
  struct Times {
    std::vector<double> real;
    std::vector<double> cpu;
  };
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& r : runs) {
      if (r.run_type != Run::RT_Iteration || r.error_occurred) continue;
      Times& t = times[r.benchmark_name()];
      t.real.push_back(r.GetAdjustedRealTime());
      const auto child = r.counters.find("child_cpu_ms");
      t.cpu.push_back(child != r.counters.end() ? child->second.value : r.GetAdjustedCPUTime());
    }
    ConsoleReporter::ReportRuns(runs);
  }
  [[nodiscard]] std::pair<double, double> median(const std::string& benchmark) const {
    const auto mid = [](std::vector<double> v) {
      std::sort(v.begin(), v.end());
      return v[v.size() / 2];
    };
    for (const auto& [name, t] : times) {
      if (name.rfind(benchmark, 0) == 0) return {mid(t.real), mid(t.cpu)};
    }
    return {0, 0};
  }
  std::map<std::string, Times> times;
};

void setup_bpffs() {
  if (unshare(CLONE_NEWNS) != 0) die("unshare(CLONE_NEWNS) (needs root)");
  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) die("make / private");
  char tmpl[] = "/tmp/egd-cilium-bench-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) die("mkdtemp");
  g_root = tmpl;
  if (mount("bpf", g_root.c_str(), "bpf", 0, nullptr) != 0) die("mount bpffs");
}

void teardown_bpffs() {
  for (size_t m = 0; m < kMaps.size(); ++m) {
    unlink(pin_path(g_root, kMaps[m].role).c_str());
    close(g_fds[m]);
  }
  rmdir((g_root + "/tc/globals").c_str());
  rmdir((g_root + "/tc").c_str());
  umount2(g_root.c_str(), MNT_DETACH);
  rmdir(g_root.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<char*> rest;
  for (int i = 0; i < argc; ++i) {
    if (std::strncmp(argv[i], "--entries=", 10) == 0) {
      g_entries = std::stoul(argv[i] + 10);
    } else if (std::strncmp(argv[i], "--batch=", 8) == 0) {
      g_batch = static_cast<uint32_t>(std::stoul(argv[i] + 8));
    } else {
      rest.push_back(argv[i]);
    }
  }
  int rest_argc = static_cast<int>(rest.size());
  benchmark::Initialize(&rest_argc, rest.data());
  if (benchmark::ReportUnrecognizedArguments(rest_argc, rest.data())) return 1;

  setup_bpffs();
  create_maps();
  if (const size_t n = bare_read(); n != g_entries) {
    std::fprintf(stderr, "cilium_ct_bench: the maps hold %zu entries, expected %zu\n", n,
                 g_entries);
    teardown_bpffs();
    return 1;
  }
  std::printf("%zu entries in 4 maps (%zu TCPv4, %zu TCPv6, %zu anyv4, %zu anyv6), batch %u\n",
              g_entries, g_counts[0], g_counts[1], g_counts[2], g_counts[3], g_batch);

  Collector collector;
  benchmark::RunSpecifiedBenchmarks(&collector);
  benchmark::Shutdown();
  teardown_bpffs();

  const auto [a, a_cpu] = collector.median("BM_a_floor");
  const auto [b, b_cpu] = collector.median("BM_b_reader");
  const auto [c, c_cpu] = collector.median("BM_c_bpftool");
  if (a <= 0 || b <= 0) {
    std::fprintf(stderr, "cilium_ct_bench: a benchmark did not run\n");
    return 1;
  }
  const auto rate = [](double ms) { return static_cast<double>(g_entries) / (ms / 1000.0); };
  std::printf(
      "\n%zu entries; median per full read, wall clock and CPU (for bpftool: the\n"
      "children's):\n",
      g_entries);
  const auto row = [&](const char* what, double wall, double cpu) {
    std::printf("  %-28s %8.1f ms %10.0f entries/s | cpu %8.1f ms %10.0f entries/s\n", what, wall,
                rate(wall), cpu, rate(cpu));
  };
  row("(a) floor, bare batch loop", a, a_cpu);
  row("(b) egressd reader", b, b_cpu);
  if (c > 0) row("(c) bpftool map dump", c, c_cpu);
  std::printf("  wall: b/a = %.3f", b / a);
  if (c > 0) std::printf("  c/b = %.1f", c / b);
  std::printf(" | cpu: b/a = %.3f", b_cpu / a_cpu);
  if (c > 0) std::printf("  c/b = %.1f", c_cpu / b_cpu);
  std::printf("  (targets: b/a <= 1.2, c/b >= 10)\n");
  return 0;
}
