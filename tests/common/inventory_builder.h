// Builds kube::Inventory values in tests without JSON.
#pragma once

#include <string>
#include <vector>

#include "kube/model.h"

namespace egressd::testing {

inline kube::Pod make_pod(std::string ns, std::string name, std::string node,
                          std::vector<std::string> ips, std::string phase = "Running",
                          bool host_network = false) {
  kube::Pod p;
  p.namespace_name = std::move(ns);
  p.name = std::move(name);
  p.uid = p.namespace_name + "/" + p.name;
  p.node_name = std::move(node);
  p.phase = std::move(phase);
  p.host_network = host_network;
  for (const auto& ip : ips) p.ips.push_back(IpAddr::parse(ip).value());
  return p;
}

inline kube::Node make_node(std::string name, std::string zone, std::vector<std::string> ips) {
  kube::Node n;
  n.name = std::move(name);
  n.zone = std::move(zone);
  for (const auto& ip : ips) n.addresses.push_back(IpAddr::parse(ip).value());
  return n;
}

// Two nodes in two zones; pods a, b and a kube-system pod on node-a, pod r on node-b.
inline kube::Inventory two_zone_cluster() {
  kube::Inventory inv;
  inv.nodes.push_back(make_node("node-a", "zone-a", {"192.168.50.10", "fd00:50::10"}));
  inv.nodes.push_back(make_node("node-b", "zone-b", {"192.168.50.20", "fd00:50::20"}));
  inv.pods.push_back(make_pod("shop", "pod-a", "node-a", {"10.244.1.10", "fd00:244:1::10"}));
  inv.pods.push_back(make_pod("shop", "pod-b", "node-a", {"10.244.1.11", "fd00:244:1::11"}));
  inv.pods.push_back(make_pod("kube-system", "coredns", "node-a", {"10.244.1.53"}));
  inv.pods.push_back(make_pod("shop", "pod-r", "node-b", {"10.244.2.10", "fd00:244:2::10"}));
  inv.pods.push_back(
      make_pod("monitoring", "node-exporter", "node-a", {"192.168.50.10"}, "Running", true));
  return inv;
}

}  // namespace egressd::testing
