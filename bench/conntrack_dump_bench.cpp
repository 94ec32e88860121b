// conntrack_dump_bench: throughput of a full conntrack dump, measured three ways in one run.
//
//   (a) floor      a bare libmnl recv loop that discards the datagrams (kernel cost only)
//   (b) egressd    Dumper + parser + orientation + RecordEmitter into a discarding sink
//   (c) conntrack  `conntrack -L -f ipv4` and `-f ipv6` > /dev/null (the CLI lists one family
//                  per run, so both runs together read the same table)
//
// The process first moves into a scratch network namespace (unshare(CLONE_NEWNET)) and creates
// --entries conntrack entries there over ctnetlink (IPCTNL_MSG_CT_NEW, hundreds per sendmsg),
// half IPv4 and half IPv6, TCP and UDP, with accounting on so they carry counters like real ones.
// Everything vanishes with the process. Prints entries/s for each and the ratios b/a and c/b
// (targets: b/a <= 1.15, c/b >= 2). Needs root.
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <spawn.h>
#include <unistd.h>

#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <stop_token>
#include <string>
#include <system_error>
#include <vector>

#include <arpa/inet.h>
#include <benchmark/benchmark.h>
#include <fmt/format.h>
#include <libmnl/libmnl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "conntrack/dumper.h"
#include "conntrack/netfilter_source.h"
#include "conntrack/record_emitter.h"
#include "conntrack/source_metrics.h"

extern char** environ;

