// Single Pod and Node objects: the unit a watch event carries. Field rules (null, fallbacks,
// owner references, labels) and the error text for each wrong type.
#include "kube/object_json.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace egressd::kube {
namespace {

IpAddr ip(const char* text) {
  const auto a = IpAddr::parse(text);
  EXPECT_TRUE(a.has_value()) << text;
  return a.value_or(IpAddr{});
}

std::string pod_error(std::string_view json) {
  auto pod = parse_pod(json);
  if (pod.has_value()) return "parsed";
  EXPECT_EQ(pod.error().code(), Errc::kParse);
  return pod.error().message();
}

TEST(PodJson, KubectlGetPodDocument) {
  auto pod = parse_pod(R"({
    "apiVersion": "v1", "kind": "Pod",
    "metadata": {"name": "web-7d9c4b5f6-x2x9z", "namespace": "shop", "uid": "1234",
      "labels": {"app": "web", "pod-template-hash": "7d9c4b5f6"},
      "ownerReferences": [{"apiVersion": "apps/v1", "blockOwnerDeletion": true,
        "controller": true, "kind": "ReplicaSet", "name": "web-7d9c4b5f6", "uid": "abcd"}]},
    "spec": {"nodeName": "node-1", "containers": [{"name": "web", "image": "nginx"}]},
    "status": {"phase": "Running", "podIP": "10.1.0.5",
      "podIPs": [{"ip": "10.1.0.5"}, {"ip": "fd00:1::5"}],
      "conditions": [{"lastProbeTime": null, "status": "True", "type": "Ready"}]}})");
  ASSERT_TRUE(pod.has_value()) << pod.error().message();
  EXPECT_EQ(pod->name, "web-7d9c4b5f6-x2x9z");
  EXPECT_EQ(pod->namespace_name, "shop");
  EXPECT_EQ(pod->uid, "1234");
  EXPECT_EQ(pod->node_name, "node-1");
  EXPECT_EQ(pod->phase, "Running");
  EXPECT_FALSE(pod->host_network);
  EXPECT_EQ(pod->ips, (std::vector<IpAddr>{ip("10.1.0.5"), ip("fd00:1::5")}));
  EXPECT_EQ(pod->owner.kind, "ReplicaSet");
  EXPECT_EQ(pod->owner.name, "web-7d9c4b5f6");
  EXPECT_EQ(pod->pod_template_hash, "7d9c4b5f6");
}

TEST(PodJson, PodIpFallbackAndDuplicates) {
  // No podIPs (clusters before dual-stack): podIP.
  auto old = parse_pod(R"({"metadata":{"name":"a"},"status":{"podIP":"10.0.0.1"}})");
  ASSERT_TRUE(old.has_value());
  EXPECT_EQ(old->ips, std::vector<IpAddr>{ip("10.0.0.1")});
  // Empty or null podIPs: podIP too.
  auto empty = parse_pod(R"({"metadata":{"name":"a"},"status":{"podIPs":[],"podIP":"10.0.0.2"}})");
  ASSERT_TRUE(empty.has_value());
  EXPECT_EQ(empty->ips, std::vector<IpAddr>{ip("10.0.0.2")});
  auto null = parse_pod(R"({"metadata":{"name":"a"},"status":{"podIPs":null,"podIP":"::1"}})");
  ASSERT_TRUE(null.has_value());
  EXPECT_EQ(null->ips, std::vector<IpAddr>{ip("::1")});
  // An empty podIP is no IP (a Pending pod before its sandbox exists).
  auto none = parse_pod(R"({"metadata":{"name":"a"},"status":{"podIP":""}})");
  ASSERT_TRUE(none.has_value());
  EXPECT_TRUE(none->ips.empty());
  // The same address twice is kept once.
  auto dup = parse_pod(
      R"({"metadata":{"name":"a"},"status":{"podIPs":[{"ip":"10.0.0.3"},{"ip":"10.0.0.3"}]}})");
  ASSERT_TRUE(dup.has_value());
  EXPECT_EQ(dup->ips, std::vector<IpAddr>{ip("10.0.0.3")});
}

