// IndexBuilder: updates, deletes, IP reuse, re-list sweep, and snapshot isolation (a published
// snapshot never changes, whatever the builder does afterwards).
#include "kube/index_builder.h"

#include <gtest/gtest.h>

#include "common/inventory_builder.h"

namespace egressd::kube {
namespace {

using testing::make_node;
using testing::make_pod;

IpAddr ip(const char* t) {
  return IpAddr::parse(t).value();
}

std::string at(const ClusterIndex& idx, const char* addr) {
  const auto p = idx.pod_by_ip(ip(addr));
  return p ? std::string(p->namespace_name) + "/" + std::string(p->name) : "<none>";
}

TEST(IndexBuilder, SnapshotsAreImmutable) {
  IndexBuilder b("n1", {});
  b.upsert_node(make_node("n1", "z1", {"192.168.0.1"}));
  b.upsert_pod(make_pod("ns", "a", "n1", {"10.0.0.1"}));
  const auto first = b.snapshot();
  b.delete_pod("ns", "a");
  b.upsert_pod(make_pod("ns", "b", "n1", {"10.0.0.1"}));
  b.upsert_node(make_node("n1", "z2", {"192.168.0.1"}));
  for (int i = 0; i < 3000; ++i) {  // enough to grow every table and add chunks
    b.upsert_pod(make_pod("bulk", "p" + std::to_string(i), "n2",
                          {"10.1." + std::to_string(i / 250) + "." + std::to_string(i % 250)}));
  }
  const auto second = b.snapshot();
  EXPECT_EQ(at(*first, "10.0.0.1"), "ns/a");
  EXPECT_EQ(first->pod_by_ip(ip("10.0.0.1"))->zone, "z1");
  EXPECT_EQ(first->pod_count(), 1U);
  EXPECT_EQ(first->local_endpoints()->classify(ip("10.0.0.1")), EndpointKind::kLocalPod);
  EXPECT_EQ(at(*second, "10.0.0.1"), "ns/b");
  EXPECT_EQ(second->pod_by_ip(ip("10.0.0.1"))->zone, "z2");
  EXPECT_EQ(second->pod_count(), 3001U);
  EXPECT_EQ(at(*second, "10.1.11.249"), "bulk/p2999");
  EXPECT_EQ(second->pod_by_ip(ip("10.1.11.249"))->node_name, "n2");
  EXPECT_EQ(second->pod_by_ip(ip("10.1.11.249"))->zone, "");  // n2 has no Node object
}

TEST(IndexBuilder, DeletesFreeEverything) {
  IndexBuilder b("n1", {});
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 500; ++i) {
      b.upsert_pod(make_pod("ns" + std::to_string(i % 7), "p" + std::to_string(i), "n1",
                            {"10.2." + std::to_string(i / 200) + "." + std::to_string(i % 200)}));
    }
    for (int i = 0; i < 500; ++i)
      b.delete_pod("ns" + std::to_string(i % 7), "p" + std::to_string(i));
    const auto s = b.snapshot();
    EXPECT_EQ(s->pod_count(), 0U);
    EXPECT_EQ(at(*s, "10.2.0.1"), "<none>");
    EXPECT_EQ(s->local_endpoints()->size(), 0U);
  }
}

TEST(IndexBuilder, LoserTakesOverWhenTheWinnerGoes) {
  IndexBuilder b("n1", {});
  auto pending = make_pod("ns", "pending", "n1", {"10.0.0.5"}, "Pending");
  auto running = make_pod("ns", "running", "n1", {"10.0.0.5"});
  b.upsert_pod(pending);
  b.upsert_pod(running);
  EXPECT_EQ(at(b.current(), "10.0.0.5"), "ns/running");
  b.delete_pod("ns", "running");
  EXPECT_EQ(at(b.current(), "10.0.0.5"), "ns/pending");
  b.delete_pod("ns", "pending");
  EXPECT_EQ(at(b.current(), "10.0.0.5"), "<none>");
}

TEST(IndexBuilder, NewerPodWinsAtEqualRank) {
  IndexBuilder b("n1", {});
  auto old_pod = make_pod("ns", "old", "n1", {"10.0.0.6"});
  old_pod.created = 100;
  auto new_pod = make_pod("ns", "new", "n1", {"10.0.0.6"});
  new_pod.created = 200;
  b.upsert_pod(new_pod);
  b.upsert_pod(old_pod);  // arrives later, but is older
  EXPECT_EQ(at(b.current(), "10.0.0.6"), "ns/new");
}

TEST(IndexBuilder, ResyncSweepsWhatTheListNoLongerHas) {
  IndexBuilder b("n1", {});
  b.upsert_node(make_node("n1", "z1", {"192.168.0.1"}));
  b.upsert_node(make_node("n9", "z9", {"192.168.0.9"}));
  b.upsert_pod(make_pod("ns", "stays", "n1", {"10.0.0.1"}));
  b.upsert_pod(make_pod("ns", "goes", "n1", {"10.0.0.2"}));
  b.begin_resync(IndexBuilder::Kind::kPods);
  b.upsert_pod(make_pod("ns", "stays", "n1", {"10.0.0.1"}));
  b.upsert_pod(make_pod("ns", "new", "n1", {"10.0.0.3"}));
  b.end_resync(IndexBuilder::Kind::kPods);
  b.begin_resync(IndexBuilder::Kind::kNodes);
  b.upsert_node(make_node("n1", "z1", {"192.168.0.1"}));
  b.end_resync(IndexBuilder::Kind::kNodes);
  const auto s = b.snapshot();
  EXPECT_EQ(at(*s, "10.0.0.1"), "ns/stays");
  EXPECT_EQ(at(*s, "10.0.0.2"), "<none>");
  EXPECT_EQ(at(*s, "10.0.0.3"), "ns/new");
  EXPECT_FALSE(s->node_by_ip(ip("192.168.0.9")).has_value());
  EXPECT_EQ(s->node_count(), 1U);
}

TEST(IndexBuilder, UnchangedUpdateDoesNotDirty) {
  IndexBuilder b("n1", {});
  const auto p = make_pod("ns", "a", "n1", {"10.0.0.1"});
  b.upsert_pod(p);
  (void)b.snapshot();
  b.upsert_pod(p);  // a status-only MODIFIED event: nothing enrichment uses changed
  EXPECT_FALSE(b.dirty());
}

TEST(IndexBuilder, HostNetworkAndTerminalPodsAreNotIndexed) {
  IndexBuilder b("n1", {ip("172.17.0.1")});
  b.upsert_node(make_node("n1", "z1", {"192.168.0.1"}));
  b.upsert_pod(make_pod("ns", "hn", "n1", {"192.168.0.1"}, "Running", true));
  b.upsert_pod(make_pod("ns", "done", "n1", {"10.0.0.9"}, "Succeeded"));
  const auto s = b.snapshot();
  EXPECT_EQ(at(*s, "192.168.0.1"), "<none>");
  EXPECT_EQ(at(*s, "10.0.0.9"), "<none>");
  EXPECT_EQ(s->node_by_ip(ip("172.17.0.1"))->name, "n1");
  EXPECT_EQ(s->local_endpoints()->classify(ip("172.17.0.1")), EndpointKind::kLocalNode);
}

}  // namespace
}  // namespace egressd::kube
