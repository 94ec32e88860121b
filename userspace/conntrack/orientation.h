// Orientation of a conntrack entry onto the accounting contract (egressd/accounting.h).
//
// With the original tuple (os -> od) and the reply tuple (rs -> rd): the real initiator is os
// (before SNAT) and the real responder is rs (after DNAT: the backend, not the service VIP). The
// initiator's record has local=os, peer=rs, tx=orig counters, rx=reply counters; the responder's
// local=rs, peer=os, tx=reply counters, rx=orig counters. Entries without counters (accounting
// was off when they were created) give no record: their zeros would be a lie.
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "conntrack/ct_entry.h"
#include "egressd/flow.h"
#include "egressd/local_endpoints.h"

namespace egressd::conntrack {

enum class Side : uint8_t {
  kOriginator,  // the record is for os (the initiator)
  kResponder,   // the record is for rs (the responder)
};

enum class DropReason : uint8_t { kNone, kTransit, kNoCounters };

struct Orientation {
  uint8_t count = 0;                      // records written to the output (0, 1 or 2)
  DropReason reason = DropReason::kNone;  // why count is 0
};

// Writes 0, 1 or 2 records to `out`. `final` marks the totals of a destroyed entry.
[[nodiscard]] Orientation orient(const CtEntry& entry, const LocalEndpoints& local, bool final,
                                 std::span<FlowRecord, 2> out) noexcept;

// 64-bit identity of one side of an entry: a hash of CTA_ID, the original tuple, the zones and
// the side, so the two records of a same-node entry differ and an entry keeps its id in dumps
// and in its DESTROY event.
[[nodiscard]] uint64_t entry_id(const CtEntry& entry, Side side) noexcept;

// The record of one side, whatever the endpoints are (orient() decides which sides apply).
[[nodiscard]] FlowRecord make_record(const CtEntry& entry, Side side, bool final) noexcept;

}  // namespace egressd::conntrack
