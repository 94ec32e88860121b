// Orientation of a flow key of the BPF programs onto the accounting contract
// (egressd/accounting.h). The key is a conntrack-shaped pair — initiator (original-tuple source,
// before SNAT) and responder (reply-tuple source, after DNAT) — with counters per direction: the
// initiator's record has tx=orig, rx=reply; the responder's tx=reply, rx=orig.
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
