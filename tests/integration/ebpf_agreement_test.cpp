// The eBPF source against the netfilter source and the ground truth on the same traffic, and
// under connection churn (issue 3, "Tests"):
//  - two agents run side by side in the node namespace, one per source, while every kind of
//    traffic of the scenarios passes (plus ICMP, ICMPv6, a raw IP protocol and loopback); both
//    must equal the nftables ground truth, and each other, to the byte and packet;
//  - thousands of short TCP connections per second over several read intervals: every byte the
//    ground truth counted is in the eBPF agent's series, none twice.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <algorithm>
#include <atomic>
#include <exception>
#include <iterator>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <net/if.h>
#include <netinet/in.h>

#include "agent_fixture.h"
#include "ebpf_support.h"
#include "harness/agent.h"
#include "harness/cluster.h"
#include "harness/expectations.h"
#include "harness/ground_truth.h"
#include "harness/inet.h"
#include "harness/netns.h"
#include "harness/traffic.h"
#include "loader/links.h"
#include "loader/skeleton.h"

#include "flow_variants.skel.h"

namespace egressd::testing {
namespace {

using namespace cluster;

std::string s(std::string_view v) {
  return std::string(v);
}

class EbpfAgainstTruth : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::geteuid(), 0u) << "integration tests need root";
    topo_ = std::make_unique<Topology>(TopologyOptions{.enable_conntrack_acct = false});
    dir_ = std::make_unique<TempDir>("ebpf");
    const RunResult init = run_agent_init(topo_->node());
    ASSERT_TRUE(init.ok()) << init.describe();
  }
  void TearDown() override {
    for (auto* agent : {netfilter_.get(), ebpf_.get()}) {
      if (agent == nullptr) continue;
      EXPECT_TRUE(agent->running()) << agent->status_text();
      if (HasFailure()) std::cerr << "---- agent log ----\n" << tail_lines(agent->log(), 60);
      const auto stop = agent->stop();
      EXPECT_EQ(stop.exit_code, 0) << agent->status_text();
    }
    ebpf_.reset();
    netfilter_.reset();
    dir_.reset();
    topo_.reset();
  }

  std::unique_ptr<Agent> start(const char* mode) {
    return std::make_unique<Agent>(*topo_, dir_->path(),
                                   AgentOptions{.extra_args = {"--ct-mode", mode}});
  }

  // Polls until the agent's non-loopback series equal the ground truth; reports the difference.
  bool matches_truth(Agent& agent, const char* who, std::chrono::milliseconds timeout = 60s) {
    SeriesMap expected;
    SeriesMap actual;
    const bool ok = poll_until(
        [&] {
          expected = expected_series(read_truth(topo_->node()));
          actual = agent_series(agent.metrics());
          return counter_diff(expected, actual).empty();
        },
        timeout, 200ms);
    EXPECT_TRUE(ok) << who << " never equalled the ground truth:\n"
                    << counter_diff(expected, actual) << "agent:\n"
                    << to_string(actual);
    EXPECT_FALSE(expected.empty());
    return ok;
  }

  std::unique_ptr<Topology> topo_;
  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<Agent> netfilter_;
  std::unique_ptr<Agent> ebpf_;
};

// The loopback series of one agent with the given proto (the scrapes of both agents are loopback
// TCP, whose counters move with every scrape; other loopback traffic is comparable).
std::map<std::string, double> loopback_series(const std::vector<Sample>& samples,
                                              const std::string& proto) {
  std::map<std::string, double> out;
  for (const auto& x : samples) {
    if (!x.name.starts_with("egressd_") || !x.labels.contains("src_ip")) continue;
    if (x.labels.at("proto") != proto || !is_loopback_ip(x.labels.at("src_ip"))) continue;
    out[x.name + " " + x.labels.at("src_ip") + " -> " + x.labels.at("dst_ip")] = x.value;
  }
  return out;
}

