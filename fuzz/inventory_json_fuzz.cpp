// Fuzzes the Kubernetes object parser: arbitrary bytes as an inventory document (List, PodList,
// NodeList) and as a single Pod or Node (the unit a watch event carries), then builds the cluster
// index from whatever parsed and checks its invariants. Besides crashes and sanitizer reports it
// traps on: an error message spanning lines, or a live pod IP the index cannot find.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>

#include "kube/cluster_index.h"
#include "kube/inventory.h"
#include "kube/object_json.h"

namespace {

void check_one_line(const egressd::Error& e) {
  if (e.message().find('\n') != std::string::npos) __builtin_trap();
}

void check_index(const egressd::kube::Inventory& inv) {
  using egressd::kube::ClusterIndex;
  // Be the first node, so local endpoints are exercised whenever a node exists.
  std::string self = inv.nodes.empty() ? std::string() : inv.nodes.front().name;
  const ClusterIndex idx(inv, self, {egressd::IpAddr::v4(0x7f000001)});
  const auto local = idx.local_endpoints();
  // Pods are keyed by namespace/name as in the API: a later duplicate replaces an earlier one, so
  // only the last object of each name must be findable.
  std::map<std::pair<std::string, std::string>, std::size_t> last_of_name;
  for (std::size_t i = 0; i < inv.pods.size(); ++i) {
    last_of_name[{inv.pods[i].namespace_name, inv.pods[i].name}] = i;
  }
  for (std::size_t i = 0; i < inv.pods.size(); ++i) {
    const auto& pod = inv.pods[i];
    if (last_of_name[{pod.namespace_name, pod.name}] != i) continue;
    for (const auto& ip : pod.ips) {
      const auto owner = idx.pod_by_ip(ip);
      const bool live = !pod.is_terminal() && !pod.host_network && !pod.name.empty();
      if (live && !owner) __builtin_trap();
      if (owner && (owner->phase == "Succeeded" || owner->phase == "Failed")) __builtin_trap();
      if (live && !self.empty() && pod.node_name == self &&
          local->classify(ip) != egressd::EndpointKind::kLocalPod &&
          idx.pod_by_ip(ip)->node_name == self) {
        __builtin_trap();
      }
    }
  }
  // Nodes too: a later node of the same name replaces the earlier one, addresses and all.
  std::map<std::string, std::size_t> last_node_of_name;
  for (std::size_t i = 0; i < inv.nodes.size(); ++i) last_node_of_name[inv.nodes[i].name] = i;
  for (std::size_t i = 0; i < inv.nodes.size(); ++i) {
    const auto& node = inv.nodes[i];
    if (!idx.node_by_name(node.name)) __builtin_trap();
    if (last_node_of_name[node.name] != i) continue;
    for (const auto& ip : node.addresses) {
      if (!idx.node_by_ip(ip)) __builtin_trap();
    }
  }
  (void)idx.this_zone();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view json(reinterpret_cast<const char*>(data), size);
  if (auto inv = egressd::kube::parse_inventory(json)) {
    check_index(*inv);
  } else {
    check_one_line(inv.error());
  }
  if (auto pod = egressd::kube::parse_pod(json); !pod) check_one_line(pod.error());
  if (auto node = egressd::kube::parse_node(json); !node) check_one_line(node.error());
  return 0;
}
