// The Kubernetes object model of egressd: only the fields enrichment needs, parsed from the JSON
// the API server returns (the same documents `kubectl get -o json` prints). Used by the standalone
// inventory file now and by the list+watch client later.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "egressd/common/ip.h"

namespace egressd::kube {

struct OwnerRef {
  std::string kind;  // controller owner: ReplicaSet, StatefulSet, DaemonSet, Job, ...
  std::string name;
};

struct Pod {
  std::string name;
  std::string namespace_name;
  std::string uid;
  std::string node_name;          // spec.nodeName
  std::string phase;              // status.phase: Pending, Running, Succeeded, Failed, Unknown
  bool host_network = false;      // spec.hostNetwork
  std::vector<IpAddr> ips;        // status.podIPs[].ip, else status.podIP (dual-stack aware)
  OwnerRef owner;                 // metadata.ownerReferences[] with controller=true
  std::string pod_template_hash;  // metadata.labels["pod-template-hash"]
  int64_t created = 0;            // metadata.creationTimestamp, seconds since the epoch (0: absent)

  // Succeeded/Failed pods keep their IP in the API but the IP may already belong to another pod.
  [[nodiscard]] bool is_terminal() const noexcept {
    return phase == "Succeeded" || phase == "Failed";
  }
};

// The workload a pod belongs to, from its controller owner reference: a ReplicaSet owner named
// "<deployment>-<pod-template-hash>" is that Deployment (the Deployment controller names its
// ReplicaSets so and labels their pods with the hash); StatefulSet, DaemonSet, Job and any other
// controller kind are themselves. Rendered as kubectl's "kind/name" in lower case:
// "deployment/web". Empty for a pod without a controller.
[[nodiscard]] std::string workload_of(const Pod& pod);

struct Node {
  std::string name;
  std::vector<IpAddr> addresses;  // status.addresses[] of type InternalIP and ExternalIP
  std::string zone;               // labels topology.kubernetes.io/zone (failure-domain... beta)
  std::string region;             // labels topology.kubernetes.io/region
};

struct Inventory {
  std::vector<Pod> pods;
  std::vector<Node> nodes;
  size_t skipped_items = 0;  // List items of other kinds (Service, ...), ignored
};

}  // namespace egressd::kube
