// ClusterIndex: an immutable snapshot of what enrichment needs to know about the cluster, for one
// agent's node: pod IP -> pod, node IP -> node, node -> zone, and this node's local endpoints.
//
// Both feeds build it through IndexBuilder (index_builder.h): the standalone inventory once, the
// API list+watch client continuously. The layout is compact (docs/kubernetes.md, "Index layout"):
// a pod is a ~90-byte record in a CowVector, shared strings (namespaces, workloads, zones) are
// interned, and the hash tables hold 4-byte record ids. Copying a ClusterIndex shares every
// chunk, so the builder can publish a snapshot per batch of watch events at little cost.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "egressd/common/ip.h"
#include "egressd/local_endpoints.h"
#include "kube/cow_vector.h"
#include "kube/id_table.h"
#include "kube/model.h"

namespace egressd::kube {

// A pod as enrichment sees it; the views point into the ClusterIndex that returned it.
struct PodView {
  std::string_view name;
  std::string_view namespace_name;
  std::string_view node_name;
  std::string_view zone;      // the node's zone ("" if the node or its zone is unknown)
  std::string_view workload;  // workload_of(): "deployment/web", "" without a controller
  std::string_view phase;     // "Running", "Pending", "Unknown" or "" (terminal pods are absent)
};

struct NodeView {
  std::string_view name;
  std::string_view zone;
  std::string_view region;
};

class ClusterIndex {
 public:
  // An index of one inventory: `this_node` is the agent's node name; `extra_node_ips` are
  // addresses of this node learned elsewhere (the interfaces of the agent's network namespace).
  ClusterIndex(const Inventory& inventory, std::string this_node,
               std::vector<IpAddr> extra_node_ips);

  // The pod that owns this IP: not terminal, not host-network. When live pods claim one IP, a
  // Running one wins over others, then the most recently created, then the one indexed first.
  [[nodiscard]] std::optional<PodView> pod_by_ip(const IpAddr& ip) const noexcept;
  [[nodiscard]] std::optional<NodeView> node_by_ip(const IpAddr& ip) const noexcept;
  // Linear in the number of nodes: for start-up checks, not per flow.
  [[nodiscard]] std::optional<NodeView> node_by_name(std::string_view name) const noexcept;
  [[nodiscard]] const std::string& this_node_name() const noexcept { return this_node_; }
  // Zone of this node ("" if unknown).
  [[nodiscard]] std::string_view this_zone() const noexcept;
  // Pods of this node (non-host-network, non-terminal) and this node's addresses.
  [[nodiscard]] std::shared_ptr<const LocalEndpoints> local_endpoints() const { return local_; }
  // IPs claimed by more than one live pod when they were indexed (a stale object during IP reuse).
  [[nodiscard]] size_t ip_conflicts() const noexcept { return ip_conflicts_; }
  [[nodiscard]] size_t pod_count() const noexcept { return pod_count_; }
  [[nodiscard]] size_t node_count() const noexcept { return node_count_; }
  // Bytes of the tables, records and strings (an estimate of heap use, for a self-metric).
  [[nodiscard]] size_t memory_bytes() const noexcept;

 private:
  friend class IndexBuilder;
  ClusterIndex() = default;

  static constexpr uint32_t kNone = UINT32_MAX;
  enum : uint8_t { kPhaseAbsent, kPhasePending, kPhaseRunning, kPhaseOther };

  struct PodRecord {
    std::string name;  // empty: a free slot
    uint32_t namespace_id = kNone;
    uint32_t node_id = kNone;
    uint32_t workload_id = kNone;
    int64_t created = 0;
    uint8_t phase = kPhaseAbsent;
    uint8_t ip_count = 0;
    std::array<IpAddr, 2> ips{};  // the API allows one IP per family (PodIPs validation)
  };
  struct NodeRecord {
    std::string name;  // empty: a free slot
    uint32_t zone_id = kNone;
    uint32_t region_id = kNone;
    uint32_t pod_refs = 0;  // pods naming this node, known or not yet
    bool known = false;     // a Node object exists (not only pods naming it)
    std::vector<IpAddr> addresses;
  };

  [[nodiscard]] std::string_view text(uint32_t id) const noexcept {
    return id == kNone ? std::string_view{} : std::string_view(strings_[id]);
  }
  [[nodiscard]] PodView pod_view(uint32_t id) const noexcept;
  [[nodiscard]] NodeView node_view(uint32_t id) const noexcept;

  CowVector<PodRecord> pods_;
  CowVector<NodeRecord, 8> nodes_;
  CowVector<std::string, 8> strings_;  // interned namespaces, workloads, zones, regions
  // Entries encode which address of the record they index, so that the table can rehash an
  // entry from its id alone: pod id << 1 | ips index, node id << 4 | addresses index.
  IdTable pod_ips_;
  IdTable node_ips_;
  std::string this_node_;
  uint32_t this_node_id_ = kNone;
  std::shared_ptr<const LocalEndpoints> local_ = std::make_shared<const LocalEndpoints>();
  size_t ip_conflicts_ = 0;
  size_t pod_count_ = 0;
  size_t node_count_ = 0;
  size_t name_bytes_ = 0;  // heap bytes of names beyond the small-string buffer
};

}  // namespace egressd::kube
