// The simulated cluster: every address of the test topology and the Kubernetes objects behind
// it. One table feeds the namespaces (topology.cpp), the agent's inventory file (inventory_json)
// and the expected labels (expectations.cpp), so they cannot drift apart.
// tests/integration/README.md draws the topology.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace egressd::testing::cluster {

inline constexpr std::string_view kAgentNode = "node-1";  // the node the agent runs on
inline constexpr std::string_view kRemoteNode = "node-2";
inline constexpr std::string_view kAgentZone = "zone-a";
inline constexpr std::string_view kRemoteZone = "zone-b";
inline constexpr std::string_view kRegion = "region-1";

struct PodInfo {
  std::string_view name;
  std::string_view kube_namespace;
  std::string_view node;
  std::string_view ip4;
  std::string_view ip6;
};

inline constexpr PodInfo kPodA{"pod-a", "team-a", kAgentNode, "10.244.1.10", "fd00:244:1::10"};
inline constexpr PodInfo kPodB{"pod-b", "team-b", kAgentNode, "10.244.1.11", "fd00:244:1::11"};
// Hosted by the remote node's namespace (addresses on its loopback).
inline constexpr PodInfo kPodR{"pod-r", "team-r", kRemoteNode, "10.244.2.10", "fd00:244:2::10"};

// Node addresses on the node <-> remote link (the nodes' InternalIPs).
inline constexpr std::string_view kNode1Ip4 = "192.168.50.10";
inline constexpr std::string_view kNode1Ip6 = "fd00:50::10";
inline constexpr std::string_view kNode2Ip4 = "192.168.50.20";
inline constexpr std::string_view kNode2Ip6 = "fd00:50::20";

// Uplink of the agent's node towards the "internet": the masquerade (SNAT) address.
inline constexpr std::string_view kSnatIp4 = "198.51.100.10";
inline constexpr std::string_view kSnatIp6 = "2001:db8:51::10";
inline constexpr std::string_view kUplinkGw4 = "198.51.100.1";
inline constexpr std::string_view kUplinkGw6 = "2001:db8:51::1";

// An address outside every cluster CIDR, behind the uplink (documentation prefixes, RFC 5737 and
// RFC 3849, so nothing ever leaves the machine even by mistake).
inline constexpr std::string_view kInternetIp4 = "203.0.113.10";
inline constexpr std::string_view kInternetIp6 = "2001:db8:113::10";

// Service VIPs, DNATed by the node: port kServicePort -> backend port kBackendPort.
inline constexpr std::string_view kVipLocal4 = "10.96.0.10";  // backend pod-b (this node)
inline constexpr std::string_view kVipLocal6 = "fd00:96::10";
inline constexpr std::string_view kVipRemote4 = "10.96.0.20";  // backend pod-r (remote node)
inline constexpr std::string_view kVipRemote6 = "fd00:96::20";
inline constexpr uint16_t kServicePort = 80;
inline constexpr uint16_t kBackendPort = 8080;

[[nodiscard]] std::span<const PodInfo> pods();

struct NodeInfo {
  std::string_view name;
  std::string_view zone;
  std::string_view ip4;  // InternalIPs
  std::string_view ip6;
};
[[nodiscard]] std::span<const NodeInfo> nodes();

// Kubernetes identity of an address as the agent should label it.
struct EndpointInfo {
  std::string pod;  // empty for a node address or an outside address
  std::string kube_namespace;
  std::string node;  // empty for an outside address
  std::string zone;
};
// nullopt: the address belongs to no pod and no node (internet, VIP, SNAT address).
[[nodiscard]] std::optional<EndpointInfo> lookup(std::string_view ip);

// A local endpoint of the agent: a pod of node-1 or an address of node-1 (accounting contract).
[[nodiscard]] bool is_local(std::string_view ip);

// The agent's --inventory file: `kubectl get pods,nodes -A -o json` for this cluster.
[[nodiscard]] std::string inventory_json();

}  // namespace egressd::testing::cluster
