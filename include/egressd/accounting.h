// The accounting contract (docs/accounting.md), in one place: which side of a connection reports
// it. Every flow source turns what its kernel structure knows — the connection's real initiator
// (original-tuple source, before SNAT) and real responder (reply-tuple source, after DNAT: the
// backend, not the service VIP) — into records through this rule, and only through it:
//
//  1. a local pod reports its own side: the initiator if it is a pod of this node, the responder
//     if it is one (both, one record each, for two pods of this node: A's tx = B's rx);
//  2. with no local pod on either side, the node reports the connection once: from the initiator
//     if it is a node address (host-network pods and the node's own traffic), else from the
//     responder if that is one; a pod <-> node connection is the pod's (rule 1), never the node's;
//  3. else neither side is on this node (transit): no record.
//
// The adapters: conntrack/orientation.cpp (a conntrack entry), ebpf/orientation.cpp (a flow key
// of the BPF programs), cilium/orientation.cpp (a Cilium CT entry, which is one side's own view of
// a connection: it gives a record only if that side reports). tests/common/accounting_contract.h
// is the table every adapter's test runs.
#pragma once

#include <cstdint>

#include "egressd/local_endpoints.h"

namespace egressd::accounting {

// The sides of one connection that report it.
struct ReportingSides {
  bool initiator = false;
  bool responder = false;

  [[nodiscard]] constexpr bool none() const noexcept { return !initiator && !responder; }
  [[nodiscard]] constexpr uint8_t count() const noexcept {
    return static_cast<uint8_t>((initiator ? 1 : 0) + (responder ? 1 : 0));
  }
  friend constexpr bool operator==(const ReportingSides&, const ReportingSides&) = default;
};

[[nodiscard]] constexpr ReportingSides reporting_sides(EndpointKind initiator,
                                                       EndpointKind responder) noexcept {
  ReportingSides r{initiator == EndpointKind::kLocalPod, responder == EndpointKind::kLocalPod};
  if (r.none()) {
    r.initiator = initiator == EndpointKind::kLocalNode;
    r.responder = !r.initiator && responder == EndpointKind::kLocalNode;
  }
  return r;
}

// Why one side of a connection gives no record (a source that sees one side at a time).
enum class SideVerdict : uint8_t {
  kReports,           // this side reports the connection
  kTransit,           // this side is not on this node
  kPodReports,        // this side is a node address and the other a local pod, whose connection
                      // it is (node <-> pod, rule 1)
  kInitiatorReports,  // this side is the responder of a node <-> node connection, which the
                      // initiator reports (rule 2)
};

// The verdict for one side: `self` is the initiator or the responder of the connection.
[[nodiscard]] constexpr SideVerdict verdict_for(bool self_is_initiator, EndpointKind initiator,
                                                EndpointKind responder) noexcept {
  const ReportingSides r = reporting_sides(initiator, responder);
  if (self_is_initiator ? r.initiator : r.responder) return SideVerdict::kReports;
  const EndpointKind self = self_is_initiator ? initiator : responder;
  const EndpointKind other = self_is_initiator ? responder : initiator;
  if (self == EndpointKind::kOther) return SideVerdict::kTransit;
  return other == EndpointKind::kLocalPod ? SideVerdict::kPodReports
                                          : SideVerdict::kInitiatorReports;
}

// The same verdict when classifying the other side has a cost (a lookup per entry): a local pod
// reports its own side and a side not on this node never reports, whatever the other side is
// (rules 1 and 3), so `other_kind()` is called only for a node address.
template <typename OtherKind>
[[nodiscard]] constexpr SideVerdict verdict_for(bool self_is_initiator, EndpointKind self,
                                                OtherKind&& other_kind) noexcept {
  if (self == EndpointKind::kLocalPod) return SideVerdict::kReports;
  if (self == EndpointKind::kOther) return SideVerdict::kTransit;
  const EndpointKind other = other_kind();
  return self_is_initiator ? verdict_for(true, self, other) : verdict_for(false, other, self);
}

}  // namespace egressd::accounting
