// Orientation of a flow key of the BPF programs: which of its two endpoints is local, per the
// accounting contract (docs/accounting.md). The key is a conntrack-shaped pair — initiator
// (original-tuple source, before SNAT) and responder (reply-tuple source, after DNAT) — with
// counters per direction, so the rules are exactly those of the netfilter source
// (conntrack/orientation.h); tests/unit/ebpf checks that both agree on every endpoint kind.
//  1. initiator is a local pod: local=initiator, tx=orig, rx=reply;
//  2. responder is a local pod: local=responder, tx=reply, rx=orig (both: same-node pods);
//  3. no local pod: initiator is a node address -> as 1, else responder is one -> as 2;
//  4. else transit: no record.
#pragma once

#include <cstdint>
#include <span>

#include "egressd/abi/flow.h"
#include "egressd/flow.h"
#include "egressd/local_endpoints.h"

namespace egressd::ebpf {

// Writes 0, 1 or 2 delta records (CounterMode::kDelta) to `out` and returns how many; 0 means
// transit traffic.
[[nodiscard]] uint8_t orient(const egressd_flow_key& key, const egressd_flow_counters& counters,
                             const LocalEndpoints& local, std::span<FlowRecord, 2> out) noexcept;

}  // namespace egressd::ebpf
