#include "kube/cluster_index.h"

#include "kube/index_builder.h"

namespace egressd::kube {

ClusterIndex::ClusterIndex(const Inventory& inventory, std::string this_node,
                           std::vector<IpAddr> extra_node_ips) {
  IndexBuilder builder(std::move(this_node), std::move(extra_node_ips));
  for (const Node& node : inventory.nodes) builder.upsert_node(node);
  for (const Pod& pod : inventory.pods) builder.upsert_pod(pod);
  *this = *builder.snapshot();
}

PodView ClusterIndex::pod_view(uint32_t id) const noexcept {
  static constexpr std::array<std::string_view, 4> kPhases = {"", "Pending", "Running", "Unknown"};
  const PodRecord& p = pods_[id];
  PodView v;
  v.name = p.name;
  v.namespace_name = text(p.namespace_id);
  v.workload = text(p.workload_id);
  v.phase = kPhases[p.phase < kPhases.size() ? p.phase : 3];
  if (p.node_id != kNone) {
    const NodeRecord& n = nodes_[p.node_id];
    v.node_name = n.name;
    v.zone = text(n.zone_id);
  }
  return v;
}

NodeView ClusterIndex::node_view(uint32_t id) const noexcept {
  const NodeRecord& n = nodes_[id];
  return NodeView{n.name, text(n.zone_id), text(n.region_id)};
}

std::optional<PodView> ClusterIndex::pod_by_ip(const IpAddr& ip) const noexcept {
  const uint32_t e = pod_ips_.find(
      IpAddrHash{}(ip), [&](uint32_t entry) { return pods_[entry >> 1].ips[entry & 1] == ip; });
  if (e == IdTable::kEmpty) return std::nullopt;
  return pod_view(e >> 1);
}

std::optional<NodeView> ClusterIndex::node_by_ip(const IpAddr& ip) const noexcept {
  const uint32_t e = node_ips_.find(IpAddrHash{}(ip), [&](uint32_t entry) {
    return nodes_[entry >> 4].addresses[entry & 15] == ip;
  });
  if (e == IdTable::kEmpty) return std::nullopt;
  return node_view(e >> 4);
}

std::optional<NodeView> ClusterIndex::node_by_name(std::string_view name) const noexcept {
  if (name.empty()) return std::nullopt;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    const NodeRecord& n = nodes_[i];
    if (n.known && n.name == name) return node_view(static_cast<uint32_t>(i));
  }
  return std::nullopt;
}

std::string_view ClusterIndex::this_zone() const noexcept {
  if (this_node_id_ == kNone || !nodes_[this_node_id_].known) return {};
  return text(nodes_[this_node_id_].zone_id);
}

size_t ClusterIndex::memory_bytes() const noexcept {
  size_t bytes = pods_.chunk_bytes() + nodes_.chunk_bytes() + strings_.chunk_bytes() +
                 pod_ips_.bytes() + node_ips_.bytes() + name_bytes_;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    bytes += nodes_[i].addresses.capacity() * sizeof(IpAddr);
  }
  return bytes;
}

}  // namespace egressd::kube
