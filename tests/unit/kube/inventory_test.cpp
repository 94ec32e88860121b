// The inventory file: the realistic `kubectl get pods,nodes -A -o json` fixture, the minimal
// hand-written one, and malformed documents that must give one clear error each.
#include "kube/inventory.h"

#include <algorithm>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace egressd::kube {
namespace {

const std::string kFixtures = std::string(EGRESSD_SOURCE_DIR) + "/tests/fixtures/inventory/";

IpAddr ip(const char* text) {
  const auto a = IpAddr::parse(text);
  EXPECT_TRUE(a.has_value()) << text;
  return a.value_or(IpAddr{});
}

const Pod* find_pod(const Inventory& inv, std::string_view ns, std::string_view name) {
  const auto it = std::find_if(inv.pods.begin(), inv.pods.end(), [&](const Pod& p) {
    return p.namespace_name == ns && p.name == name;
  });
  return it == inv.pods.end() ? nullptr : &*it;
}

const Node* find_node(const Inventory& inv, std::string_view name) {
  const auto it = std::find_if(inv.nodes.begin(), inv.nodes.end(),
                               [&](const Node& n) { return n.name == name; });
  return it == inv.nodes.end() ? nullptr : &*it;
}

class ClusterFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    auto loaded = load_inventory(kFixtures + "cluster.json");
    ASSERT_TRUE(loaded.has_value()) << loaded.error().message();
    inv_ = std::move(*loaded);
  }
  Inventory inv_;
};

TEST_F(ClusterFixture, CountsEveryPodAndNode) {
  EXPECT_EQ(inv_.pods.size(), 10U);
  EXPECT_EQ(inv_.nodes.size(), 3U);
  EXPECT_EQ(inv_.skipped_items, 0U);
}

TEST_F(ClusterFixture, DualStackDeploymentPod) {
  const Pod* p = find_pod(inv_, "kube-system", "coredns-76f75df574-9xw2r");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->uid, "f1e2d3c4-b5a6-4978-8695-a4b3c2d1e0f9");
  EXPECT_EQ(p->node_name, "worker-a");
  EXPECT_EQ(p->phase, "Running");
  EXPECT_FALSE(p->host_network);
  EXPECT_EQ(p->ips, (std::vector<IpAddr>{ip("10.244.1.3"), ip("fd00:10:244:1::3")}));
  EXPECT_EQ(p->owner.kind, "ReplicaSet");
  EXPECT_EQ(p->owner.name, "coredns-76f75df574");
  EXPECT_EQ(p->pod_template_hash, "76f75df574");
  EXPECT_FALSE(p->is_terminal());
}

TEST_F(ClusterFixture, HostNetworkDaemonSetPod) {
  const Pod* p = find_pod(inv_, "kube-system", "kube-proxy-7rlzd");
  ASSERT_NE(p, nullptr);
  EXPECT_TRUE(p->host_network);
  EXPECT_EQ(p->owner.kind, "DaemonSet");
  EXPECT_EQ(p->owner.name, "kube-proxy");
  EXPECT_EQ(p->pod_template_hash, "");
  EXPECT_EQ(p->ips, (std::vector<IpAddr>{ip("10.0.1.10"), ip("fd00:10:0:1::10")}));
}

TEST_F(ClusterFixture, StatefulSetPodSingleStack) {
  const Pod* p = find_pod(inv_, "default", "db-0");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->owner.kind, "StatefulSet");
  EXPECT_EQ(p->owner.name, "db");
  EXPECT_EQ(p->ips, std::vector<IpAddr>{ip("10.244.2.4")});
}

TEST_F(ClusterFixture, TerminalAndPendingPods) {
  const Pod* done = find_pod(inv_, "default", "backup-28547520-x7k2m");
  ASSERT_NE(done, nullptr);
  EXPECT_EQ(done->phase, "Succeeded");
  EXPECT_TRUE(done->is_terminal());
  EXPECT_EQ(done->owner.kind, "Job");
  EXPECT_EQ(done->owner.name, "backup-28547520");
  EXPECT_EQ(done->ips, (std::vector<IpAddr>{ip("10.244.2.9"), ip("fd00:10:244:2::9")}));

  const Pod* failed = find_pod(inv_, "default", "migrate-schema-6tq4r");
  ASSERT_NE(failed, nullptr);
  EXPECT_TRUE(failed->is_terminal());

  const Pod* unscheduled = find_pod(inv_, "default", "frontend-6d4cf56db6-pn4lq");
  ASSERT_NE(unscheduled, nullptr);
  EXPECT_EQ(unscheduled->phase, "Pending");
  EXPECT_EQ(unscheduled->node_name, "");
  EXPECT_TRUE(unscheduled->ips.empty());

  const Pod* pulling = find_pod(inv_, "default", "worker-7c8b9f6d4-hjk2s");
  ASSERT_NE(pulling, nullptr);
  EXPECT_EQ(pulling->phase, "Pending");
  EXPECT_EQ(pulling->ips, (std::vector<IpAddr>{ip("10.244.1.8"), ip("fd00:10:244:1::8")}));
}

