// Fuzzes the Kubernetes object parser: arbitrary bytes as an inventory document (List, PodList,
// NodeList) and as a single Pod or Node (the unit a watch event carries), then builds the cluster
// index from whatever parsed and checks its invariants. Besides crashes and sanitizer reports it
// traps on: an error message spanning lines, or a live pod IP the index cannot find.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "kube/cluster_index.h"
#include "kube/inventory.h"
#include "kube/object_json.h"

namespace {

void check_one_line(const egressd::Error& e) {
  if (e.message().find('\n') != std::string::npos) __builtin_trap();
}

void check_index(egressd::kube::Inventory inv) {
  using egressd::kube::ClusterIndex;
  // Be the first node, so local endpoints are exercised whenever a node exists.
  std::string self = inv.nodes.empty() ? std::string() : inv.nodes.front().name;
  const ClusterIndex idx(std::move(inv), self, {egressd::IpAddr::v4(0x7f000001)});
  const auto local = idx.local_endpoints();
  for (const auto& pod : idx.inventory().pods) {
    for (const auto& ip : pod.ips) {
      const auto* owner = idx.pod_by_ip(ip);
      const bool live = !pod.is_terminal() && !pod.host_network;
      if (live && owner == nullptr) __builtin_trap();
      if (owner != nullptr && (owner->is_terminal() || owner->host_network)) __builtin_trap();
      if (live && !self.empty() && pod.node_name == self &&
          local->classify(ip) != egressd::EndpointKind::kLocalPod) {
        __builtin_trap();
      }
    }
  }
  for (const auto& node : idx.inventory().nodes) {
    if (idx.node_by_name(node.name) == nullptr) __builtin_trap();
    for (const auto& ip : node.addresses) {
      if (idx.node_by_ip(ip) == nullptr) __builtin_trap();
    }
  }
  (void)idx.this_zone();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view json(reinterpret_cast<const char*>(data), size);
  if (auto inv = egressd::kube::parse_inventory(json)) {
    check_index(std::move(*inv));
  } else {
    check_one_line(inv.error());
  }
  if (auto pod = egressd::kube::parse_pod(json); !pod) check_one_line(pod.error());
  if (auto node = egressd::kube::parse_node(json); !node) check_one_line(node.error());
  return 0;
}
