// ClusterIndex over the realistic fixture (tests/fixtures/inventory/cluster.json) and small
// synthetic inventories for the IP-conflict rule. Expected values are read off the fixture by hand.
#include "kube/cluster_index.h"

#include <string>

#include <gtest/gtest.h>

#include "kube/inventory.h"

namespace egressd::kube {
namespace {

const std::string kCluster =
    std::string(EGRESSD_SOURCE_DIR) + "/tests/fixtures/inventory/cluster.json";

IpAddr ip(const char* text) {
  const auto a = IpAddr::parse(text);
  EXPECT_TRUE(a.has_value()) << text;
  return a.value_or(IpAddr{});
}

Inventory cluster() {
  auto inv = load_inventory(kCluster);
  EXPECT_TRUE(inv.has_value()) << inv.error().message();
  return inv.value_or(Inventory{});
}

std::string pod_at(const ClusterIndex& idx, const char* addr) {
  const auto p = idx.pod_by_ip(ip(addr));
  return p ? std::string(p->namespace_name) + "/" + std::string(p->name) : "<none>";
}

std::string node_at(const ClusterIndex& idx, const char* addr) {
  const auto n = idx.node_by_ip(ip(addr));
  return n ? std::string(n->name) : "<none>";
}

TEST(ClusterIndex, PodByIp) {
  const ClusterIndex idx(cluster(), "worker-a", {});
  EXPECT_EQ(pod_at(idx, "10.244.1.3"), "kube-system/coredns-76f75df574-9xw2r");
  EXPECT_EQ(pod_at(idx, "fd00:10:244:1::3"), "kube-system/coredns-76f75df574-9xw2r");
  EXPECT_EQ(pod_at(idx, "10.244.1.7"), "default/frontend-6d4cf56db6-8kxzt");
  EXPECT_EQ(pod_at(idx, "10.244.2.4"), "default/db-0");
  // A Pending pod whose sandbox has an IP already owns it.
  EXPECT_EQ(pod_at(idx, "10.244.1.8"), "default/worker-7c8b9f6d4-hjk2s");
}

TEST(ClusterIndex, ReusedIpBelongsToTheLivePod) {
  const ClusterIndex idx(cluster(), "worker-a", {});
  // backup-... Succeeded with 10.244.2.9; checkout-... Running got it afterwards.
  EXPECT_EQ(pod_at(idx, "10.244.2.9"), "default/checkout-5f7d9c8b6d-2xq9w");
  EXPECT_EQ(pod_at(idx, "fd00:10:244:2::1c"), "default/checkout-5f7d9c8b6d-2xq9w");
  // The Succeeded pod's IPv6 was not reused: nobody owns it now.
  EXPECT_EQ(pod_at(idx, "fd00:10:244:2::9"), "<none>");
  // The Failed pod's addresses are not indexed either.
  EXPECT_EQ(pod_at(idx, "10.244.1.20"), "<none>");
  EXPECT_EQ(idx.ip_conflicts(), 0U);  // terminal pods never conflict
}

TEST(ClusterIndex, HostNetworkPodsAreTheirNode) {
  const ClusterIndex idx(cluster(), "worker-a", {});
  EXPECT_EQ(pod_at(idx, "10.0.1.10"), "<none>");
  EXPECT_EQ(pod_at(idx, "fd00:10:0:2::20"), "<none>");
  EXPECT_EQ(node_at(idx, "10.0.1.10"), "worker-a");
  EXPECT_EQ(node_at(idx, "fd00:10:0:2::20"), "worker-b");
}

TEST(ClusterIndex, NodeByIpAndName) {
  const ClusterIndex idx(cluster(), "worker-a", {});
  EXPECT_EQ(node_at(idx, "fd00:10:0:1::10"), "worker-a");
  EXPECT_EQ(node_at(idx, "198.51.100.10"), "worker-a");
  EXPECT_EQ(node_at(idx, "2001:db8:100::10"), "worker-a");
  EXPECT_EQ(node_at(idx, "10.0.2.20"), "worker-b");
  EXPECT_EQ(node_at(idx, "10.0.1.30"), "worker-c");
  EXPECT_EQ(node_at(idx, "10.244.1.3"), "<none>");
  ASSERT_TRUE(idx.node_by_name("worker-b").has_value());
  EXPECT_EQ(idx.node_by_name("worker-b")->zone, "eu-west-1b");
  EXPECT_FALSE(idx.node_by_name("worker-z").has_value());
}

TEST(ClusterIndex, ThisZone) {
  EXPECT_EQ(ClusterIndex(cluster(), "worker-a", {}).this_zone(), "eu-west-1a");
  EXPECT_EQ(ClusterIndex(cluster(), "worker-b", {}).this_zone(), "eu-west-1b");
  EXPECT_EQ(ClusterIndex(cluster(), "worker-c", {}).this_zone(), "eu-west-1a");  // beta label
  EXPECT_EQ(ClusterIndex(cluster(), "elsewhere", {}).this_zone(), "");
  EXPECT_EQ(ClusterIndex(cluster(), "worker-a", {}).this_node_name(), "worker-a");
}

TEST(ClusterIndex, LocalEndpointsOfWorkerA) {
  const ClusterIndex idx(cluster(), "worker-a", {ip("172.17.0.1")});
  const auto local = idx.local_endpoints();
  ASSERT_NE(local, nullptr);
  for (const char* pod_ip : {"10.244.1.3", "fd00:10:244:1::3", "10.244.1.7", "fd00:10:244:1::7",
                             "10.244.1.8", "fd00:10:244:1::8"}) {
    EXPECT_EQ(local->classify(ip(pod_ip)), EndpointKind::kLocalPod) << pod_ip;
  }
  for (const char* node_ip :
       {"10.0.1.10", "fd00:10:0:1::10", "198.51.100.10", "2001:db8:100::10", "172.17.0.1"}) {
    EXPECT_EQ(local->classify(ip(node_ip)), EndpointKind::kLocalNode) << node_ip;
  }
  // Failed pod on this node, pods and nodes elsewhere.
  for (const char* other : {"10.244.1.20", "10.244.2.9", "10.244.2.4", "10.0.2.20", "10.0.1.30"}) {
    EXPECT_EQ(local->classify(ip(other)), EndpointKind::kOther) << other;
  }
  EXPECT_EQ(local->size(), 11U);
  // An extra address of this node also names it as a peer.
  EXPECT_EQ(node_at(idx, "172.17.0.1"), "worker-a");
}

TEST(ClusterIndex, LocalEndpointsOfWorkerB) {
  const ClusterIndex idx(cluster(), "worker-b", {});
  const auto local = idx.local_endpoints();
  EXPECT_EQ(local->classify(ip("10.244.2.9")), EndpointKind::kLocalPod);
  EXPECT_EQ(local->classify(ip("fd00:10:244:2::1c")), EndpointKind::kLocalPod);
  EXPECT_EQ(local->classify(ip("10.244.2.4")), EndpointKind::kLocalPod);
  EXPECT_EQ(local->classify(ip("fd00:10:244:2::9")), EndpointKind::kOther);  // Succeeded
  EXPECT_EQ(local->classify(ip("10.0.2.20")), EndpointKind::kLocalNode);
  EXPECT_EQ(local->classify(ip("10.244.1.3")), EndpointKind::kOther);
  EXPECT_EQ(local->size(), 5U);
}

TEST(ClusterIndex, UnknownThisNode) {
  // Extra IPs still count as this node's, but no Node object exists to name them.
  const ClusterIndex idx(cluster(), "not-in-inventory", {ip("192.0.2.1")});
  EXPECT_EQ(idx.local_endpoints()->classify(ip("192.0.2.1")), EndpointKind::kLocalNode);
  EXPECT_EQ(idx.local_endpoints()->size(), 1U);
  EXPECT_EQ(node_at(idx, "192.0.2.1"), "<none>");
}

Pod make_pod(std::string name, std::string phase, std::string node, const char* addr) {
  Pod p;
  p.name = std::move(name);
  p.namespace_name = "ns";
  p.phase = std::move(phase);
  p.node_name = std::move(node);
  p.ips = {ip(addr)};
  return p;
}

TEST(ClusterIndex, RunningWinsOverPendingInEitherOrder) {
  for (const bool running_first : {true, false}) {
    Inventory inv;
    Pod running = make_pod("running", "Running", "n1", "10.9.0.1");
    Pod pending = make_pod("pending", "Pending", "n2", "10.9.0.1");
    if (running_first) {
      inv.pods = {running, pending};
    } else {
      inv.pods = {pending, running};
    }
    const ClusterIndex idx(inv, "n1", {});
    EXPECT_EQ(pod_at(idx, "10.9.0.1"), "ns/running") << running_first;
    EXPECT_EQ(idx.ip_conflicts(), 1U);
  }
}

TEST(ClusterIndex, EqualRanksKeepTheFirst) {
  Inventory inv;
  inv.pods = {make_pod("first", "Running", "n1", "10.9.0.2"),
              make_pod("second", "Running", "n1", "10.9.0.2"),
              make_pod("unknown-phase", "", "n1", "10.9.0.3"),
              make_pod("pending", "Pending", "n1", "10.9.0.3")};
  const ClusterIndex idx(inv, "n1", {});
  EXPECT_EQ(pod_at(idx, "10.9.0.2"), "ns/first");
  EXPECT_EQ(pod_at(idx, "10.9.0.3"), "ns/unknown-phase");
  EXPECT_EQ(idx.ip_conflicts(), 2U);
}

TEST(ClusterIndex, EmptyThisNodeClaimsNoUnscheduledPods) {
  Inventory inv;
  inv.pods = {make_pod("unscheduled", "Pending", "", "10.9.0.4")};
  const ClusterIndex idx(inv, "", {});
  EXPECT_EQ(idx.local_endpoints()->size(), 0U);
  EXPECT_EQ(pod_at(idx, "10.9.0.4"), "ns/unscheduled");
}

TEST(ClusterIndex, MovedIndexStillAnswers) {
  ClusterIndex a(cluster(), "worker-a", {});
  ClusterIndex b(std::move(a));
  EXPECT_EQ(pod_at(b, "10.244.1.3"), "kube-system/coredns-76f75df574-9xw2r");
  EXPECT_EQ(node_at(b, "10.0.2.20"), "worker-b");
  EXPECT_EQ(b.this_zone(), "eu-west-1a");
}

}  // namespace
}  // namespace egressd::kube