namespace {

using namespace egressd;
using namespace egressd::conntrack;

size_t g_entries = 100'000;
constexpr int kPods = 110;  // a busy node's pod count (kubelet's default max-pods)

[[noreturn]] void die(const std::string& what, int err = errno) {
  const std::string why = std::generic_category().message(err);
  std::fprintf(stderr, "conntrack_dump_bench: %s: %s\n", what.c_str(), why.c_str());
  std::fflush(nullptr);
  std::_Exit(1);
}

void write_proc(const char* path, const char* value) {
  FILE* f = std::fopen(path, "w");
  if (f == nullptr || std::fputs(value, f) < 0 || std::fclose(f) != 0) die(path);
}

uint64_t read_proc(const char* path) {
  std::ifstream in(path);
  uint64_t v = 0;
  if (!(in >> v)) die(path, EINVAL);
  return v;
}

std::array<uint8_t, 4> pod_v4(size_t i) {
  return {10, 244, 0, static_cast<uint8_t>(i % kPods + 1)};
}
std::array<uint8_t, 4> remote_v4(size_t i) {
  return {172, static_cast<uint8_t>(16 + (i >> 16)), static_cast<uint8_t>(i >> 8),
          static_cast<uint8_t>(i)};
}
std::array<uint8_t, 16> pod_v6(size_t i) {
  return {0xfd, 0, 2, 0x44, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, static_cast<uint8_t>(i % kPods + 1)};
}
std::array<uint8_t, 16> remote_v6(size_t i) {
  return {0xfd,
          0,
          1,
          0x72,
          0,
          0,
          0,
          0,
          0,
          0,
          0,
          0,
          0,
          static_cast<uint8_t>(i >> 16),
          static_cast<uint8_t>(i >> 8),
          static_cast<uint8_t>(i)};
}

void put_tuple(nlmsghdr* nlh, uint16_t type, bool v6, const uint8_t* src, const uint8_t* dst,
               uint8_t proto, uint16_t sport, uint16_t dport) {
  nlattr* t = mnl_attr_nest_start(nlh, type);
  nlattr* ip = mnl_attr_nest_start(nlh, CTA_TUPLE_IP);
  mnl_attr_put(nlh, v6 ? CTA_IP_V6_SRC : CTA_IP_V4_SRC, v6 ? 16 : 4, src);
  mnl_attr_put(nlh, v6 ? CTA_IP_V6_DST : CTA_IP_V4_DST, v6 ? 16 : 4, dst);
  mnl_attr_nest_end(nlh, ip);
  nlattr* p = mnl_attr_nest_start(nlh, CTA_TUPLE_PROTO);
  mnl_attr_put_u8(nlh, CTA_PROTO_NUM, proto);
  mnl_attr_put_u16(nlh, CTA_PROTO_SRC_PORT, htons(sport));
  mnl_attr_put_u16(nlh, CTA_PROTO_DST_PORT, htons(dport));
  mnl_attr_nest_end(nlh, p);
  mnl_attr_nest_end(nlh, t);
}

// Reads queued NLMSG_ERRORs (the requests carry no NLM_F_ACK: only failures answer). Failures
// beyond the receive buffer are dropped by the kernel: the caller checks nf_conntrack_count.
size_t drain_errors(mnl_socket* nl, std::vector<uint8_t>& rx) {
  size_t errors = 0;
  for (;;) {
    const ssize_t r = recv(mnl_socket_get_fd(nl), rx.data(), rx.size(), MSG_DONTWAIT);
    if (r <= 0) return errors;
    int len = static_cast<int>(r);
    for (auto* m = reinterpret_cast<nlmsghdr*>(rx.data()); mnl_nlmsg_ok(m, len);
         m = mnl_nlmsg_next(m, &len)) {
      int32_t err = 0;
      if (m->nlmsg_type == NLMSG_ERROR) std::memcpy(&err, mnl_nlmsg_get_payload(m), sizeof(err));
      if (err != 0 && errors++ == 0) {
        std::fprintf(stderr, "CT_NEW: %s\n", std::generic_category().message(-err).c_str());
      }
    }
  }
}

// Creates entries [0, n): pod:port -> remote:443 (TCP) or :53 (UDP), IPv4 for even i, packed
// into 128 KiB sendmsg() batches (~1000 requests each; netlink_sendmsg() caps one at sk_sndbuf).
void insert_entries(size_t n) {
  mnl_socket* nl = mnl_socket_open(NETLINK_NETFILTER);
  if (nl == nullptr || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) die("netlink socket");
  constexpr size_t kBatchBytes = size_t{128} * 1024;
  std::vector<uint8_t> batch(kBatchBytes + 4096);
  std::vector<uint8_t> rx(65536);
  size_t errors = 0;
  mnl_nlmsg_batch* b = mnl_nlmsg_batch_start(batch.data(), kBatchBytes);
  const auto send_batch = [&] {
    if (mnl_socket_sendto(nl, mnl_nlmsg_batch_head(b), mnl_nlmsg_batch_size(b)) < 0) {
      die("send CT_NEW batch");
    }
    errors += drain_errors(nl, rx);
  };
  for (size_t i = 0; i < n; ++i) {
    nlmsghdr* nlh = mnl_nlmsg_put_header(mnl_nlmsg_batch_current(b));
    nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_NEW;
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL;  // errors only, no ACKs
    nlh->nlmsg_seq = static_cast<uint32_t>(i + 1);
    const bool v6 = i % 2 == 1;
    auto* gen = static_cast<nfgenmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(nfgenmsg)));
    gen->nfgen_family = v6 ? AF_INET6 : AF_INET;
    gen->version = NFNETLINK_V0;
    const size_t k = i / 2;
    const uint8_t proto = k % 3 == 0 ? IPPROTO_UDP : IPPROTO_TCP;
    const auto sport = static_cast<uint16_t>(1024 + k % 60000);
    const uint16_t dport = proto == IPPROTO_UDP ? 53 : 443;
    if (v6) {
      const auto a = pod_v6(k), z = remote_v6(k);
      put_tuple(nlh, CTA_TUPLE_ORIG, true, a.data(), z.data(), proto, sport, dport);
      put_tuple(nlh, CTA_TUPLE_REPLY, true, z.data(), a.data(), proto, dport, sport);
    } else {
      const auto a = pod_v4(k), z = remote_v4(k);
      put_tuple(nlh, CTA_TUPLE_ORIG, false, a.data(), z.data(), proto, sport, dport);
      put_tuple(nlh, CTA_TUPLE_REPLY, false, z.data(), a.data(), proto, dport, sport);
    }
    mnl_attr_put_u32(nlh, CTA_TIMEOUT, htonl(3600));
    // IPS_CONFIRMED is required: ctnetlink refuses (EBUSY) a status that would clear it, and a
    // created entry is confirmed (nf_ct_change_status_common() in nf_conntrack_netlink.c).
    mnl_attr_put_u32(nlh, CTA_STATUS, htonl(IPS_CONFIRMED | IPS_SEEN_REPLY | IPS_ASSURED));
    if (!mnl_nlmsg_batch_next(b)) {
      // This request did not fit: send the others, then it moves to the head of the batch.
      send_batch();
      mnl_nlmsg_batch_reset(b);
    }
  }
  if (!mnl_nlmsg_batch_is_empty(b)) send_batch();
  mnl_nlmsg_batch_stop(b);
  mnl_socket_close(nl);
  if (errors != 0) {
    die(std::to_string(errors) + " of " + std::to_string(n) + " inserts failed", EEXIST);
  }
}

