#include "cilium/orientation.h"

#include "egressd/accounting.h"
#include "egressd/common/hash.h"

namespace egressd::cilium {

uint64_t entry_id(Family family, const uint8_t* key, CounterOrigin origin) noexcept {
  using detail::load;
  const uint64_t salt =
      (family == Family::kIpv4 ? 4U : 6U) | (origin == CounterOrigin::kCtMap ? 0U : 0x100U);
  if (family == Family::kIpv4) {
    // 14 bytes: 8 + 6 (the last two bytes, nexthdr and flags, fold into the second word).
    const auto a = load<uint64_t>(key);
    uint64_t b = 0;
    std::memcpy(&b, key + 8, 6);
    return hash::mix(hash::mix(a ^ hash::kP0, b ^ hash::kP1) ^ salt, hash::kP2);
  }
  // 38 bytes: 4 x 8 + 6.
  const auto a = load<uint64_t>(key);
  const auto b = load<uint64_t>(key + 8);
  const auto c = load<uint64_t>(key + 16);
  const auto d = load<uint64_t>(key + 24);
  uint64_t e = 0;
  std::memcpy(&e, key + 32, 6);
  uint64_t h = hash::mix(a ^ hash::kP0, b ^ hash::kP1);
  h = hash::mix(h ^ c ^ hash::kP2, d ^ hash::kP3);
  return hash::mix(h ^ e ^ hash::kP1, salt ^ hash::kP2);
}

Outcome orient(const CtTuple& tuple, KeyKind kind, const CtCounters& counters,
               const LocalEndpoints& local, FlowRecord& out) noexcept {
  switch (kind) {
    case KeyKind::kNoProto: return Outcome::kNoProto;
    case KeyKind::kRelated: return Outcome::kRelated;
    case KeyKind::kService: return Outcome::kService;
    case KeyKind::kOut:
    case KeyKind::kIn: break;
  }
  if (counters.all_zero()) return Outcome::kNoCounters;
  // The entry is one side's view: OUT the originator's, IN the responder's. It gives a record only
  // if that side reports the connection; the other side's entry (or nothing) reports it otherwise.
  const bool out_entry = kind == KeyKind::kOut;
  const IpAddr& self = out_entry ? tuple.originator : tuple.responder;
  const IpAddr& peer = out_entry ? tuple.responder : tuple.originator;
  switch (accounting::verdict_for(out_entry, local.classify(self),
                                  [&] { return local.classify(peer); })) {
    case accounting::SideVerdict::kReports: break;
    case accounting::SideVerdict::kTransit: return Outcome::kTransit;
    case accounting::SideVerdict::kPodReports: return Outcome::kPodReports;
    case accounting::SideVerdict::kInitiatorReports: return Outcome::kInitiatorReports;
  }
  out.key.local = self;
  out.key.peer = peer;
  out.key.proto = tuple.proto;
  out.mode = CounterMode::kCumulative;
  out.final = false;
  if (counters.merged) {
    // Both directions in one pair: the total rides in tx under kFlowMergedDirections, rx stays 0
    // (no invented split; exported as egressd_transferred_*_total).
    out.key.flags = kFlowMergedDirections;
    out.counters = Counters{counters.bytes, counters.packets, 0, 0};
    return Outcome::kMerged;
  }
  out.key.flags = 0;
  out.counters =
      Counters{counters.tx_bytes, counters.tx_packets, counters.rx_bytes, counters.rx_packets};
  return Outcome::kRecord;
}

}  // namespace egressd::cilium