TEST_F(ClusterFixture, NodesWithZonesAndIpv6Addresses) {
  const Node* a = find_node(inv_, "worker-a");
  ASSERT_NE(a, nullptr);
  // InternalIP and ExternalIP in document order; InternalDNS and Hostname are names, skipped.
  EXPECT_EQ(a->addresses, (std::vector<IpAddr>{ip("10.0.1.10"), ip("fd00:10:0:1::10"),
                                               ip("198.51.100.10"), ip("2001:db8:100::10")}));
  EXPECT_EQ(a->zone, "eu-west-1a");
  EXPECT_EQ(a->region, "eu-west-1");

  const Node* b = find_node(inv_, "worker-b");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->zone, "eu-west-1b");
  EXPECT_EQ(b->addresses, (std::vector<IpAddr>{ip("10.0.2.20"), ip("fd00:10:0:2::20")}));

  // worker-c carries only the deprecated failure-domain.beta.kubernetes.io labels.
  const Node* c = find_node(inv_, "worker-c");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->zone, "eu-west-1a");
  EXPECT_EQ(c->region, "eu-west-1");
  EXPECT_EQ(c->addresses, std::vector<IpAddr>{ip("10.0.1.30")});
}

TEST(Inventory, MinimalHandWrittenFile) {
  auto inv = load_inventory(kFixtures + "minimal.json");
  ASSERT_TRUE(inv.has_value()) << inv.error().message();
  EXPECT_EQ(inv->pods.size(), 4U);
  EXPECT_EQ(inv->nodes.size(), 2U);
  const Pod* backend = find_pod(*inv, "shop", "backend");
  ASSERT_NE(backend, nullptr);
  EXPECT_EQ(backend->ips, std::vector<IpAddr>{ip("10.200.1.3")});
  EXPECT_EQ(backend->node_name, "node-1");
  const Node* n2 = find_node(*inv, "node-2");
  ASSERT_NE(n2, nullptr);
  EXPECT_EQ(n2->zone, "zone-b");
}

struct MalformedCase {
  const char* file;
  Errc code;
  const char* message;  // after "inventory <path>: "
};

class Malformed : public ::testing::TestWithParam<MalformedCase> {};