// (a) The floor: the same request, every datagram received and thrown away; only message
// headers are looked at, to find NLMSG_DONE.
size_t bare_dump(mnl_socket* nl, std::vector<uint8_t>& buf, uint32_t seq) {
  std::array<uint8_t, 64> req{};
  nlmsghdr* nlh = mnl_nlmsg_put_header(req.data());
  nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  nlh->nlmsg_seq = seq;
  auto* gen = static_cast<nfgenmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(nfgenmsg)));
  gen->nfgen_family = AF_UNSPEC;
  if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) die("send dump");
  size_t bytes = 0;
  for (;;) {
    const ssize_t n = mnl_socket_recvfrom(nl, buf.data(), buf.size());
    if (n <= 0) die("recv dump");
    bytes += static_cast<size_t>(n);
    int len = static_cast<int>(n);
    for (auto* m = reinterpret_cast<nlmsghdr*>(buf.data()); mnl_nlmsg_ok(m, len);
         m = mnl_nlmsg_next(m, &len)) {
      if (m->nlmsg_type == NLMSG_DONE || m->nlmsg_type == NLMSG_ERROR) return bytes;
    }
  }
}

void BM_a_floor(benchmark::State& state) {
  mnl_socket* nl = mnl_socket_open(NETLINK_NETFILTER);
  if (nl == nullptr || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) die("netlink socket");
  std::vector<uint8_t> buf(kDumpBufferBytes);
  uint32_t seq = 1;
  while (state.KeepRunning()) benchmark::DoNotOptimize(bare_dump(nl, buf, seq++));
  mnl_socket_close(nl);
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
void reader(benchmark::State& state, bool per_family) {
  SelfMetrics registry;
  SourceMetrics metrics(registry);
  DiscardSink sink;
  RecordEmitter emitter(sink, metrics, NetfilterSourceOptions{}.batch_records);
  std::vector<IpAddr> pods;
  pods.reserve(size_t{2} * kPods);
  for (int i = 0; i < kPods; ++i) {
    pods.push_back(IpAddr::from_v4_bytes(pod_v4(static_cast<size_t>(i)).data()));
    pods.push_back(IpAddr::from_v6_bytes(pod_v6(static_cast<size_t>(i)).data()));
  }
  const auto endpoints = std::make_shared<const LocalEndpoints>(pods, std::vector<IpAddr>{});
  auto dumper = Dumper::open();
  if (!dumper) die(dumper.error().message(), dumper.error().sys_errno());
  const std::stop_token never;
  uint64_t generation = 0;
  while (state.KeepRunning()) {
    emitter.begin(endpoints, ++generation);
    size_t entries = 0;
    bool complete = true;
    for (const uint8_t family :
         per_family ? std::vector<uint8_t>{AF_INET, AF_INET6} : std::vector<uint8_t>{AF_UNSPEC}) {
      const DumpOutcome out = dumper->dump(family, emitter, never);
      entries += out.walk.entries;
      complete = complete && out.complete();
    }
    emitter.read_complete(generation);
    if (!complete || entries != g_entries) {
      state.SkipWithError(fmt::format("dump read {} of {} entries", entries, g_entries).c_str());
      break;
    }
  }
  if (sink.records != g_entries * static_cast<size_t>(state.iterations())) {
    state.SkipWithError("not one record per entry");
  }
  state.counters["entries/s"] = benchmark::Counter(static_cast<double>(g_entries),
                                                   benchmark::Counter::kIsIterationInvariantRate);
}

void BM_b_reader(benchmark::State& state) {
  reader(state, false);
}
void BM_b2_reader_per_family(benchmark::State& state) {
  reader(state, true);
}

// Runs `conntrack -L -f family` > /dev/null; adds the child's CPU time (user + sys) to `cpu_s`.
int spawn_conntrack_list(const char* family, double& cpu_s) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  const char* argv[] = {"conntrack", "-L", "-f", family, nullptr};
  pid_t pid = 0;
  const int rc =
      posix_spawnp(&pid, "conntrack", &actions, nullptr, const_cast<char**>(argv), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) die("spawn conntrack", rc);
  int status = 0;
  rusage usage{};
  wait4(pid, &status, 0, &usage);
  const auto secs = [](const timeval& tv) {
    return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
  };
  cpu_s += secs(usage.ru_utime) + secs(usage.ru_stime);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// (c) The conntrack CLI (the child inherits the scratch namespace).
void BM_c_conntrack_cli(benchmark::State& state) {
  double child_cpu_s = 0;
  while (state.KeepRunning()) {
    if (spawn_conntrack_list("ipv4", child_cpu_s) != 0 ||
        spawn_conntrack_list("ipv6", child_cpu_s) != 0) {
      state.SkipWithError("conntrack -L failed");
      break;
    }
  }
  // The parent's CPU time says nothing here: report the children's.
  state.counters["child_cpu_ms"] =
      benchmark::Counter(child_cpu_s * 1000.0, benchmark::Counter::kAvgIterations);
  state.counters["entries/s"] = benchmark::Counter(static_cast<double>(g_entries),
                                                   benchmark::Counter::kIsIterationInvariantRate);
}

// Registered statically (benchmark's registry owns them); they run from main() after the setup.
BENCHMARK(BM_a_floor)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_b_reader)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_b2_reader_per_family)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_c_conntrack_cli)->Unit(benchmark::kMillisecond)->UseRealTime();

