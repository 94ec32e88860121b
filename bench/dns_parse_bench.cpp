// DNS tracer benchmarks (docs/dns.md, "Measured"):
//
// 1. Responses parsed per second on a mix of real responses (the dnsmasq recordings of
//    tests/unit/dns/fixtures: A, AAAA, 3-level CNAME chains to both, 4 and 40 addresses, mixed
//    case), by the project's parser and by c-ares (ares_parse_a_reply / ares_parse_aaaa_reply,
//    Debian's libc-ares-dev) in the same process, with the ratio. Both extract every address with
//    its TTL; ours also attributes each to the question's name through the chain.
// 2. As root: the DNS program's cost per packet under BPF_PROG_TEST_RUN on the chosen hook
//    (cgroup_skb), on the alternative (TC, an Ethernet frame) and a counting floor, for a DNS
//    response and for ordinary traffic (the case that matters: every packet pays it).
//
//   bench/dns_parse_bench [--benchmark_min_time=1] [--repeat=1000000]
#include <ares.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <arpa/nameser.h>
#include <benchmark/benchmark.h>

#include "common/packet_builder.h"
#include "dns/message.h"
#include "loader/libbpf_support.h"
#include "loader/skeleton.h"
#include "unit/dns/dns_test_util.h"

#include "dns_variants.skel.h"

namespace {

using egressd::IpAddr;
using egressd::dns::kTypeA;
using egressd::dns::kTypeAaaa;

struct Sample {
  std::vector<uint8_t> bytes;
  uint16_t qtype;
};

const std::vector<Sample>& mix() {
  static const std::vector<Sample> kMix = [] {
    std::vector<Sample> m;
    for (const auto& [name, type] :
         std::vector<std::pair<const char*, uint16_t>>{{"a_svc", kTypeA},
                                                       {"aaaa_svc", kTypeAaaa},
                                                       {"a_cname_chain3", kTypeA},
                                                       {"aaaa_cname_chain3", kTypeAaaa},
                                                       {"a_multi", kTypeA},
                                                       {"a_mixed_case", kTypeA},
                                                       {"a_big_edns", kTypeA}}) {
      m.push_back({egressd::testing::dns_fixture(name), type});
    }
    return m;
  }();
  return kMix;
}

void BM_egressd_parser(benchmark::State& state) {
  egressd::dns::Parser parser;
  auto r = std::make_unique<egressd::dns::Response>();
  const auto& m = mix();
  size_t addresses = 0;
  for (auto _ : state) {
    for (const auto& s : m) {
      if (parser.parse(s.bytes, *r) != egressd::dns::ParseError::kNone) {
        state.SkipWithError("parse failed");
        return;
      }
      for (const auto& a : r->answers()) addresses += a.ttl != 0 ? 1 : 0;
    }
  }
  benchmark::DoNotOptimize(addresses);
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(m.size()));
}

void BM_c_ares(benchmark::State& state) {
  const auto& m = mix();
  std::array<ares_addrttl, 64> v4{};
  std::array<ares_addr6ttl, 64> v6{};
  size_t addresses = 0;
  for (auto _ : state) {
    for (const auto& s : m) {
      int n = 64;
      const int rc = s.qtype == kTypeA
                         ? ares_parse_a_reply(s.bytes.data(), static_cast<int>(s.bytes.size()),
                                              nullptr, v4.data(), &n)
                         : ares_parse_aaaa_reply(s.bytes.data(), static_cast<int>(s.bytes.size()),
                                                 nullptr, v6.data(), &n);
      if (rc != ARES_SUCCESS) {
        state.SkipWithError("c-ares parse failed");
        return;
      }
      addresses += static_cast<size_t>(n);
    }
  }
  benchmark::DoNotOptimize(addresses);
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(m.size()));
}

BENCHMARK(BM_egressd_parser);
BENCHMARK(BM_c_ares);

// Keeps each benchmark's ns per response for the ratio line.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const auto& r : runs) {
      if (r.error_occurred || r.iterations == 0) continue;
      ns_per_response[r.benchmark_name()] =
          r.GetAdjustedRealTime() / static_cast<double>(mix().size());
    }
  }
  std::map<std::string, double> ns_per_response;
};

