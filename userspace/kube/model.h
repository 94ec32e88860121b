// The Kubernetes object model of egressd: only the fields enrichment needs, parsed from the JSON
// the API server returns (the same documents `kubectl get -o json` prints). Used by the standalone
// inventory file now and by the list+watch client later.
#pragma once

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

  // Succeeded/Failed pods keep their IP in the API but the IP may already belong to another pod.
  [[nodiscard]] bool is_terminal() const noexcept {
    return phase == "Succeeded" || phase == "Failed";
  }
};

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
