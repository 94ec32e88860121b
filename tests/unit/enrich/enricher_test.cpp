#include "enrich/enricher.h"

#include <gtest/gtest.h>

#include "common/inventory_builder.h"

namespace egressd::enrich {
namespace {

using egressd::testing::two_zone_cluster;

FlowKey key(const char* local, const char* peer, uint8_t proto = kProtoTcp) {
  return FlowKey{IpAddr::parse(local).value(), IpAddr::parse(peer).value(), proto};
}

class EnricherTest : public ::testing::Test {
 protected:
  kube::ClusterIndex index{two_zone_cluster(), "node-a", {IpAddr::parse("127.0.0.1").value()}};
  Enricher enricher{EnrichOptions{{"kube-system"}}};
};

TEST_F(EnricherTest, PodToRemotePodInAnotherZone) {
  const auto l = enricher.labels(key("10.244.1.10", "10.244.2.10"), index).value();
  EXPECT_EQ(l.src_ip, "10.244.1.10");
  EXPECT_EQ(l.src_pod, "pod-a");
  EXPECT_EQ(l.src_namespace, "shop");
  EXPECT_EQ(l.src_node, "node-a");
  EXPECT_EQ(l.src_zone, "zone-a");
  EXPECT_EQ(l.dst_ip, "10.244.2.10");
  EXPECT_EQ(l.dst_pod, "pod-r");
  EXPECT_EQ(l.dst_namespace, "shop");
  EXPECT_EQ(l.dst_node, "node-b");
  EXPECT_EQ(l.dst_zone, "zone-b");
  EXPECT_EQ(l.dst_ip_type, "private");
  EXPECT_EQ(l.cross_zone, "true");
  EXPECT_EQ(l.proto, "TCP");
}

TEST_F(EnricherTest, SameZonePeerIsNotCrossZone) {
  const auto l = enricher.labels(key("10.244.1.10", "10.244.1.11", kProtoUdp), index).value();
  EXPECT_EQ(l.dst_pod, "pod-b");
  EXPECT_EQ(l.cross_zone, "false");
  EXPECT_EQ(l.proto, "UDP");
}

TEST_F(EnricherTest, PublicPeerHasNoKubernetesLabels) {
  const auto l = enricher.labels(key("fd00:244:1::10", "2001:db8:113::10", 58), index).value();
  EXPECT_EQ(l.src_pod, "pod-a");
  EXPECT_EQ(l.dst_ip, "2001:db8:113::10");
  EXPECT_EQ(l.dst_pod, "");
  EXPECT_EQ(l.dst_node, "");
  EXPECT_EQ(l.dst_zone, "");
  EXPECT_EQ(l.dst_ip_type, "public");
  EXPECT_EQ(l.cross_zone, "false");  // unknown zone is never "cross"
  EXPECT_EQ(l.proto, "ICMPv6");
}

TEST_F(EnricherTest, PeerNodeAddressNamesTheNode) {
  const auto l = enricher.labels(key("10.244.1.10", "192.168.50.20"), index).value();
  EXPECT_EQ(l.dst_pod, "");
  EXPECT_EQ(l.dst_node, "node-b");
  EXPECT_EQ(l.dst_zone, "zone-b");
  EXPECT_EQ(l.cross_zone, "true");
}

TEST_F(EnricherTest, NodeTrafficIsReportedUnderTheNode) {
  // 192.168.50.10 is node-a's address and a host-network pod's IP: attributed to the node.
  const auto l = enricher.labels(key("192.168.50.10", "10.244.2.10"), index).value();
  EXPECT_EQ(l.src_pod, "");
  EXPECT_EQ(l.src_namespace, "");
  EXPECT_EQ(l.src_node, "node-a");
  EXPECT_EQ(l.src_zone, "zone-a");
  EXPECT_EQ(l.dst_pod, "pod-r");
}

TEST_F(EnricherTest, ExcludedNamespaceIsDropped) {
  EXPECT_FALSE(enricher.labels(key("10.244.1.53", "8.8.8.8", kProtoUdp), index).has_value());
  // As a peer, an excluded namespace's pod is still named.
  const auto l = enricher.labels(key("10.244.1.10", "10.244.1.53", kProtoUdp), index).value();
  EXPECT_EQ(l.dst_pod, "coredns");
}

TEST(ProtoName, MatchesCastaiEgressd) {
  EXPECT_EQ(proto_name(0), "ANY");
  EXPECT_EQ(proto_name(1), "ICMP");
  EXPECT_EQ(proto_name(6), "TCP");
  EXPECT_EQ(proto_name(17), "UDP");
  EXPECT_EQ(proto_name(58), "ICMPv6");
  EXPECT_EQ(proto_name(132), "132");
}

}  // namespace
}  // namespace egressd::enrich
