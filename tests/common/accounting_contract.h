// The accounting contract as a table (include/egressd/accounting.h, docs/accounting.md), written
// by hand: for every pair of endpoint kinds, which sides of a connection report it. The rule's own
// test (tests/unit/common/accounting_test.cpp) and every source's adapter test (conntrack, eBPF,
// Cilium orientation tests) run this one table, each through its own kernel structure.
#pragma once

#include <array>
#include <string>

#include "egressd/common/ip.h"
#include "egressd/local_endpoints.h"

namespace egressd::testing {

struct ContractCase {
  const char* name;
  EndpointKind initiator;
  EndpointKind responder;
  bool initiator_reports;
  bool responder_reports;
};

inline constexpr auto kPod = EndpointKind::kLocalPod;
inline constexpr auto kNodeAddr = EndpointKind::kLocalNode;
inline constexpr auto kElsewhere = EndpointKind::kOther;

inline constexpr std::array<ContractCase, 9> kContract = {{
    {"pod_to_pod_same_node", kPod, kPod, true, true},  // each pod its own side once
    {"pod_to_node", kPod, kNodeAddr, true, false},     // the pod's, never the node's
    {"pod_to_elsewhere", kPod, kElsewhere, true, false},
    {"node_to_pod", kNodeAddr, kPod, false, true},        // the pod's
    {"node_to_node", kNodeAddr, kNodeAddr, true, false},  // once, from the initiator
    {"node_to_elsewhere", kNodeAddr, kElsewhere, true, false},
    {"elsewhere_to_pod", kElsewhere, kPod, false, true},
    {"elsewhere_to_node", kElsewhere, kNodeAddr, false, true},
    {"transit", kElsewhere, kElsewhere, false, false},
}};

// Addresses for the adapters: two of each kind, so both ends of a case differ even when their
// kinds are the same.
struct ContractEnds {
  IpAddr initiator;
  IpAddr responder;
};

inline IpAddr contract_address(EndpointKind kind, int which) {
  const char* text = nullptr;
  switch (kind) {
    case EndpointKind::kLocalPod: text = which == 0 ? "10.244.1.10" : "10.244.1.11"; break;
    case EndpointKind::kLocalNode: text = which == 0 ? "192.168.50.10" : "192.168.50.11"; break;
    case EndpointKind::kOther: text = which == 0 ? "203.0.113.10" : "203.0.113.11"; break;
  }
  return IpAddr::parse(text).value();
}

inline ContractEnds contract_ends(const ContractCase& c) {
  return {contract_address(c.initiator, 0), contract_address(c.responder, 1)};
}

// This node: the two pods and the two node addresses of contract_address().
inline LocalEndpoints contract_endpoints() {
  return LocalEndpoints({contract_address(kPod, 0), contract_address(kPod, 1)},
                        {contract_address(kNodeAddr, 0), contract_address(kNodeAddr, 1)});
}

}  // namespace egressd::testing
