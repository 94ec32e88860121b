// Enricher: FlowKey -> FlowLabels with the Kubernetes context of the cluster index
// (docs/accounting.md, "Enrichment").
#pragma once

#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "dns/name_cache.h"
#include "egressd/flow.h"
#include "enrich/flow_labels.h"
#include "kube/cluster_index.h"

namespace egressd::enrich {

struct EnrichOptions {
  std::vector<std::string> exclude_namespaces;  // local pods in these namespaces are not exported
  bool workload_labels = false;                 // add src_workload/dst_workload (--workload-labels)
  // The DNS tracer's cache: with it, the dst_dns_name label is exported and filled for peers
  // outside the cluster (docs/dns.md). Null: no such label.
  dns::NameCache* dns_names = nullptr;
};

class Enricher {
 public:
  explicit Enricher(const EnrichOptions& options);

  // Labels for the flow, or nullopt when the local endpoint is a pod of an excluded namespace.
  [[nodiscard]] std::optional<FlowLabels> labels(const FlowKey& key,
                                                 const kube::ClusterIndex& index) const;

 private:
  std::unordered_set<std::string> excluded_;
  bool workload_labels_;
  dns::NameCache* dns_names_;
};

}  // namespace egressd::enrich
