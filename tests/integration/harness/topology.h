// The shared integration topology (ARCHITECTURE.md "Test topology"; addresses in cluster.h,
// diagram and rationale in tests/integration/README.md):
//
//   pod-a ──veth──┐                                   ┌── remote (node-2, hosts pod-r)
//                 ├── node (node-1: routing, conntrack, NAT, ground-truth counters)
//   pod-b ──veth──┘                                   └── internet (203.0.113.10, via SNAT)
//
// Pods are routed Calico-style (a /32 and /128 route per pod, proxy ARP, no bridge) so that all
// their traffic, same-node pod <-> pod included, crosses the node's forward path where conntrack
// and the ground-truth counters see it. Offloads are off on every veth so that every counter
// counts wire packets.
//
// The destructor deletes the namespaces, which takes their links, routes, nft tables and
// conntrack entries with them: nothing is ever created in the test process's own namespace.
#pragma once

#include <string>
#include <vector>

#include "harness/cluster.h"
#include "harness/netns.h"

namespace egressd::testing {

struct TopologyOptions {
  // Sets net.netfilter.nf_conntrack_acct=1 in the node namespace. Agent tests leave it off and
  // run `egressd init`, which must turn it on.
  bool enable_conntrack_acct = true;
};

class Topology {
 public:
  explicit Topology(TopologyOptions options = {});

  [[nodiscard]] const std::string& node() const noexcept { return ns_[0].name(); }
  [[nodiscard]] const std::string& pod_a() const noexcept { return ns_[1].name(); }
  [[nodiscard]] const std::string& pod_b() const noexcept { return ns_[2].name(); }
  [[nodiscard]] const std::string& remote() const noexcept { return ns_[3].name(); }
  [[nodiscard]] const std::string& internet() const noexcept { return ns_[4].name(); }
  // The namespace of a pod of cluster.h (pod-r lives in the remote node's namespace).
  [[nodiscard]] const std::string& netns_of(const cluster::PodInfo& pod) const;

  struct LinkEnd {
    std::string netns;
    std::string dev;
  };
  // Both ends of every veth.
  [[nodiscard]] std::vector<LinkEnd> veth_ends() const;

 private:
  std::vector<NetNs> ns_;  // node, pod-a, pod-b, remote, internet
};

// Offload features (segmentation, GRO/GSO/LRO) that are on for `dev`, by `ethtool -k` name.
[[nodiscard]] std::vector<std::string> enabled_offloads(const std::string& netns,
                                                        const std::string& dev);

// `sysctl -n key` in the namespace.
[[nodiscard]] std::string read_sysctl(const std::string& netns, const std::string& key);

}  // namespace egressd::testing
