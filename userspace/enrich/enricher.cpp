#include "enrich/enricher.h"

#include "egressd/common/ip_class.h"

namespace egressd::enrich {

Enricher::Enricher(const EnrichOptions& options)
    : excluded_(options.exclude_namespaces.begin(), options.exclude_namespaces.end()) {}

std::optional<FlowLabels> Enricher::labels(const FlowKey& key,
                                           const kube::ClusterIndex& index) const {
  FlowLabels l;
  l.src_ip = key.local.to_string();
  if (const kube::Pod* pod = index.pod_by_ip(key.local); pod != nullptr) {
    if (excluded_.contains(pod->namespace_name)) return std::nullopt;
    l.src_pod = pod->name;
    l.src_namespace = pod->namespace_name;
    l.src_node = pod->node_name;
    if (const kube::Node* node = index.node_by_name(pod->node_name); node != nullptr) {
      l.src_zone = node->zone;
    }
  } else {
    // Not a pod: the node itself (its own traffic and host-network pods).
    l.src_node = index.this_node_name();
    l.src_zone = index.this_zone();
  }

  l.dst_ip = key.peer.to_string();
  if (const kube::Pod* pod = index.pod_by_ip(key.peer); pod != nullptr) {
    l.dst_pod = pod->name;
    l.dst_namespace = pod->namespace_name;
    l.dst_node = pod->node_name;
    if (const kube::Node* node = index.node_by_name(pod->node_name); node != nullptr) {
      l.dst_zone = node->zone;
    }
  } else if (const kube::Node* node = index.node_by_ip(key.peer); node != nullptr) {
    l.dst_node = node->name;
    l.dst_zone = node->zone;
  }
  l.dst_ip_type = is_private(key.peer) ? "private" : "public";
  l.cross_zone =
      (!l.src_zone.empty() && !l.dst_zone.empty() && l.src_zone != l.dst_zone) ? "true" : "false";
  l.proto = proto_name(key.proto);
  return l;
}

}  // namespace egressd::enrich
