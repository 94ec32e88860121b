// The eBPF source's life in the node namespace (issue 3): it follows interfaces that come and go
// while it runs (a pod replaced by a new one on a new veth), it leaves nothing behind — no TCX
// program, netfilter hook, qdisc or program — after SIGTERM and after SIGKILL, and `--ct-mode
// auto` falls back to netfilter conntrack with a clear message when BPF is not permitted.
#include <signal.h>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "agent_fixture.h"
#include "ebpf_support.h"
#include "harness/agent.h"
#include "harness/cluster.h"
#include "harness/expectations.h"
#include "harness/ground_truth.h"
#include "harness/netns.h"
#include "harness/traffic.h"

namespace egressd::testing {
namespace {

using namespace cluster;

std::string s(std::string_view v) {
  return std::string(v);
}

// The interfaces of the node namespace that must carry the flow program (not loopback).
const std::vector<std::string> kAttached = {"veth-a", "veth-b", "eth0", "wan0"};

class EbpfLifecycle : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::geteuid(), 0u) << "integration tests need root";
    topo_ = std::make_unique<Topology>(TopologyOptions{.enable_conntrack_acct = false});
    dir_ = std::make_unique<TempDir>("ebpf-life");
    const RunResult init = run_agent_init(topo_->node());
    ASSERT_TRUE(init.ok()) << init.describe();
  }
  void TearDown() override {
    extra_.reset();
    dir_.reset();
    topo_.reset();
  }

  // The ids of the flow programs attached in the node namespace: one TCX program per attached
  // interface, none on loopback.
  std::set<uint32_t> attached_programs() {
    std::set<uint32_t> ids;
    for (const auto& [dev, progs] : tcx_egress_programs(topo_->node())) {
      if (dev == "lo") {
        EXPECT_TRUE(progs.empty()) << "loopback is counted at LOCAL_IN, not on its egress";
      }
      ids.insert(progs.begin(), progs.end());
    }
    return ids;
  }

  // Nothing of an agent is left: its programs are gone from the kernel, no interface of the node
  // has a TCX program, no clsact qdisc was left.
  void expect_nothing_left(const std::set<uint32_t>& programs) {
    const bool gone = poll_until(
        [&] { return std::none_of(programs.begin(), programs.end(), program_exists); }, 30s, 50ms);
    EXPECT_TRUE(gone) << "a flow program outlived the agent";
    for (const auto& [dev, progs] : tcx_egress_programs(topo_->node())) {
      EXPECT_TRUE(progs.empty()) << dev << " still has a TCX program";
    }
    EXPECT_EQ(qdiscs(topo_->node()).find("clsact"), std::string::npos) << qdiscs(topo_->node());
  }

  std::unique_ptr<Topology> topo_;
  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<NetNs> extra_;
};

// A pod is replaced: its veth goes away (the agent detaches) and its IP comes back on a new veth
// from a new namespace (the agent attaches). Its traffic on the new interface is counted exactly;
// SIGTERM then removes everything.
TEST_F(EbpfLifecycle, FollowsInterfacesAndLeavesNothingBehind) {
  const auto before = programs_named("egressd_flow");
  Agent agent(*topo_, dir_->path(), AgentOptions{.extra_args = {"--ct-mode", "ebpf"}});
  const auto tcx = tcx_egress_programs(topo_->node());
  for (const auto& dev : kAttached) {
    ASSERT_TRUE(tcx.contains(dev));
    EXPECT_EQ(tcx.at(dev).size(), 1u) << dev;
  }
  EXPECT_EQ(metric_value(agent.metrics(), "egressd_ebpf_interfaces"), 4);
  EXPECT_EQ(metric_value(agent.metrics(), "egressd_ebpf_mode_info", "attach", "tcx"), 1);
  std::set<uint32_t> ours = attached_programs();
  for (const uint32_t id : programs_named("egressd_flow")) {
    if (!before.contains(id)) ours.insert(id);  // the LOCAL_IN program, hooked, not on TCX
  }
  ASSERT_GE(ours.size(), 2u) << "the TC and the LOCAL_IN programs";

  // pod-a is rescheduled: veth-a (and its peer, pod-a's eth0) disappear...
  run_checked({"ip", "link", "del", "veth-a"}, in_netns_opts(topo_->node()));
  ASSERT_TRUE(poll_until(
      [&] { return metric_value(agent.metrics(), "egressd_ebpf_interfaces") == 3; }, 30s, 50ms))
      << "the agent did not follow RTM_DELLINK";
  // ...and its addresses come back in a new namespace on a new veth.
  extra_ = std::make_unique<NetNs>("pod-c");
  run_checked({"sysctl", "-q", "-w", "net.ipv6.conf.all.accept_dad=0"},
              in_netns_opts(extra_->name()));
  run_checked({"ip", "-batch", "-"},
              in_netns_opts(topo_->node(),
                            fmt::format("link add veth-c type veth peer name eth0 netns {0}\n"
                                        "link set veth-c up\n"
                                        "route add {1}/32 dev veth-c scope link\n",
                                        extra_->name(), kPodA.ip4)));
  run_checked({"sysctl", "-q", "-w", "net.ipv4.conf.veth-c.proxy_arp=1",
               "net.ipv4.neigh.veth-c.proxy_delay=0"},
              in_netns_opts(topo_->node()));
  run_checked({"ip", "-batch", "-"},
              in_netns_opts(extra_->name(), fmt::format("link set lo up\n"
                                                        "addr add {0}/32 dev eth0\n"
                                                        "link set eth0 up\n"
                                                        "route add default via 169.254.1.1 dev "
                                                        "eth0 onlink\n",
                                                        kPodA.ip4)));
  for (const auto& [ns, dev] :
       {std::pair{topo_->node(), "veth-c"}, std::pair{extra_->name(), "eth0"}}) {
    std::vector<std::string> argv = {"ethtool", "-K", dev};
    for (const auto& f : enabled_offloads(ns, dev)) {
      argv.push_back(f);
      argv.emplace_back("off");
    }
    if (argv.size() > 3) run_checked(argv, in_netns_opts(ns));
  }
  ASSERT_TRUE(poll_until(
      [&] {
        // The gauge follows the attachment (the attacher updates it after attaching).
        const auto now = tcx_egress_programs(topo_->node());
        return now.contains("veth-c") && now.at("veth-c").size() == 1 &&
               metric_value(agent.metrics(), "egressd_ebpf_interfaces") == 4;
      },
      30s, 50ms))
      << "the agent did not attach to the new interface";
  EXPECT_GE(metric_value(agent.metrics(), "egressd_ebpf_detach_total"), 1);
  ours.merge(attached_programs());

  tcp_flow(extra_->name(), topo_->remote(), s(kPodR.ip4), 9000, s(kPodR.ip4), 9000,
           {{20000, 30000}});
  SeriesMap expected;
  SeriesMap actual;
  const bool matched = poll_until(
      [&] {
        expected = expected_series(read_truth(topo_->node()));
        actual = agent_series(agent.metrics());
        return counter_diff(expected, actual).empty();
      },
      60s, 100ms);
  EXPECT_TRUE(matched) << counter_diff(expected, actual);
  EXPECT_TRUE(actual.contains(SeriesKey{s(kPodA.ip4), s(kPodR.ip4), "TCP"}));

  const auto stop = agent.stop();
  EXPECT_TRUE(stop.exited_within_grace);
  EXPECT_EQ(stop.exit_code, 0) << agent.status_text();
  expect_nothing_left(ours);
}