TEST_F(EbpfAgainstTruth, AgreesWithTheNetfilterSourceByteForByte) {
  netfilter_ = start("netfilter");
  ebpf_ = start("ebpf");
  // The scenarios' traffic, compressed: remote pod, ClusterIP to a local and a remote backend,
  // internet through SNAT, same-node pods, the node itself, IPv4 and IPv6, TCP and UDP.
  tcp_flow(topo_->pod_a(), topo_->remote(), s(kPodR.ip4), 9000, s(kPodR.ip4), 9000,
           {{30000, 80000}});
  tcp_flow(topo_->pod_a(), topo_->pod_b(), s(kPodB.ip4), kBackendPort, s(kVipLocal4), kServicePort,
           {{5000, 7000}});
  udp_flow(topo_->pod_b(), topo_->remote(), s(kPodR.ip6), kBackendPort, s(kVipRemote6),
           kServicePort, {{300, 400}, {20, 1200}});
  tcp_flow(topo_->pod_b(), topo_->internet(), s(kInternetIp4), 443, s(kInternetIp4), 443,
           {{2000, 40000}});
  tcp_flow(topo_->pod_a(), topo_->internet(), s(kInternetIp6), 443, s(kInternetIp6), 443,
           {{1500, 9000}});
  tcp_flow(topo_->pod_b(), topo_->pod_a(), s(kPodA.ip4), 7001, s(kPodA.ip4), 7001, {{8000, 600}});
  udp_flow(topo_->node(), topo_->remote(), s(kPodR.ip4), 9001, s(kPodR.ip4), 9001, {{100, 200}});
  tcp_flow(topo_->node(), topo_->remote(), s(kPodR.ip6), 9002, s(kPodR.ip6), 9002, {{1000, 1200}});
  // ICMP and ICMPv6 echo, and IP protocol 253 (RFC 3692 experimentation) both ways.
  EXPECT_EQ(ping(topo_->pod_a(), s(kPodR.ip4), 3, 56), 3);
  EXPECT_EQ(ping(topo_->pod_b(), s(kPodR.ip6), 2, 100), 2);
  EXPECT_EQ(ping(topo_->pod_a(), s(kPodB.ip4), 2, 32), 2);
  EXPECT_EQ(raw_exchange(topo_->pod_a(), topo_->remote(), s(kPodR.ip4), 253, 2, 40, 60), 2);
  // Loopback of the node: no ground truth counts it, the two sources must still agree.
  udp_flow(topo_->node(), topo_->node(), "::1", 9003, "::1", 9003, {{50, 60}, {70, 80}});

  ASSERT_TRUE(matches_truth(*netfilter_, "the netfilter agent"));
  ASSERT_TRUE(matches_truth(*ebpf_, "the eBPF agent"));
  // Both equal the truth, hence each other; the labels and the loopback UDP flow too.
  const auto nf = agent_series(netfilter_->metrics());
  const auto eb = agent_series(ebpf_->metrics());
  EXPECT_EQ(counter_diff(nf, eb), "");
  EXPECT_EQ(label_diff(nf, eb), "");
  for (const char* proto : {"ICMP", "ICMPv6", "253", "TCP", "UDP"}) {
    EXPECT_TRUE(
        std::any_of(eb.begin(), eb.end(), [&](const auto& kv) { return kv.first.proto == proto; }))
        << "no " << proto << " series: the traffic mix lost a protocol";
  }
  std::map<std::string, double> nf_lo;
  std::map<std::string, double> eb_lo;
  const bool lo_equal = poll_until(
      [&] {
        nf_lo = loopback_series(netfilter_->metrics(), "UDP");
        eb_lo = loopback_series(ebpf_->metrics(), "UDP");
        return !nf_lo.empty() && nf_lo == eb_lo;
      },
      10s, 200ms);
  EXPECT_TRUE(lo_equal) << "loopback UDP differs between the sources";
}

