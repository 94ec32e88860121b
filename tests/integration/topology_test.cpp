// Self-tests of the integration harness, without the agent: the topology routes and translates
// as designed, and the ground truth (nftables per-pair counters) agrees exactly with the kernel's
// own conntrack counters and with the payload the generator sent. The agent scenarios rely on all
// of this; if these fail, agent failures mean nothing.
#include "harness/topology.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/wait.h>

#include "harness/cluster.h"
#include "harness/conntrack.h"
#include "harness/ground_truth.h"
#include "harness/netns.h"
#include "harness/process.h"
#include "harness/traffic.h"

namespace egressd::testing {
namespace {

namespace fs = std::filesystem;
using namespace cluster;

std::string s(std::string_view v) {
  return std::string(v);
}

bool netns_exists(const std::string& name) {
  return fs::exists("/run/netns/" + name);
}

// A pid that belonged to a process of ours that has exited.
// A process id no process can have: above the kernel's pid_max (a pid of an exited child could
// be reused by the time the sweep looks at it).
pid_t dead_pid() {
  std::ifstream in("/proc/sys/kernel/pid_max");
  long pid_max = 0;
  in >> pid_max;
  EXPECT_GT(pid_max, 0) << "cannot read /proc/sys/kernel/pid_max";
  return static_cast<pid_t>(pid_max + 1);
}

class HarnessTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(::geteuid(), 0u) << "integration tests need root"; }
};

TEST_F(HarnessTest, TopologyTeardownRemovesEveryNamespace) {
  std::vector<std::string> names;
  {
    const Topology topo;
    names = {topo.node(), topo.pod_a(), topo.pod_b(), topo.remote(), topo.internet()};
    for (const auto& n : names) {
      EXPECT_TRUE(netns_exists(n)) << n;
    }
  }
  for (const auto& n : names) {
    EXPECT_FALSE(netns_exists(n)) << n << " survived the teardown";
  }
}

TEST_F(HarnessTest, SweepRemovesWhatACrashedRunLeft) {
  const std::string stale = fmt::format("egd{}-crashed", dead_pid());
  ASSERT_TRUE(run({"ip", "netns", "add", stale}).ok());
  const fs::path stale_dir = fmt::format("/tmp/{}-dir", stale);
  fs::create_directories(stale_dir / "data");
  // A daemon the crashed run left inside its namespace must be killed too.
  const fs::path log = fmt::format("/tmp/{}sweep-test.log", run_prefix());
  ChildProcess sleeper = ChildProcess::start({"sleep", "60"}, stale, log);
  fs::remove(log);
  // A namespace of a live run (ours) is left alone.
  const NetNs live("live");

  sweep_stale_runs_now();

  EXPECT_FALSE(netns_exists(stale));
  EXPECT_FALSE(fs::exists(stale_dir));
  EXPECT_TRUE(poll_until([&] { return sleeper.exited(); }, 30s));
  EXPECT_EQ(sleeper.status_text(), "signal 9 (SIGKILL)");
  EXPECT_TRUE(netns_exists(live.name()));
  if (netns_exists(stale)) {
    (void)run({"ip", "netns", "del", stale});
  }
}

TEST_F(HarnessTest, OffloadsAreOffOnEveryVeth) {
  const Topology topo;
  for (const auto& end : topo.veth_ends()) {
    const auto on = enabled_offloads(end.netns, end.dev);
    std::string list;
    for (const auto& f : on) {
      list += f + " ";
    }
    EXPECT_TRUE(on.empty()) << end.netns << "/" << end.dev << " still has " << list;
  }
}

TEST_F(HarnessTest, ConntrackAccountingFollowsTheOption) {
  const Topology with(TopologyOptions{.enable_conntrack_acct = true});
  EXPECT_EQ(read_sysctl(with.node(), "net.netfilter.nf_conntrack_acct"), "1");
  const Topology without(TopologyOptions{.enable_conntrack_acct = false});
  EXPECT_EQ(read_sysctl(without.node(), "net.netfilter.nf_conntrack_acct"), "0")
      << "a new namespace must start without accounting, or `egressd init` proves nothing";
}

// Every path of the topology, and what the server at the other end sees as the client address:
// services are DNATed without SNAT, the internet only ever sees the node's uplink address.
class TopologyTraffic : public HarnessTest {
 protected:
  void SetUp() override {
    HarnessTest::SetUp();
    topo_ = std::make_unique<Topology>();
  }

  // One TCP connection; returns the client address the server saw.
  std::string tcp(const std::string& from, const std::string& server_ns,
                  const std::string& server_ip, const std::string& dial_ip, uint16_t dial_port,
                  uint16_t server_port, const std::vector<Exchange>& schedule) {
    TcpServer server(server_ns, server_ip, server_port, schedule);
    tcp_session(from, dial_ip, dial_port, schedule);
    const ServerReport report = server.wait();
    EXPECT_EQ(report.error, "");
    EXPECT_EQ(report.peers.size(), 1u);
    return report.peers.empty() ? "" : report.peers[0];
  }

