// Orientation of a Cilium conntrack entry onto the accounting contract (docs/accounting.md,
// docs/cilium.md "Mapping onto the contract").
//
// Cilium keeps one entry per lookup direction, not per connection: an OUT entry is written by the
// egress path of the endpoint that opened the connection (its originator), an IN entry by the
// ingress path of the endpoint that accepted it (its responder). Each entry's counters are that
// endpoint's view: tx = what it sent, rx = what it received (layout A and the stats maps). So:
//  - OUT entry: a record for the originator only (local=originator, peer=responder);
//  - IN entry:  a record for the responder only (local=responder, peer=originator).
// Same-node pod A -> pod B has both entries on the node: A's record from the OUT entry and B's
// from the IN entry, each once (A's tx = B's rx). Deriving B's record from the OUT entry as well
// would count B twice (castai/egressd's double count). Which side reports is the accounting
// contract's (egressd/accounting.h): a local side that is neither a pod of this node nor a node
// address gives no record ("transit": e.g. NodePort traffic forwarded elsewhere); a node-address
// side gives none when a local pod is the other side (the pod reports it), nor the responder of a
// node <-> node connection (the node reports it once, from the initiator's entry).
#pragma once

#include <cstdint>

#include "cilium/ct_entry.h"
#include "egressd/flow.h"
#include "egressd/local_endpoints.h"

namespace egressd::cilium {

enum class Outcome : uint8_t {
  kRecord,      // `out` holds the record (per-direction counters)
  kNoProto,     // skipped: nexthdr == 0
  kRelated,     // skipped: TUPLE_F_RELATED
  kService,     // skipped: TUPLE_F_SERVICE
  kMerged,      // `out` holds a record whose counters sum both directions (layouts B-D without
                // stats maps): key.flags has kFlowMergedDirections, the total is in tx
  kNoCounters,  // dropped: all counters are 0 (accounting off when the entry was counted)
  kTransit,     // dropped: the entry's local side is not on this node
  kPodReports,  // dropped: the node side of a node <-> pod connection, which the pod's
                // own entry reports
  kInitiatorReports,  // dropped: the IN entry of a node <-> node connection, which the node
                      // reports once, from the initiator's OUT entry
};

// Where the counters of a record come from; part of the entry identity so that switching between
// CT-map and stats-map counters never looks like the same entry going backwards.
enum class CounterOrigin : uint8_t { kCtMap, kStatsMap };

// 64-bit identity of an entry: a hash of its family, key bytes (tuple and flags, so the OUT and
// IN entries of one connection differ) and the counter origin. Cilium entries have no id of their
// own: a tuple reused by a new connection after GC keeps the id (the reducer sees a reset).
[[nodiscard]] uint64_t entry_id(Family family, const uint8_t* key, CounterOrigin origin) noexcept;

// Decides what one entry gives. Writes `out` only for Outcome::kRecord and kMerged, all but its
// entry_id, which the caller sets (entry_id() costs a hash, spent only on entries that become
// records).
[[nodiscard]] Outcome orient(const CtTuple& tuple, KeyKind kind, const CtCounters& counters,
                             const LocalEndpoints& local, FlowRecord& out) noexcept;

}  // namespace egressd::cilium
