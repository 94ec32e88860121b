// The agent against the shared topology (issue 2, "Tests that must exist and pass"): for every
// scenario the exported counters must equal the nftables ground truth to the byte and packet,
// with the right Kubernetes labels, the real peer (never a service VIP) and the pod as local
// endpoint (never the masquerade address). The fixture (agent_fixture.h) checks all series of the
// agent against the truth, not only the scenario's, so any extra or double-counted series fails.
// Every scenario runs once per flow source (--ct-mode netfilter and ebpf) and must hold for each.
#include <chrono>
#include <string>
#include <vector>

#include <netinet/in.h>

#include "agent_fixture.h"
#include "harness/cluster.h"
#include "harness/conntrack.h"
#include "harness/inet.h"
#include "harness/traffic.h"

namespace egressd::testing {
namespace {

using namespace cluster;

std::string s(std::string_view v) {
  return std::string(v);
}

// One connection over several read intervals: the agent must follow its running totals from
// successive dumps while it is open (a checkpoint after every chunk) and end exactly at the
// truth. The entry is left to expire, so the final numbers come from dumps, not from DESTROY.
TEST_P(AgentTest, LongLivedTcpAcrossReadIntervals) {
  const std::vector<Exchange> chunks = {{200000, 10000}, {50000, 150000}, {300000, 5000}};
  TcpServer server(topo().remote(), s(kPodR.ip4), 9000, chunks);
  TcpClient client(topo().pod_a(), s(kPodR.ip4), 9000);
  const double reads_at_open = agent().source_reads();
  for (const auto& chunk : chunks) {
    client.exchange(chunk);
    EXPECT_TRUE(agent_reaches_truth()) << "open connection: the agent did not catch up with "
                                          "the chunk of "
                                       << chunk.up << "/" << chunk.down << " bytes";
  }
  // Each checkpoint needed a read that saw its chunk: the connection spanned several reads.
  EXPECT_GE(agent().source_reads() - reads_at_open, 3.0);
  client.finish();
  EXPECT_EQ(server.wait().error, "");

  const SeriesMap series = expect_agent_matches_truth();
  expect_carries_payload(counters_of(series, kPodA.ip4, kPodR.ip4, "TCP"), chunks);
  EXPECT_EQ(series.size(), 1u) << "one local endpoint, one peer, one protocol";
}

// Flows that open and close between two reads, deleted from conntrack right after their last
// packet: no dump ever sees their final counters, only the DESTROY event carries them.
TEST_P(AgentTest, ShortLivedTcpAndUdpDeletedWithinOneInterval) {
  const auto& node = topo().node();
  std::vector<Exchange> tcp_all;
  std::vector<Exchange> udp_all;
  // A flow is short-lived when the agent counted no read while it ran; one that
  // happened to overlap a read is still counted by the truth and the agent, and is tried again
  // with new ports (a read every second makes two overlaps in a row rare; 20 bound a hang).
  // The counter moves once per read — when a conntrack dump starts, when an eBPF read ends — so
  // a read already under way when the flow started (conntrack) or still under way when it ended
  // (eBPF) goes unseen: the check rules out all but that read's few milliseconds of a 1 s
  // interval. Either way the totals below must be exact; the check only makes it very likely
  // that the flows took the between-reads path this test is about.
  uint16_t next_port = 0;
  for (int i = 0; i < 3; ++i) {
    bool short_lived = false;
    for (int attempt = 0; attempt < 20 && !short_lived; ++attempt, ++next_port) {
      const double reads_before = agent().source_reads();
      const std::vector<Exchange> tcp = {
          {4000u + static_cast<uint32_t>(i) * 1000u, 20000u - static_cast<uint32_t>(i) * 3000u}};
      const auto tcp_port = static_cast<uint16_t>(9100 + next_port);
      const SockAddr c =
          tcp_flow(topo().pod_b(), topo().remote(), kPodR.ip4, tcp_port, kPodR.ip4, tcp_port, tcp);
      const CtTuple tcp_tuple{c.ip(), s(kPodR.ip4), c.port(), tcp_port};
      // TIME_WAIT: the last ACK has passed the node; nothing of the connection is in flight.
      ASSERT_TRUE(conntrack_wait_state(node, tcp_tuple, "TIME_WAIT", 30s));
      conntrack_delete(node, IPPROTO_TCP, tcp_tuple);

      const std::vector<Exchange> udp = {{300u + static_cast<uint32_t>(i), 900u},
                                         {1200u, 100u + static_cast<uint32_t>(i)}};
      const auto udp_port = static_cast<uint16_t>(9300 + next_port);
      const SockAddr u =
          udp_flow(topo().pod_b(), topo().remote(), kPodR.ip4, udp_port, kPodR.ip4, udp_port, udp);
      conntrack_delete(node, IPPROTO_UDP, CtTuple{u.ip(), s(kPodR.ip4), u.port(), udp_port});

      short_lived = agent().source_reads() == reads_before;
      tcp_all.insert(tcp_all.end(), tcp.begin(), tcp.end());
      udp_all.insert(udp_all.end(), udp.begin(), udp.end());
    }
    EXPECT_TRUE(short_lived) << "flow " << i << " overlapped a read in 20 attempts";
  }
  // Every flow is gone from conntrack (what is left is the test's own scrapes on loopback).
  for (const auto& e : conntrack_list(node)) {
    EXPECT_TRUE(is_loopback_ip(e.orig.src)) << "still in conntrack: " << e.line;
  }

  const SeriesMap series = expect_agent_matches_truth();
  expect_carries_payload(counters_of(series, kPodB.ip4, kPodR.ip4, "TCP"), tcp_all);
  expect_carries_payload(counters_of(series, kPodB.ip4, kPodR.ip4, "UDP"), udp_all);
}

// pod-a -> ClusterIP -> pod-b on the same node: the peer is the backend, and the backend pod
// sees the same conversation from its side.
TEST_P(AgentTest, ClusterIpWithLocalBackend) {
  const std::vector<Exchange> v4 = {{50000, 120000}};
  const std::vector<Exchange> v6 = {{7000, 9000}};
  const std::vector<Exchange> udp = {{500, 700}};
  tcp_flow(topo().pod_a(), topo().pod_b(), kPodB.ip4, kBackendPort, kVipLocal4, kServicePort, v4);
  tcp_flow(topo().pod_a(), topo().pod_b(), kPodB.ip6, kBackendPort, kVipLocal6, kServicePort, v6);
  udp_flow(topo().pod_a(), topo().pod_b(), kPodB.ip4, kBackendPort, kVipLocal4, kServicePort, udp);

  const SeriesMap series = expect_agent_matches_truth();
  const SeriesCounters a = counters_of(series, kPodA.ip4, kPodB.ip4, "TCP");
  const SeriesCounters b = counters_of(series, kPodB.ip4, kPodA.ip4, "TCP");
  expect_carries_payload(a, v4);
  EXPECT_EQ(a.tx_bytes, b.rx_bytes);
  EXPECT_EQ(a.rx_packets, b.tx_packets);
  expect_carries_payload(counters_of(series, kPodA.ip6, kPodB.ip6, "TCP"), v6);
  expect_carries_payload(counters_of(series, kPodA.ip4, kPodB.ip4, "UDP"), udp);
  EXPECT_EQ(series.size(), 6u) << "three flows, each seen from both local pods";
}

// pod -> ClusterIP -> pod of another node (another zone), IPv4 and IPv6.
TEST_P(AgentTest, ClusterIpWithRemoteBackend) {
  const std::vector<Exchange> v4 = {{30000, 200000}};
  const std::vector<Exchange> v6 = {{12000, 34000}};
  tcp_flow(topo().pod_b(), topo().remote(), kPodR.ip4, kBackendPort, kVipRemote4, kServicePort, v4);
  tcp_flow(topo().pod_a(), topo().remote(), kPodR.ip6, kBackendPort, kVipRemote6, kServicePort, v6);

  const SeriesMap series = expect_agent_matches_truth();
  expect_carries_payload(counters_of(series, kPodB.ip4, kPodR.ip4, "TCP"), v4);
  expect_carries_payload(counters_of(series, kPodA.ip6, kPodR.ip6, "TCP"), v6);
  EXPECT_EQ(series.size(), 2u);
}

// pod -> internet through the node's masquerade: the local endpoint stays the pod.
TEST_P(AgentTest, InternetThroughSnat) {
  const std::vector<Exchange> https = {{2000, 90000}, {500, 30000}};
  const std::vector<Exchange> https6 = {{3000, 45000}};
  const std::vector<Exchange> dns = {{60, 400}, {70, 1200}};
  tcp_flow(topo().pod_b(), topo().internet(), kInternetIp4, 443, kInternetIp4, 443, https);
  tcp_flow(topo().pod_a(), topo().internet(), kInternetIp6, 443, kInternetIp6, 443, https6);
  udp_flow(topo().pod_b(), topo().internet(), kInternetIp4, 53, kInternetIp4, 53, dns);

  const SeriesMap series = expect_agent_matches_truth();
  expect_carries_payload(counters_of(series, kPodB.ip4, kInternetIp4, "TCP"), https);
  expect_carries_payload(counters_of(series, kPodA.ip6, kInternetIp6, "TCP"), https6);
  expect_carries_payload(counters_of(series, kPodB.ip4, kInternetIp4, "UDP"), dns);
  EXPECT_EQ(series.size(), 3u);
}

// Two pods of this node talking in both directions: each pod's side once, A's tx = B's rx.
TEST_P(AgentTest, SameNodePodToPodBothDirections) {
  const std::vector<Exchange> a_to_b = {{30000, 5000}};
  const std::vector<Exchange> b_to_a = {{8000, 60000}};
  const std::vector<Exchange> udp = {{100, 200}, {1400, 1400}};
  tcp_flow(topo().pod_a(), topo().pod_b(), kPodB.ip4, 7000, kPodB.ip4, 7000, a_to_b);
  tcp_flow(topo().pod_b(), topo().pod_a(), kPodA.ip4, 7001, kPodA.ip4, 7001, b_to_a);
  udp_flow(topo().pod_a(), topo().pod_b(), kPodB.ip6, 7002, kPodB.ip6, 7002, udp);

  const SeriesMap series = expect_agent_matches_truth();
  for (const auto& [a_ip, b_ip, proto] :
       {std::tuple{kPodA.ip4, kPodB.ip4, "TCP"}, std::tuple{kPodA.ip6, kPodB.ip6, "UDP"}}) {
    const SeriesCounters a = counters_of(series, a_ip, b_ip, proto);
    const SeriesCounters b = counters_of(series, b_ip, a_ip, proto);
    EXPECT_EQ(a.tx_bytes, b.rx_bytes) << proto;
    EXPECT_EQ(a.tx_packets, b.rx_packets) << proto;
    EXPECT_EQ(a.rx_bytes, b.tx_bytes) << proto;
    EXPECT_EQ(a.rx_packets, b.tx_packets) << proto;
  }
  // Both TCP connections land on the same pair of series, from each side.
  const SeriesCounters a = counters_of(series, kPodA.ip4, kPodB.ip4, "TCP");
  EXPECT_GE(a.tx_bytes, total_up(a_to_b) + total_down(b_to_a));
  EXPECT_GE(a.rx_bytes, total_down(a_to_b) + total_up(b_to_a));
  EXPECT_EQ(series.size(), 4u);
}

TEST_P(AgentTest, Ipv6PodToRemotePod) {
  const std::vector<Exchange> tcp = {{40000, 80000}};
  const std::vector<Exchange> udp = {{1000, 1000}, {20, 1300}};
  tcp_flow(topo().pod_a(), topo().remote(), kPodR.ip6, 9000, kPodR.ip6, 9000, tcp);
  udp_flow(topo().pod_a(), topo().remote(), kPodR.ip6, 9001, kPodR.ip6, 9001, udp);

  const SeriesMap series = expect_agent_matches_truth();
  expect_carries_payload(counters_of(series, kPodA.ip6, kPodR.ip6, "TCP"), tcp);
  expect_carries_payload(counters_of(series, kPodA.ip6, kPodR.ip6, "UDP"), udp);
  EXPECT_EQ(series.size(), 2u);
}

// Traffic of the node itself is reported under the node (src_pod empty), never dropped.
TEST_P(AgentTest, NodeOriginatedTrafficIsTheNodes) {
  // Writes within one MSS: the node's own TCP is always GSO, and conntrack and the output hook
  // count a larger write as one packet (README.md, "Packet counts").
  const std::vector<Exchange> tcp = {{1000, 50000}, {1200, 30000}};
  const std::vector<Exchange> udp = {{200, 600}};
  tcp_flow(topo().node(), topo().remote(), kPodR.ip4, 9000, kPodR.ip4, 9000, tcp);
  udp_flow(topo().node(), topo().remote(), kPodR.ip6, 9001, kPodR.ip6, 9001, udp);

  const SeriesMap series = expect_agent_matches_truth();
  expect_carries_payload(counters_of(series, kNode1Ip4, kPodR.ip4, "TCP"), tcp);
  expect_carries_payload(counters_of(series, kNode1Ip6, kPodR.ip6, "UDP"), udp);
  EXPECT_EQ(series.size(), 2u);
}

INSTANTIATE_TEST_SUITE_P(Sources, AgentTest, ::testing::ValuesIn(kSources), source_param_name);

}  // namespace
}  // namespace egressd::testing