  std::unique_ptr<Topology> topo_;
};

TEST_F(TopologyTraffic, PathsAndTranslations) {
  const Topology& t = *topo_;
  const std::vector<Exchange> one = {{1000, 500}};
  // Same node, both families.
  EXPECT_EQ(tcp(t.pod_a(), t.pod_b(), s(kPodB.ip4), s(kPodB.ip4), 7000, 7000, one), kPodA.ip4);
  EXPECT_EQ(tcp(t.pod_a(), t.pod_b(), s(kPodB.ip6), s(kPodB.ip6), 7000, 7000, one), kPodA.ip6);
  // Remote pod, both families.
  EXPECT_EQ(tcp(t.pod_a(), t.remote(), s(kPodR.ip4), s(kPodR.ip4), 7001, 7001, one), kPodA.ip4);
  EXPECT_EQ(tcp(t.pod_b(), t.remote(), s(kPodR.ip6), s(kPodR.ip6), 7001, 7001, one), kPodB.ip6);
  // Services: the backend sees the pod itself.
  EXPECT_EQ(tcp(t.pod_a(), t.pod_b(), s(kPodB.ip4), s(kVipLocal4), kServicePort, kBackendPort, one),
            kPodA.ip4);
  EXPECT_EQ(tcp(t.pod_a(), t.pod_b(), s(kPodB.ip6), s(kVipLocal6), kServicePort, kBackendPort, one),
            kPodA.ip6);
  EXPECT_EQ(
      tcp(t.pod_a(), t.remote(), s(kPodR.ip4), s(kVipRemote4), kServicePort, kBackendPort, one),
      kPodA.ip4);
  EXPECT_EQ(
      tcp(t.pod_b(), t.remote(), s(kPodR.ip6), s(kVipRemote6), kServicePort, kBackendPort, one),
      kPodB.ip6);
  // Internet: masqueraded to the uplink address.
  EXPECT_EQ(tcp(t.pod_a(), t.internet(), s(kInternetIp4), s(kInternetIp4), 443, 443, one),
            kSnatIp4);
  EXPECT_EQ(tcp(t.pod_a(), t.internet(), s(kInternetIp6), s(kInternetIp6), 443, 443, one),
            kSnatIp6);
  // The node itself.
  EXPECT_EQ(tcp(t.node(), t.remote(), s(kPodR.ip4), s(kPodR.ip4), 7002, 7002, one), kNode1Ip4);
  EXPECT_EQ(tcp(t.node(), t.remote(), s(kPodR.ip6), s(kPodR.ip6), 7002, 7002, one), kNode1Ip6);
}

