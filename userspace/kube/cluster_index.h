// ClusterIndex: immutable lookup tables built from an Inventory, for one agent's node:
// pod IP -> pod, node IP -> node, node name -> node (zone), and this node's local endpoints.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "egressd/common/ip.h"
#include "egressd/local_endpoints.h"
#include "kube/model.h"

namespace egressd::kube {

class ClusterIndex {
 public:
  // `this_node` is the agent's node name; `extra_node_ips` are addresses of this node learned
  // elsewhere (the interfaces of the agent's network namespace) and are treated as node addresses.
  ClusterIndex(Inventory inventory, std::string this_node, std::vector<IpAddr> extra_node_ips);
  // The maps point into inventory_: a copy would point into the original. Moving is safe (a
  // moved std::vector keeps its buffer), but the index is meant to be shared as a
  // shared_ptr<const ClusterIndex> and replaced whole.
  ClusterIndex(const ClusterIndex&) = delete;
  ClusterIndex& operator=(const ClusterIndex&) = delete;
  ClusterIndex(ClusterIndex&&) = default;
  ClusterIndex& operator=(ClusterIndex&&) = default;

  // A pod that owns this IP: not terminal, not host-network. When two pods claim one IP, the
  // running one wins over a pending one (IP reuse).
  [[nodiscard]] const Pod* pod_by_ip(const IpAddr& ip) const noexcept;
  [[nodiscard]] const Node* node_by_ip(const IpAddr& ip) const noexcept;
  [[nodiscard]] const Node* node_by_name(std::string_view name) const noexcept;
  [[nodiscard]] const std::string& this_node_name() const noexcept { return this_node_; }
  // Zone of this node ("" if unknown).
  [[nodiscard]] const std::string& this_zone() const noexcept;
  // Pods of this node (non-host-network, non-terminal) and this node's addresses.
  [[nodiscard]] std::shared_ptr<const LocalEndpoints> local_endpoints() const { return local_; }
  [[nodiscard]] const Inventory& inventory() const noexcept { return inventory_; }
  // IPs claimed by more than one live pod (a stale object during IP reuse); each is resolved by
  // the rule above and counted here so the agent can export it.
  [[nodiscard]] size_t ip_conflicts() const noexcept { return ip_conflicts_; }

 private:
  Inventory inventory_;
  std::string this_node_;
  std::unordered_map<IpAddr, const Pod*, IpAddrHash> pods_by_ip_;
  std::unordered_map<IpAddr, const Node*, IpAddrHash> nodes_by_ip_;
  std::unordered_map<std::string, const Node*> nodes_by_name_;
  std::shared_ptr<const LocalEndpoints> local_;
  size_t ip_conflicts_ = 0;
};

}  // namespace egressd::kube