// Short connections at a high rate over several read intervals: pod -> remote pod (IPv4, IPv6)
// and pod -> internet through SNAT. Every connection carries exact payloads; the agent must end
// exactly at the ground truth, which counted every packet of every connection.
TEST_F(EbpfAgainstTruth, ChurnEveryByteAccounted) {
  const auto before = programs_named("egressd_flow");
  ebpf_ = start("ebpf");
  // The programs' cost on real packets (with their conntrack entries), for docs/ebpf.md: the
  // kernel accounts run time while this descriptor is open, and stops when it is closed. The
  // floor program (a per-CPU counter) runs beside them on the same interfaces, as the baseline.
  UniqueFd stats(bpf_enable_stats(BPF_STATS_RUN_TIME));
  auto floor = loader::Skeleton<flow_variants>::open("flow_variants");
  ASSERT_TRUE(floor && floor->load());
  const int floor_fd = bpf_program__fd((*floor)->progs.egressd_bench_floor);
  std::vector<UniqueFd> floor_links = in_netns(topo_->node(), [&] {
    std::vector<UniqueFd> links;
    for (const char* dev : {"veth-a", "veth-b", "eth0", "wan0"}) {
      auto l = loader::tcx_attach(floor_fd, static_cast<int>(if_nametoindex(dev)),
                                  loader::TcxDirection::kEgress);
      if (l) links.push_back(std::move(*l));
    }
    return links;
  });
  EXPECT_EQ(floor_links.size(), 4u);
  // The churn runs until the agent has read its maps 4 more times after every churn completed a
  // connection (so at least 3 reads fall inside it) and every client thread has made 200
  // connections: a condition, not a duration.
  constexpr uint64_t kMinPerThread = 200;
  const auto reads = [&] { return metric_sum(ebpf_->metrics(), "egressd_ebpf_reads_total"); };
  std::atomic<bool> enough{false};
  ChurnResult results[3];
  std::exception_ptr errors[3];
  std::atomic<uint64_t> completed[3]{};
  {
    std::vector<std::jthread> churns;
    churns.emplace_back([&] {
      try {
        results[0] = churn(topo_->pod_a(), topo_->remote(), s(kPodR.ip4), s(kPodR.ip4), 9400, 2,
                           enough, kMinPerThread, 300, 1200, &completed[0]);
      } catch (...) {
        errors[0] = std::current_exception();
      }
    });
    churns.emplace_back([&] {
      try {
        results[1] = churn(topo_->pod_b(), topo_->internet(), s(kInternetIp4), s(kInternetIp4),
                           9401, 2, enough, kMinPerThread, 100, 2000, &completed[1]);
      } catch (...) {
        errors[1] = std::current_exception();
      }
    });
    churns.emplace_back([&] {
      try {
        results[2] = churn(topo_->pod_a(), topo_->remote(), s(kPodR.ip6), s(kPodR.ip6), 9402, 1,
                           enough, kMinPerThread, 500, 500, &completed[2]);
      } catch (...) {
        errors[2] = std::current_exception();
      }
    });
    const bool under_way = poll_until(
        [&] {
          return std::all_of(std::begin(completed), std::end(completed),
                             [](const auto& c) { return c.load() > 0; });
        },
        60s, 10ms);
    EXPECT_TRUE(under_way) << "a churn completed no connection";
    const double reads_before = reads();
    EXPECT_TRUE(under_way && poll_until([&] { return reads() >= reads_before + 4; }, 120s, 100ms))
        << "the agent stopped reading during the churn";
    enough = true;
  }
  for (const auto& e : errors) {
    if (e) std::rethrow_exception(e);
  }
  uint64_t connections = 0;
  for (const auto& r : results) {
    EXPECT_EQ(r.failures, 0u);
    EXPECT_GE(r.connections, kMinPerThread);
    connections += r.connections;
  }
  const double secs = results[0].took.count();
  std::cout << "churn: " << connections << " connections in " << secs << " s ("
            << static_cast<double>(connections) / secs << "/s) over "
            << secs / std::chrono::duration<double>(ebpf_->read_interval()).count()
            << " read intervals\n";
  ASSERT_TRUE(matches_truth(*ebpf_, "the eBPF agent", 60s));
  // Hold: later reads add nothing.
  EXPECT_TRUE(ebpf_->wait_for_reads_published()) << "no later reads: the hold proves nothing";
  EXPECT_EQ(
      counter_diff(expected_series(read_truth(topo_->node())), agent_series(ebpf_->metrics())), "");
  if (stats.valid()) {
    const auto report = [](const char* what, uint32_t id) {
      const auto [runs, ns] = program_run_time(id);
      if (runs == 0) return;
      std::cout << "datapath: " << what << ": " << runs << " packets, "
                << static_cast<double>(ns) / static_cast<double>(runs) << " ns/packet\n";
    };
    bpf_prog_info info{};
    uint32_t len = sizeof(info);
    if (bpf_obj_get_info_by_fd(floor_fd, &info, &len) == 0) report("floor (TCX egress)", info.id);
    for (const uint32_t id : programs_named("egressd_flow")) {
      if (!before.contains(id)) report("egressd flow program", id);
    }
  }
  const auto samples = ebpf_->metrics();
  EXPECT_EQ(metric_value(samples, "egressd_ebpf_lost_packets_total"), 0);
  EXPECT_GT(metric_value(samples, "egressd_ebpf_packets_total", "hook", "tc_egress"), 0);
}

}  // namespace
}  // namespace egressd::testing