// Keeps every iteration run's wall and CPU time per iteration (ms) by benchmark name.
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
  // Median over repetitions (one value without --benchmark_repetitions); 0 if it did not run.
  [[nodiscard]] std::pair<double, double> median(const std::string& benchmark) const {
    const auto mid = [](std::vector<double> v) {
      std::sort(v.begin(), v.end());
      return v[v.size() / 2];
    };
    for (const auto& [name, t] : times) {
      if (name.rfind(benchmark + "/", 0) == 0) return {mid(t.real), mid(t.cpu)};
    }
    return {0, 0};
  }
  std::map<std::string, Times> times;
};

}  // namespace

int main(int argc, char** argv) {
  // Our own flag first: --entries=N.
  std::vector<char*> rest;
  rest.reserve(static_cast<size_t>(argc));
  for (int i = 0; i < argc; ++i) {
    if (std::strncmp(argv[i], "--entries=", 10) == 0) {
      g_entries = std::stoul(argv[i] + 10);
    } else {
      rest.push_back(argv[i]);
    }
  }
  int rest_argc = static_cast<int>(rest.size());
  benchmark::Initialize(&rest_argc, rest.data());
  if (benchmark::ReportUnrecognizedArguments(rest_argc, rest.data())) return 1;

  if (unshare(CLONE_NEWNET) != 0) die("unshare(CLONE_NEWNET) (needs root)");
  const uint64_t max = read_proc("/proc/sys/net/netfilter/nf_conntrack_max");
  if (g_entries > max) {
    std::fprintf(stderr,
                 "conntrack_dump_bench: --entries=%zu exceeds nf_conntrack_max=%llu (raise it in "
                 "the root namespace: sysctl -w net.netfilter.nf_conntrack_max=...)\n",
                 g_entries, static_cast<unsigned long long>(max));
    return 1;
  }
  write_proc("/proc/sys/net/netfilter/nf_conntrack_acct", "1");
  const auto t0 = std::chrono::steady_clock::now();
  insert_entries(g_entries);
  const double insert_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const uint64_t count = read_proc("/proc/sys/net/netfilter/nf_conntrack_count");
  std::printf("inserted %zu entries in %.2f s (%.0f entries/s); nf_conntrack_count=%llu\n",
              g_entries, insert_s, static_cast<double>(g_entries) / insert_s,
              static_cast<unsigned long long>(count));
  if (count != g_entries) {
    std::fprintf(stderr, "conntrack_dump_bench: table holds %llu entries, expected %zu\n",
                 static_cast<unsigned long long>(count), g_entries);
    return 1;
  }

  Collector collector;
  benchmark::RunSpecifiedBenchmarks(&collector);
  benchmark::Shutdown();

  const auto [a, a_cpu] = collector.median("BM_a_floor");
  const auto [b, b_cpu] = collector.median("BM_b_reader");
  const auto [b2, b2_cpu] = collector.median("BM_b2_reader_per_family");
  const auto [c, c_cpu] = collector.median("BM_c_conntrack_cli");
  if (a <= 0 || b <= 0 || c <= 0) {
    std::fprintf(stderr, "conntrack_dump_bench: a benchmark did not run\n");
    return 1;
  }
  const auto rate = [](double ms) { return static_cast<double>(g_entries) / (ms / 1000.0); };
  std::printf(
      "\n%zu entries (half IPv6); median per full read, wall clock and CPU (the reader's\n"
      "thread incl. kernel time in recvmsg; for conntrack, the child processes):\n",
      g_entries);
  const auto row = [&](const char* what, double wall, double cpu) {
    std::printf("  %-31s %7.1f ms %9.0f entries/s | cpu %7.1f ms %9.0f entries/s\n", what, wall,
                rate(wall), cpu, rate(cpu));
  };
  row("(a) floor, bare libmnl recv", a, a_cpu);
  row("(b) egressd reader", b, b_cpu);
  if (b2 > 0) row("    egressd, one dump per family", b2, b2_cpu);
  row("(c) conntrack -L (v4 + v6)", c, c_cpu);
  std::printf(
      "  wall: b/a = %.3f  c/b = %.2f | cpu: b/a = %.3f  c/b = %.2f"
      "  (targets: b/a <= 1.15, c/b >= 2)\n",
      b / a, c / b, b_cpu / a_cpu, c_cpu / b_cpu);
  return 0;
}
