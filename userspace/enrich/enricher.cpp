#include "enrich/enricher.h"

#include "dns/scope.h"
#include "egressd/common/ip_class.h"

namespace egressd::enrich {

Enricher::Enricher(const EnrichOptions& options)
    : excluded_(options.exclude_namespaces.begin(), options.exclude_namespaces.end()),
      workload_labels_(options.workload_labels),
      dns_names_(options.dns_names) {}

std::optional<FlowLabels> Enricher::labels(const FlowKey& key,
                                           const kube::ClusterIndex& index) const {
  FlowLabels l;
  l.with_workload = workload_labels_;
  l.with_dns_name = dns_names_ != nullptr;
  l.src_ip = key.local.to_string();
  if (const auto pod = index.pod_by_ip(key.local)) {
    if (excluded_.contains(std::string(pod->namespace_name))) return std::nullopt;
    l.src_pod = pod->name;
    l.src_namespace = pod->namespace_name;
    l.src_node = pod->node_name;
    l.src_zone = pod->zone;
    if (workload_labels_) l.src_workload = pod->workload;
  } else {
    // Not a pod: the node itself (its own traffic and host-network pods).
    l.src_node = index.this_node_name();
    l.src_zone = index.this_zone();
  }

  l.dst_ip = key.peer.to_string();
  if (const auto pod = index.pod_by_ip(key.peer)) {
    l.dst_pod = pod->name;
    l.dst_namespace = pod->namespace_name;
    l.dst_node = pod->node_name;
    l.dst_zone = pod->zone;
    if (workload_labels_) l.dst_workload = pod->workload;
  } else if (const auto node = index.node_by_ip(key.peer)) {
    l.dst_node = node->name;
    l.dst_zone = node->zone;
  } else if (dns_names_ != nullptr) {
    // Outside the cluster: the name the local endpoint's pod (or the node) resolved it from.
    (void)dns_names_->lookup(dns::scope_of(key.local, &index), key.peer, l.dst_dns_name);
  }
  l.dst_ip_type = is_private(key.peer) ? "private" : "public";
  l.cross_zone =
      (!l.src_zone.empty() && !l.dst_zone.empty() && l.src_zone != l.dst_zone) ? "true" : "false";
  l.proto = proto_name(key.proto);
  return l;
}

}  // namespace egressd::enrich