// The ground truth and conntrack are two independent views of the same packets: for every pair
// they must agree to the byte and packet, and UDP must match the generator's payload exactly.
TEST_F(TopologyTraffic, GroundTruthEqualsConntrackAndPayload) {
  const Topology& t = *topo_;
  const std::vector<Exchange> chunks = {{100000, 20000}, {3000, 70000}};
  tcp(t.pod_a(), t.pod_b(), s(kPodB.ip4), s(kVipLocal4), kServicePort, kBackendPort, chunks);
  tcp(t.pod_b(), t.internet(), s(kInternetIp4), s(kInternetIp4), 443, 443, chunks);
  tcp(t.pod_a(), t.remote(), s(kPodR.ip6), s(kVipRemote6), kServicePort, kBackendPort, chunks);
  // The node's own TCP writes stay within one MSS: locally generated TCP is always GSO (kernel
  // commit 0a6b2a1dc2a2, "tcp: switch to GSO being always on"), so the output hook and conntrack
  // would see a 64 KB write as one packet, not as the wire's segments.
  tcp(t.node(), t.remote(), s(kPodR.ip4), s(kPodR.ip4), 7002, 7002, {{1200, 100000}, {900, 3000}});

  const std::vector<Exchange> datagrams = {{1200, 300}, {10, 1400}, {512, 512}};
  uint64_t up = 0;
  uint64_t down = 0;
  for (const auto& e : datagrams) {
    up += e.up;
    down += e.down;
  }
  for (const auto* ip : {&kPodB.ip4, &kPodB.ip6}) {
    UdpServer server(t.pod_b(), s(*ip), 5353, datagrams);
    UdpClient client(t.pod_a(), s(*ip), 5353);
    for (const auto& e : datagrams) {
      client.exchange(e);
    }
    EXPECT_EQ(server.wait().error, "");
  }

  // Every TCP connection ends in TIME_WAIT (the client closes last): nothing is in flight.
  for (const auto& e : conntrack_list(t.node())) {
    if (e.proto == IPPROTO_TCP) {
      EXPECT_TRUE(conntrack_wait_state(t.node(), e.orig, "TIME_WAIT", 30s)) << e.line;
    }
  }
  const auto entries = conntrack_list(t.node());
  for (const auto& e : entries) {
    EXPECT_TRUE(e.has_counters) << "no accounting on: " << e.line;
  }
  const PairCounts truth = read_truth(t.node());
  const PairCounts from_conntrack = pairs_from_conntrack(entries);
  EXPECT_EQ(truth, from_conntrack) << "nft truth:\n"
                                   << to_string(truth) << "conntrack:\n"
                                   << to_string(from_conntrack);
  ASSERT_EQ(truth.size(), 12u) << to_string(truth);  // 4 TCP and 2 UDP flows, both ways

  // The node's forward hook sees the real peer (post-DNAT) and the pod (pre-SNAT).
  for (const auto& [k, v] : truth) {
    for (const auto vip : {kVipLocal4, kVipLocal6, kVipRemote4, kVipRemote6}) {
      EXPECT_NE(k.dst, vip);
      EXPECT_NE(k.src, vip);
    }
    for (const auto snat : {kSnatIp4, kSnatIp6}) {
      EXPECT_NE(k.src, snat);
      EXPECT_NE(k.dst, snat);
    }
    // Offloads off: no packet is larger than the MTU.
    EXPECT_LE(v.bytes, v.packets * 1500) << k.src << " -> " << k.dst;
  }
  // UDP: one packet per datagram, payload + IP + UDP headers to the byte.
  const PacketCount udp4_up = truth.at({s(kPodA.ip4), s(kPodB.ip4), IPPROTO_UDP});
  EXPECT_EQ(udp4_up, (PacketCount{datagrams.size(), up + datagrams.size() * 28}));
  const PacketCount udp6_down = truth.at({s(kPodB.ip6), s(kPodA.ip6), IPPROTO_UDP});
  EXPECT_EQ(udp6_down, (PacketCount{datagrams.size(), down + datagrams.size() * 48}));
  // TCP: the payload plus 40..80 header bytes per packet (IPv4 + TCP with options).
  const PacketCount tcp_up = truth.at({s(kPodA.ip4), s(kPodB.ip4), IPPROTO_TCP});
  EXPECT_GE(tcp_up.bytes, 103000 + tcp_up.packets * 40);
  EXPECT_LE(tcp_up.bytes, 103000 + tcp_up.packets * 80);
  EXPECT_GE(tcp_up.packets, 103000 / 1448);
}

// Deleting an entry right after the last ACK: the entry is gone and no packet arrives later to
// create a new one (the agent's short-lived scenarios depend on this).
TEST_F(TopologyTraffic, DeletedEntryStaysGone) {
  const Topology& t = *topo_;
  TcpServer server(t.pod_b(), s(kPodB.ip4), 7100, {{5000, 5000}});
  const SockAddr client = tcp_session(t.pod_a(), s(kPodB.ip4), 7100, {{5000, 5000}});
  ASSERT_EQ(server.wait().error, "");
  const CtTuple orig{client.ip(), s(kPodB.ip4), client.port(), 7100};
  ASSERT_TRUE(conntrack_wait_state(t.node(), orig, "TIME_WAIT", 30s));
  const PairCounts before = read_truth(t.node());
  conntrack_delete(t.node(), IPPROTO_TCP, orig);
  EXPECT_TRUE(conntrack_get(t.node(), IPPROTO_TCP, orig).empty());
  // A stray packet would need a new entry: none may appear, and the truth must not move. Wait
  // until neither end can send one: pod B's side is closed (no LAST_ACK socket: the final ACK has
  // arrived) and pod A's is in TIME_WAIT or gone (it only answers what it receives).
  const auto sockets_of_port = [](const std::string& netns, const char* state) {
    return run_checked({"ss", "-Htan", "state", state, "( sport = :7100 or dport = :7100 )"},
                       in_netns_opts(netns));
  };
  EXPECT_TRUE(poll_until(
      [&] {
        for (const char* state : {"established", "fin-wait-1", "fin-wait-2", "close-wait",
                                  "last-ack", "closing", "syn-sent", "syn-recv"}) {
          if (!sockets_of_port(t.pod_a(), state).empty()) return false;
          if (!sockets_of_port(t.pod_b(), state).empty()) return false;
        }
        return true;
      },
      30s))
      << "a socket of the connection can still send";
  EXPECT_TRUE(conntrack_list(t.node()).empty());
  EXPECT_EQ(read_truth(t.node()), before);
}

}  // namespace
}  // namespace egressd::testing