TEST(PodJson, NullMeansAbsent) {
  auto pod = parse_pod(
      R"({"metadata":{"name":"a","namespace":null,"labels":null,"ownerReferences":null},
          "spec":null,"status":{"phase":null}})");
  ASSERT_TRUE(pod.has_value()) << pod.error().message();
  EXPECT_EQ(pod->namespace_name, "default");
  EXPECT_EQ(pod->node_name, "");
  EXPECT_EQ(pod->phase, "");
}

TEST(PodJson, MissingNamespaceIsDefault) {
  auto pod = parse_pod(R"({"metadata":{"name":"a"}})");
  ASSERT_TRUE(pod.has_value());
  EXPECT_EQ(pod->namespace_name, "default");
}

TEST(PodJson, OnlyTheControllerOwnerCounts) {
  auto pod = parse_pod(R"({"metadata":{"name":"a","ownerReferences":[
      {"kind":"ConfigMap","name":"not-me"},
      {"kind":"Node","name":"not-me-either","controller":false},
      {"kind":"Job","name":"nightly-1","controller":true},
      {"kind":"CronJob","name":"second-controller","controller":true}]}})");
  ASSERT_TRUE(pod.has_value()) << pod.error().message();
  EXPECT_EQ(pod->owner.kind, "Job");
  EXPECT_EQ(pod->owner.name, "nightly-1");
  auto orphan = parse_pod(R"({"metadata":{"name":"a","ownerReferences":[]}})");
  ASSERT_TRUE(orphan.has_value());
  EXPECT_EQ(orphan->owner.kind, "");
}

TEST(PodJson, HostNetwork) {
  auto pod = parse_pod(R"({"metadata":{"name":"a"},"spec":{"hostNetwork":true}})");
  ASSERT_TRUE(pod.has_value());
  EXPECT_TRUE(pod->host_network);
}

TEST(PodJson, ErrorsNameTheObjectAndField) {
  EXPECT_EQ(pod_error(R"({"metadata":{"name":""}})"), "object (Pod): metadata.name: missing");
  EXPECT_EQ(pod_error(R"({"metadata":[]})"),
            "object (Pod): metadata: expected an object, got an array");
  EXPECT_EQ(
      pod_error(R"({"metadata":{"name":"a","namespace":"n","labels":{"pod-template-hash":5}}})"),
      "object (Pod n/a): metadata.labels.pod-template-hash: expected a string, got a number");
  EXPECT_EQ(
      pod_error(
          R"({"metadata":{"name":"a","ownerReferences":[{"controller":true,"kind":"Job"}]}})"),
      "object (Pod default/a): metadata.ownerReferences[0].name: missing");
  EXPECT_EQ(pod_error(R"({"metadata":{"name":"a","ownerReferences":[7]}})"),
            "object (Pod default/a): metadata.ownerReferences[0]: expected an object, got a "
            "number");
  EXPECT_EQ(pod_error(R"({"metadata":{"name":"a"},"status":{"podIPs":[{"ip":"10.0.0.1"},{}]}})"),
            "object (Pod default/a): status.podIPs[1].ip: missing");
  EXPECT_EQ(pod_error(R"({"metadata":{"name":"a"},"status":{"podIP":"10.0.0.1/24"}})"),
            "object (Pod default/a): status.podIP: invalid IP address \"10.0.0.1/24\"");
  EXPECT_EQ(pod_error(R"({"metadata":{"name":"a"},"spec":{"nodeName":["n"]}})"),
            "object (Pod default/a): spec.nodeName: expected a string, got an array");
  EXPECT_EQ(pod_error(R"({"metadata":{"name":"a"},"status":{"phase":1.5}})"),
            "object (Pod default/a): status.phase: expected a string, got a number");
  EXPECT_EQ(pod_error("[1,2]"), "object (Pod): expected an object, got an array");
}

TEST(PodJson, UntrustedTextStaysOnOneLine) {
  EXPECT_EQ(pod_error(R"({"metadata":{"name":"a\nb"}})"),
            "object (Pod): metadata.name: not a Kubernetes name: \"a\\x0ab\"");
  EXPECT_EQ(pod_error(R"({"metadata":{"name":"a"},"status":{"podIP":"1.2.3.4\n5"}})"),
            "object (Pod default/a): status.podIP: invalid IP address \"1.2.3.4\\x0a5\"");
}

