#include "harness/cluster.h"

#include <array>

#include <fmt/format.h>

#include "harness/inet.h"

namespace egressd::testing::cluster {
namespace {

constexpr std::array kPods = {kPodA, kPodB, kPodR};

constexpr std::array kNodes = {NodeInfo{kAgentNode, kAgentZone, kNode1Ip4, kNode1Ip6},
                               NodeInfo{kRemoteNode, kRemoteZone, kNode2Ip4, kNode2Ip6}};

std::string_view zone_of(std::string_view node) {
  for (const auto& n : kNodes) {
    if (n.name == node) {
      return n.zone;
    }
  }
  return {};
}

bool same_ip(std::string_view a, std::string_view b) {
  return canonical_ip(a) == canonical_ip(b);
}

std::string pod_item(const PodInfo& p) {
  return fmt::format(
      R"({{"apiVersion": "v1", "kind": "Pod",
      "metadata": {{"name": "{0}", "namespace": "{1}", "uid": "uid-{0}",
                   "labels": {{"app": "{0}"}}}},
      "spec": {{"nodeName": "{2}", "hostNetwork": false,
               "containers": [{{"name": "main", "image": "registry.example/{0}:1"}}]}},
      "status": {{"phase": "Running", "podIP": "{3}",
                 "podIPs": [{{"ip": "{3}"}}, {{"ip": "{4}"}}]}}}})",
      p.name, p.kube_namespace, p.node, p.ip4, p.ip6);
}

std::string node_item(const NodeInfo& n) {
  return fmt::format(
      R"({{"apiVersion": "v1", "kind": "Node",
      "metadata": {{"name": "{0}", "labels": {{"kubernetes.io/hostname": "{0}",
                   "topology.kubernetes.io/zone": "{1}",
                   "topology.kubernetes.io/region": "{4}"}}}},
      "status": {{"addresses": [{{"type": "InternalIP", "address": "{2}"}},
                               {{"type": "InternalIP", "address": "{3}"}},
                               {{"type": "Hostname", "address": "{0}"}}]}}}})",
      n.name, n.zone, n.ip4, n.ip6, kRegion);
}

}  // namespace

std::span<const PodInfo> pods() {
  return kPods;
}

std::span<const NodeInfo> nodes() {
  return kNodes;
}

std::optional<EndpointInfo> lookup(std::string_view ip) {
  for (const auto& p : kPods) {
    if (same_ip(ip, p.ip4) || same_ip(ip, p.ip6)) {
      return EndpointInfo{std::string(p.name), std::string(p.kube_namespace), std::string(p.node),
                          std::string(zone_of(p.node))};
    }
  }
  for (const auto& n : kNodes) {
    if (same_ip(ip, n.ip4) || same_ip(ip, n.ip6)) {
      return EndpointInfo{"", "", std::string(n.name), std::string(n.zone)};
    }
  }
  return std::nullopt;
}

bool is_local(std::string_view ip) {
  const auto info = lookup(ip);
  return info && info->node == kAgentNode;
}

std::string inventory_json() {
  std::string items;
  for (const auto& p : kPods) {
    items += (items.empty() ? "" : ",\n") + pod_item(p);
  }
  for (const auto& n : kNodes) {
    items += ",\n" + node_item(n);
  }
  return fmt::format(
      R"({{"apiVersion": "v1", "kind": "List", "metadata": {{"resourceVersion": ""}},
"items": [
{}
]}}
)",
      items);
}

}  // namespace egressd::testing::cluster
