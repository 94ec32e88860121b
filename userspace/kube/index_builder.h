// IndexBuilder: the writer side of the cluster index. The API client applies watch events to it
// (upsert/delete), or a re-list (begin_resync/.../end_resync: mark and sweep, so a re-list never
// holds two indices in memory), and publishes immutable ClusterIndex snapshots that share all
// unchanged chunks with the builder (cluster_index.h). One thread at a time: callers serialize.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "kube/cluster_index.h"

namespace egressd::kube {

class IndexBuilder {
 public:
  IndexBuilder(std::string this_node, std::vector<IpAddr> extra_node_ips);

  // Adds or replaces the pod namespace/name. A terminal or host-network pod, or one without an
  // IP, is removed instead: it owns no address (docs/kubernetes.md).
  void upsert_pod(const Pod& pod);
  void delete_pod(std::string_view namespace_name, std::string_view name);
  void upsert_node(const Node& node);
  void delete_node(std::string_view name);

  // A re-list: objects not upserted between begin and end are deleted at end (per kind).
  enum class Kind { kPods, kNodes };
  void begin_resync(Kind kind);
  void end_resync(Kind kind);

  // True if anything changed since the last snapshot().
  [[nodiscard]] bool dirty() const noexcept { return dirty_; }
  // An immutable copy sharing the builder's chunks; rebuilds local endpoints if they changed.
  [[nodiscard]] std::shared_ptr<const ClusterIndex> snapshot();
  // The builder's current state, without copying (tests, benchmarks).
  [[nodiscard]] const ClusterIndex& current() const noexcept { return index_; }

 private:
  using PodRecord = ClusterIndex::PodRecord;
  using NodeRecord = ClusterIndex::NodeRecord;

  uint32_t intern(std::string_view text);
  void release(uint32_t id);
  uint32_t node_ref(std::string_view name);  // +1 pod reference, creating an unknown record
  void node_unref(uint32_t id);
  void free_node_if_unused(uint32_t id);
  [[nodiscard]] uint32_t find_pod(uint32_t namespace_id, std::string_view name) const;
  [[nodiscard]] uint32_t find_pod_by_key(std::string_view namespace_name,
                                         std::string_view name) const;
  void remove_pod(uint32_t id);
  void index_pod_ip(uint32_t id, const IpAddr& ip);
  void unindex_pod_ip(uint32_t id, const IpAddr& ip);
  void index_node_ips(uint32_t id);
  void unindex_node_ips(uint32_t id);
  void rebuild_local_endpoints();
  [[nodiscard]] bool is_local(uint32_t pod_id) const noexcept;
  [[nodiscard]] size_t pod_key_hash(uint32_t id) const noexcept;

  ClusterIndex index_;
  std::vector<IpAddr> extra_node_ips_;
  // Writer-only lookups (not part of snapshots).
  std::unordered_map<std::string, uint32_t> string_ids_;
  std::vector<uint32_t> string_refs_;
  std::vector<uint32_t> free_strings_;
  std::unordered_map<std::string, uint32_t> node_ids_;
  std::vector<uint32_t> free_nodes_;
  std::vector<uint32_t> free_pods_;
  IdTable pod_keys_;  // (namespace, name) -> pod record id
  // Live pods that lost an IP to another claimant; promoted when the winner goes.
  std::unordered_multimap<IpAddr, uint32_t, IpAddrHash> losers_;
  // Mark-and-sweep generation per record, writer-only: an unchanged MODIFIED event (most are
  // status updates egressd ignores) then touches no chunk a snapshot shares.
  std::vector<uint32_t> pod_gen_;
  std::vector<uint32_t> node_gen_;
  uint32_t pod_generation_ = 0;
  uint32_t node_generation_ = 0;
  bool dirty_ = true;
  bool local_dirty_ = true;
};

}  // namespace egressd::kube