TEST_P(Malformed, OneClearError) {
  const auto& c = GetParam();
  const std::string path = kFixtures + "malformed/" + c.file;
  auto inv = load_inventory(path);
  ASSERT_FALSE(inv.has_value()) << c.file;
  EXPECT_EQ(inv.error().code(), c.code) << inv.error().message();
  const std::string msg = inv.error().message();
  EXPECT_EQ(msg.find('\n'), std::string::npos);
  const std::string expected = "inventory " + path + ": " + c.message;
  if (std::string_view(c.message).ends_with(": ")) {
    EXPECT_TRUE(msg.starts_with(expected)) << msg;  // simdjson's own wording follows
  } else {
    EXPECT_EQ(msg, expected);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Documents, Malformed,
    ::testing::Values(
        MalformedCase{"truncated.json", Errc::kParse, "malformed JSON: "},
        MalformedCase{"invalid_utf8.json", Errc::kParse, "malformed JSON: "},
        MalformedCase{"not_a_list.json", Errc::kParse,
                      "document: kind: expected List, PodList or NodeList, got \"Pod\""},
        MalformedCase{"items_not_array.json", Errc::kParse,
                      "document: items: expected an array, got an object"},
        MalformedCase{"item_not_object.json", Errc::kParse,
                      "items[1]: expected an object, got a string"},
        MalformedCase{"item_without_kind.json", Errc::kParse, "items[0]: kind: missing"},
        MalformedCase{"missing_metadata.json", Errc::kParse, "items[1] (Pod): metadata: missing"},
        MalformedCase{"missing_name.json", Errc::kParse, "items[0] (Pod): metadata.name: missing"},
        MalformedCase{"bad_pod_ip.json", Errc::kParse,
                      "items[0] (Pod shop/web): status.podIPs[1].ip: invalid IP address "
                      "\"fd00::zz\""},
        MalformedCase{"bad_node_address.json", Errc::kParse,
                      "items[0] (Node node-1): status.addresses[1].address: invalid IP address "
                      "\"10.0.0.256\""},
        MalformedCase{"wrong_type_host_network.json", Errc::kParse,
                      "items[0] (Pod shop/web): spec.hostNetwork: expected a boolean, got a "
                      "string"},
        MalformedCase{"wrong_type_pod_ips.json", Errc::kParse,
                      "items[0] (Pod shop/web): status.podIPs: expected an array, got a string"},
        MalformedCase{"wrong_type_name.json", Errc::kParse,
                      "items[0] (Node): metadata.name: expected a string, got a number"}),
    [](const auto& test) {
      std::string name = test.param.file;
      name = name.substr(0, name.find('.'));
      return name;
    });

TEST(Inventory, MissingFile) {
  auto inv = load_inventory("/nonexistent/egressd/inventory.json");
  ASSERT_FALSE(inv.has_value());
  EXPECT_EQ(inv.error().code(), Errc::kNotFound);
  EXPECT_EQ(inv.error().message(),
            "inventory /nonexistent/egressd/inventory.json: cannot open file: No such file or "
            "directory");
}

TEST(Inventory, DirectoryIsNotAnInventory) {
  auto inv = load_inventory(kFixtures + "malformed");
  ASSERT_FALSE(inv.has_value());
  EXPECT_EQ(inv.error().code(), Errc::kInvalidArgument);
  EXPECT_EQ(inv.error().message(),
            "inventory " + kFixtures + "malformed: not a regular file (a directory)");
}

TEST(Inventory, EmptyDocument) {
  auto inv = parse_inventory("");
  ASSERT_FALSE(inv.has_value());
  EXPECT_EQ(inv.error().code(), Errc::kParse);
  EXPECT_EQ(inv.error().message(), "malformed JSON: empty document");
}

TEST(Inventory, OtherKindsAreSkippedAndCounted) {
  auto inv = parse_inventory(R"({"apiVersion":"v1","kind":"List","items":[
    {"apiVersion":"v1","kind":"Service","metadata":{"name":"web","namespace":"shop"},
     "spec":{"clusterIP":"10.96.0.10"}},
    {"apiVersion":"v1","kind":"Pod","metadata":{"name":"web-1","namespace":"shop"}},
    {"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cfg"},"data":{"a":"b"}}]})");
  ASSERT_TRUE(inv.has_value()) << inv.error().message();
  EXPECT_EQ(inv->pods.size(), 1U);
  EXPECT_EQ(inv->nodes.size(), 0U);
  EXPECT_EQ(inv->skipped_items, 2U);
}

TEST(Inventory, PodListAndNodeListItemsMayOmitKind) {
  auto pods =
      parse_inventory(R"({"kind":"PodList","items":[{"metadata":{"name":"a","namespace":"x"}}]})");
  ASSERT_TRUE(pods.has_value()) << pods.error().message();
  ASSERT_EQ(pods->pods.size(), 1U);
  EXPECT_EQ(pods->pods[0].name, "a");
  auto nodes = parse_inventory(R"({"kind":"NodeList","items":[{"metadata":{"name":"n"}}]})");
  ASSERT_TRUE(nodes.has_value()) << nodes.error().message();
  ASSERT_EQ(nodes->nodes.size(), 1U);
  EXPECT_EQ(nodes->nodes[0].name, "n");
}

TEST(Inventory, EmptyOrNullItems) {
  for (const char* doc :
       {R"({"kind":"List","items":[]})", R"({"kind":"List","items":null})", R"({"kind":"List"})"}) {
    auto inv = parse_inventory(doc);
    ASSERT_TRUE(inv.has_value()) << doc << ": " << inv.error().message();
    EXPECT_TRUE(inv->pods.empty() && inv->nodes.empty()) << doc;
  }
}

TEST(Inventory, DocumentMustBeAnObjectWithAKind) {
  auto arr = parse_inventory("[]");
  ASSERT_FALSE(arr.has_value());
  EXPECT_EQ(arr.error().message(), "document: expected an object, got an array");
  auto no_kind = parse_inventory(R"({"items":[]})");
  ASSERT_FALSE(no_kind.has_value());
  EXPECT_EQ(no_kind.error().message(),
            "document: kind: expected List, PodList or NodeList, got nothing");
}

}  // namespace
}  // namespace egressd::kube