// Strings Kubernetes would never write — NUL, control characters, newlines, capitals where names
// are lower case — are refused with the field that holds them, not carried into labels and logs.
TEST(PodJson, NamesMustBeKubernetesNames) {
  EXPECT_EQ(pod_error(R"({"metadata":{"name":"a","namespace":"Team_A"}})"),
            "object (Pod): metadata.namespace: not a Kubernetes namespace: \"Team_A\"");
  EXPECT_EQ(pod_error(R"({"metadata":{"name":"a\u0000b"}})"),
            "object (Pod): metadata.name: not a Kubernetes name: \"a\\x00b\"");
  EXPECT_EQ(pod_error(R"({"metadata":{"name":"a"},"spec":{"nodeName":"node\t1"}})"),
            "object (Pod default/a): spec.nodeName: not a Kubernetes node name: \"node\\x091\"");
  EXPECT_EQ(pod_error(R"({"metadata":{"name":"a"},"status":{"podIP":"10.0.0.1\u0000x"}})"),
            "object (Pod default/a): status.podIP: invalid IP address \"10.0.0.1\\x00x\"")
      << "an embedded NUL does not cut the address short";
  EXPECT_EQ(pod_error(R"({"metadata":{"name":"a","ownerReferences":[{"controller":true,)"
                      R"("kind":"Replica Set","name":"web"}]}})"),
            "object (Pod default/a): metadata.ownerReferences[0].kind: not a Kubernetes kind: "
            "\"Replica Set\"");
  EXPECT_TRUE(parse_pod(R"({"metadata":{"name":"web-7d9f.v2","namespace":"team-a"},)"
                        R"("spec":{"nodeName":"ip-10-0-1-5.eu-west-1.compute.internal"}})"))
      << "real names pass";
  // A CronJob's pod: one part of 87 characters (the 63 cap is for labels, not subdomain parts).
  EXPECT_TRUE(parse_pod(R"({"metadata":{"name":"nightly-warehouse-export-to-bigquery-with-)"
                        R"(retention-policy-28937460-5k2x7","ownerReferences":[{"controller":)"
                        R"(true,"kind":"Job","name":"nightly-warehouse-export-to-bigquery-with-)"
                        R"(retention-policy-28937460"}]}})"))
      << "a generated name longer than 63 characters passes";
}

TEST(PodJson, MalformedJson) {
  auto pod = parse_pod(R"({"metadata":{"name":"a"})");
  ASSERT_FALSE(pod.has_value());
  EXPECT_EQ(pod.error().code(), Errc::kParse);
  EXPECT_TRUE(pod.error().message().starts_with("malformed JSON: ")) << pod.error().message();
}

TEST(NodeJson, AddressesZoneRegion) {
  auto node = parse_node(R"({"kind":"Node","metadata":{"name":"n1","labels":{
      "topology.kubernetes.io/zone":"z1","topology.kubernetes.io/region":"r1",
      "failure-domain.beta.kubernetes.io/zone":"old"}},
    "status":{"addresses":[{"type":"Hostname","address":"n1"},
      {"type":"InternalIP","address":"192.168.1.4"},{"type":"InternalDNS","address":"n1.local"},
      {"type":"ExternalIP","address":"2001:db8::4"},{"type":"InternalIP","address":"192.168.1.4"}]}})");
  ASSERT_TRUE(node.has_value()) << node.error().message();
  EXPECT_EQ(node->name, "n1");
  EXPECT_EQ(node->zone, "z1");
  EXPECT_EQ(node->region, "r1");
  EXPECT_EQ(node->addresses, (std::vector<IpAddr>{ip("192.168.1.4"), ip("2001:db8::4")}));
}

TEST(NodeJson, BetaLabelsAreTheFallback) {
  auto node = parse_node(R"({"metadata":{"name":"n1","labels":{
      "topology.kubernetes.io/zone":"",
      "failure-domain.beta.kubernetes.io/zone":"z-old",
      "failure-domain.beta.kubernetes.io/region":"r-old"}}})");
  ASSERT_TRUE(node.has_value()) << node.error().message();
  EXPECT_EQ(node->zone, "z-old");
  EXPECT_EQ(node->region, "r-old");
}