// A killed agent cannot clean up: its attachments are BPF links that die with their descriptors.
TEST_F(EbpfLifecycle, SigkillLeavesNothingBehind) {
  const auto before = programs_named("egressd_flow");
  RawAgent agent = start_raw_agent(*topo_, dir_->path(), {}, {"--ct-mode", "ebpf"});
  std::set<uint32_t> ours = attached_programs();
  EXPECT_EQ(ours.size(), 1u) << "one program, the Ethernet one, on the four interfaces";
  for (const uint32_t id : programs_named("egressd_flow")) {
    if (!before.contains(id)) ours.insert(id);
  }
  ASSERT_GE(ours.size(), 2u) << "the TC and the LOCAL_IN programs";
  ASSERT_EQ(::kill(agent.process.pid(), SIGKILL), 0);
  ASSERT_TRUE(poll_until([&] { return agent.process.exited(); }, 30s, 10ms));
  EXPECT_EQ(agent.process.status_text(), "signal 9 (SIGKILL)");
  expect_nothing_left(ours);
}

// Without CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN the agent cannot load programs: `auto` falls back
// to netfilter conntrack and says why; `ebpf` refuses to start with the same reason.
TEST_F(EbpfLifecycle, AutoFallsBackToNetfilterWithoutBpfPermission) {
  const std::vector<std::string> drop = {"setpriv", "--bounding-set", "-bpf,-perfmon,-sys_admin",
                                         "--"};
  RawAgent fallback = start_raw_agent(*topo_, dir_->path(), drop, {"--ct-mode", "auto"});
  const auto samples = fallback.metrics(topo_->node());
  EXPECT_EQ(metric_value(samples, "egressd_source_info", "source", "netfilter"), 1);
  EXPECT_EQ(metric_value(samples, "egressd_source_info", "source", "ebpf"), -1);
  EXPECT_NE(fallback.log().find("the eBPF source cannot run here"), std::string::npos)
      << fallback.log();
  EXPECT_NE(fallback.log().find("permission to load BPF"), std::string::npos);
  tcp_flow(topo_->pod_a(), topo_->remote(), s(kPodR.ip4), 9000, s(kPodR.ip4), 9000, {{500, 900}});
  EXPECT_TRUE(poll_until(
      [&] {
        return counter_diff(expected_series(read_truth(topo_->node())),
                            agent_series(fallback.metrics(topo_->node())))
            .empty();
      },
      60s, 100ms))
      << "the fallback source does not count";
  const auto stop = fallback.process.stop(std::chrono::seconds(5));
  EXPECT_EQ(stop.exit_code, 0);

  RawAgent refused =
      start_raw_agent(*topo_, dir_->path(), drop, {"--ct-mode", "ebpf"}, /*expect_exit=*/true);
  ASSERT_TRUE(refused.process.exited()) << "--ct-mode ebpf must not start without BPF";
  EXPECT_EQ(refused.process.status_text(), "exit 1");
  EXPECT_NE(refused.log().find("permission to load BPF"), std::string::npos) << refused.log();
}

}  // namespace
}  // namespace egressd::testing
