// Full Pod and Node documents in the real API's JSON shape for the fake API server: the
// documents of tests/fixtures/inventory/cluster.json (as a Kubernetes 1.29 API server returns
// them, managedFields and all) with the identity, placement, addresses and status a test needs
// substituted. Rendering is string concatenation around a template, so 100k pods take
// milliseconds (the benchmark), and the result is byte-for-byte the fixture's shape.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace egressd::testing {

struct PodSpec {
  std::string namespace_name;
  std::string name;
  std::string node;
  std::vector<std::string> ips;  // status.podIPs (status.podIP is the first)
  std::string phase = "Running";
  bool host_network = false;
  // Controller owner: a Deployment's ReplicaSet "<deployment>-<hash>" when deployment is set.
  std::string deployment;
  std::string template_hash = "5f7d9c8b6d";
  std::string created = "2024-06-03T09:14:27Z";
};

struct NodeSpec {
  std::string name;
  std::string zone;
  std::string region = "eu-west-1";
  std::vector<std::string> internal_ips;
};

class ObjectFactory {
 public:
  // Reads the templates from the fixture (EGRESSD_SOURCE_DIR); throws if it cannot.
  ObjectFactory();
  [[nodiscard]] std::string pod(const PodSpec& spec) const;
  [[nodiscard]] std::string node(const NodeSpec& spec) const;

 private:
  std::vector<std::string> pod_parts_;  // text between sentinels
  std::vector<int> pod_slots_;          // which value goes between parts
  std::vector<std::string> node_parts_;
  std::vector<int> node_slots_;
};

}  // namespace egressd::testing
