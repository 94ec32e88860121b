#include "kube/cluster_index.h"

namespace egressd::kube {
namespace {

// Which of two live pods that claim one IP owns it. A Running pod wins over a Pending one: the
// kubelet reports a Pending pod's IP as soon as its sandbox exists, while a Running pod with the
// same IP means the Pending object is stale (or the reverse race is already resolved). Equal
// ranks keep the first pod seen, so a lookup never flips between two answers.
int rank(const Pod& pod) noexcept {
  return pod.phase == "Running" ? 1 : 0;
}

}  // namespace

ClusterIndex::ClusterIndex(Inventory inventory, std::string this_node,
                           std::vector<IpAddr> extra_node_ips)
    : inventory_(std::move(inventory)), this_node_(std::move(this_node)) {
  for (const Node& node : inventory_.nodes) {
    nodes_by_name_.emplace(node.name, &node);  // a duplicate name keeps the first
    for (const IpAddr& ip : node.addresses) nodes_by_ip_.emplace(ip, &node);
  }
  const Node* self = this_node_.empty() ? nullptr : node_by_name(this_node_);
  std::vector<IpAddr> node_ips = std::move(extra_node_ips);
  if (self != nullptr) {
    // Addresses found on this host but not in the Node object (docker0, a second NIC) still
    // name this node as a peer.
    for (const IpAddr& ip : node_ips) nodes_by_ip_.emplace(ip, self);
    node_ips.insert(node_ips.end(), self->addresses.begin(), self->addresses.end());
  }

  std::vector<IpAddr> local_pod_ips;
  for (const Pod& pod : inventory_.pods) {
    // Terminal pods keep status.podIPs but the IP may already belong to a new pod; host-network
    // pods share the node's addresses and are accounted to the node.
    if (pod.is_terminal() || pod.host_network) continue;
    const bool local = !this_node_.empty() && pod.node_name == this_node_;
    for (const IpAddr& ip : pod.ips) {
      const auto [it, inserted] = pods_by_ip_.emplace(ip, &pod);
      if (!inserted) {
        ++ip_conflicts_;
        if (rank(pod) > rank(*it->second)) it->second = &pod;
      }
      if (local) local_pod_ips.push_back(ip);
    }
  }
  local_ = std::make_shared<const LocalEndpoints>(local_pod_ips, node_ips);
}

const Pod* ClusterIndex::pod_by_ip(const IpAddr& ip) const noexcept {
  const auto it = pods_by_ip_.find(ip);
  return it == pods_by_ip_.end() ? nullptr : it->second;
}

const Node* ClusterIndex::node_by_ip(const IpAddr& ip) const noexcept {
  const auto it = nodes_by_ip_.find(ip);
  return it == nodes_by_ip_.end() ? nullptr : it->second;
}

const Node* ClusterIndex::node_by_name(std::string_view name) const noexcept {
  // The map is keyed by std::string without a transparent hash; lookups are rare (per pod, not
  // per record), so one temporary string is fine.
  const auto it = nodes_by_name_.find(std::string(name));
  return it == nodes_by_name_.end() ? nullptr : it->second;
}

const std::string& ClusterIndex::this_zone() const noexcept {
  static const std::string kUnknown;
  const Node* self = node_by_name(this_node_);
  return self != nullptr ? self->zone : kUnknown;
}

}  // namespace egressd::kube