TEST(NodeJson, Errors) {
  auto bad_zone =
      parse_node(R"({"metadata":{"name":"n1","labels":{"topology.kubernetes.io/zone":true}}})");
  ASSERT_FALSE(bad_zone.has_value());
  EXPECT_EQ(bad_zone.error().message(),
            "object (Node n1): metadata.labels[\"topology.kubernetes.io/zone\"]: expected a "
            "string, got a boolean");
  auto no_address =
      parse_node(R"({"metadata":{"name":"n1"},"status":{"addresses":[{"type":"InternalIP"}]}})");
  ASSERT_FALSE(no_address.has_value());
  EXPECT_EQ(no_address.error().message(), "object (Node n1): status.addresses[0].address: missing");
  auto bad_addresses = parse_node(R"({"metadata":{"name":"n1"},"status":{"addresses":{}}})");
  ASSERT_FALSE(bad_addresses.has_value());
  EXPECT_EQ(bad_addresses.error().message(),
            "object (Node n1): status.addresses: expected an array, got an object");
  // A zone with a newline would split the log line that names it, and a metric label.
  auto newline_zone = parse_node(
      R"({"metadata":{"name":"n1","labels":{"topology.kubernetes.io/zone":"eu-1a\ninfo fake"}}})");
  ASSERT_FALSE(newline_zone.has_value());
  EXPECT_EQ(newline_zone.error().message(),
            "object (Node n1): metadata.labels[\"topology.kubernetes.io/zone\"]: not a Kubernetes "
            "label value: \"eu-1a\\x0ainfo fake\"");
  EXPECT_FALSE(parse_node(R"({"metadata":{"name":"Node_1"}})").has_value());
}

// The watch client (issue 7) parses each event line itself and hands the "object" element here.
TEST(ObjectJson, WatchEventObject) {
  const std::string event =
      R"({"type":"MODIFIED","object":{"apiVersion":"v1","kind":"Pod",
          "metadata":{"name":"web-1","namespace":"shop","resourceVersion":"42"},
          "spec":{"nodeName":"node-2"},"status":{"phase":"Running","podIP":"10.2.0.9"}}})";
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_EQ(parser.parse(event).get(doc), simdjson::SUCCESS);
  simdjson::dom::element obj;
  ASSERT_EQ(doc["object"].get(obj), simdjson::SUCCESS);
  auto kind = object_kind(obj, std::nullopt, "watch event");
  ASSERT_TRUE(kind.has_value());
  EXPECT_EQ(*kind, ObjectKind::kPod);
  auto pod = pod_from_json(obj, "watch event");
  ASSERT_TRUE(pod.has_value()) << pod.error().message();
  EXPECT_EQ(pod->node_name, "node-2");
  EXPECT_EQ(pod->ips, std::vector<IpAddr>{ip("10.2.0.9")});
}

TEST(ObjectJson, Kind) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_EQ(parser.parse(std::string(R"({"metadata":{}})")).get(doc), simdjson::SUCCESS);
  auto implied = object_kind(doc, ObjectKind::kNode, "items[0]");
  ASSERT_TRUE(implied.has_value());
  EXPECT_EQ(*implied, ObjectKind::kNode);
  auto none = object_kind(doc, std::nullopt, "items[0]");
  ASSERT_FALSE(none.has_value());
  EXPECT_EQ(none.error().message(), "items[0]: kind: missing");

  ASSERT_EQ(parser.parse(std::string(R"({"kind":"Service"})")).get(doc), simdjson::SUCCESS);
  auto other = object_kind(doc, ObjectKind::kPod, "items[0]");
  ASSERT_TRUE(other.has_value());
  EXPECT_EQ(*other, ObjectKind::kOther);

  ASSERT_EQ(parser.parse(std::string(R"({"kind":3})")).get(doc), simdjson::SUCCESS);
  auto wrong = object_kind(doc, std::nullopt, "items[0]");
  ASSERT_FALSE(wrong.has_value());
  EXPECT_EQ(wrong.error().message(), "items[0]: kind: expected a string, got a number");
}

}  // namespace
}  // namespace egressd::kube