// ---- the program's cost per packet (root) ----

uint32_t run_ns(int prog_fd, const std::vector<uint8_t>& frame, uint32_t repeat) {
  auto r = egressd::loader::test_run(prog_fd, frame, repeat);
  return r ? r->duration_ns : 0;
}

void hook_table(uint32_t repeat) {
  if (::geteuid() != 0) {
    std::printf("\n(hook cost per packet: needs root, skipped)\n");
    return;
  }
  auto skel = egressd::loader::Skeleton<dns_variants>::open("dns_variants");
  if (!skel || !skel->load()) {
    std::printf("\nhook cost: cannot load dns_variants\n");
    return;
  }
  // egressd_dns_cgroup is bpf/dns.bpf.c's program (same lib/dns.bpf.h, same hook); the TC
  // variant runs the same logic on an Ethernet frame.
  const IpAddr server = IpAddr::parse("10.96.0.10").value();
  const IpAddr client = IpAddr::parse("10.244.1.10").value();
  const auto response = egressd::testing::PacketBuilder()
                            .ethernet(0x0800)
                            .ipv4(server, client, 17)
                            .udp(53, 41000)
                            .raw(egressd::testing::dns_fixture("a_cname_chain3"))
                            .finish();
  const auto data = egressd::testing::PacketBuilder()
                        .ethernet(0x0800)
                        .ipv4(server, client, 6)
                        .tcp(443, 41000)
                        .payload(1448)
                        .finish();
  const int floor = bpf_program__fd((*skel)->progs.egressd_dns_floor);
  const int tc = bpf_program__fd((*skel)->progs.egressd_dns_tc);
  std::printf("\nDNS program, ns/packet (BPF_PROG_TEST_RUN, %u runs, median of 5)\n", repeat);
  std::printf("%-44s %10s %10s\n", "program", "TCP 1500B", "DNS resp.");
  const auto median = [&](int fd, const std::vector<uint8_t>& f) {
    std::vector<uint32_t> v;
    for (int i = 0; i < 5; ++i) v.push_back(run_ns(fd, f, repeat));
    std::sort(v.begin(), v.end());
    return v[2];
  };
  const uint32_t floor_data = median(floor, data);
  const uint32_t floor_dns = median(floor, response);
  std::printf("%-44s %10u %10u\n", "floor (cgroup_skb, one per-CPU counter)", floor_data,
              floor_dns);
  std::printf("%-44s %10u %10u\n", "TC variant (Ethernet frame)", median(tc, data),
              median(tc, response));
  std::printf("%-44s %10u %10u\n", "cgroup_skb (the tracer's hook)",
              median(bpf_program__fd((*skel)->progs.egressd_dns_cgroup), data),
              median(bpf_program__fd((*skel)->progs.egressd_dns_cgroup), response));
}

}  // namespace

int main(int argc, char** argv) {
  uint32_t repeat = 1'000'000;
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    if (std::strncmp(argv[i], "--repeat=", 9) == 0) {
      repeat = static_cast<uint32_t>(std::strtoul(argv[i] + 9, nullptr, 10));
    } else {
      args.push_back(argv[i]);
    }
  }
  int n = static_cast<int>(args.size());
  ares_library_init(ARES_LIB_INIT_ALL);
  benchmark::Initialize(&n, args.data());
  RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  const auto ours = reporter.ns_per_response.find("BM_egressd_parser");
  const auto cares = reporter.ns_per_response.find("BM_c_ares");
  if (ours != reporter.ns_per_response.end() && cares != reporter.ns_per_response.end()) {
    std::printf(
        "\nmix of %zu real responses: egressd %.1f ns/response (%.2f M/s), c-ares %.1f "
        "ns/response (%.2f M/s): egressd is %.2fx c-ares\n",
        mix().size(), ours->second, 1e3 / ours->second, cares->second, 1e3 / cares->second,
        cares->second / ours->second);
  }
  hook_table(repeat);
  ares_library_cleanup();
  benchmark::Shutdown();
  return 0;
}
