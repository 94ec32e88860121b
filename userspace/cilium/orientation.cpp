#include "cilium/orientation.h"

namespace egressd::cilium {

namespace {

// wyhash's multiply-fold (Wang Yi, public domain), as userspace/conntrack/orientation.cpp uses.
constexpr uint64_t mum(uint64_t a, uint64_t b) noexcept {
  const auto r = static_cast<__uint128_t>(a) * b;
  return static_cast<uint64_t>(r) ^ static_cast<uint64_t>(r >> 64);
}
constexpr uint64_t kP0 = 0xa0761d6478bd642fULL;
constexpr uint64_t kP1 = 0xe7037ed1a0b428dbULL;
constexpr uint64_t kP2 = 0x8ebc6af09c88c6e3ULL;
constexpr uint64_t kP3 = 0x589965cc75374cc3ULL;

}  // namespace

uint64_t entry_id(Family family, const uint8_t* key, CounterOrigin origin) noexcept {
  using detail::load;
  const uint64_t salt =
      (family == Family::kIpv4 ? 4U : 6U) | (origin == CounterOrigin::kCtMap ? 0U : 0x100U);
  if (family == Family::kIpv4) {
    // 14 bytes: 8 + 6 (the last two bytes, nexthdr and flags, fold into the second word).
    const auto a = load<uint64_t>(key);
    uint64_t b = 0;
    std::memcpy(&b, key + 8, 6);
    return mum(mum(a ^ kP0, b ^ kP1) ^ salt, kP2);
  }
  // 38 bytes: 4 x 8 + 6.
  const auto a = load<uint64_t>(key);
  const auto b = load<uint64_t>(key + 8);
  const auto c = load<uint64_t>(key + 16);
  const auto d = load<uint64_t>(key + 24);
  uint64_t e = 0;
  std::memcpy(&e, key + 32, 6);
  uint64_t h = mum(a ^ kP0, b ^ kP1);
  h = mum(h ^ c ^ kP2, d ^ kP3);
  return mum(h ^ e ^ kP1, salt ^ kP2);
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
  const bool out_entry = kind == KeyKind::kOut;
  const IpAddr& self = out_entry ? tuple.originator : tuple.responder;
  const IpAddr& peer = out_entry ? tuple.responder : tuple.originator;
  switch (local.classify(self)) {
    case EndpointKind::kOther: return Outcome::kTransit;
    case EndpointKind::kLocalPod: break;
    case EndpointKind::kLocalNode:
      // Node <-> local pod is reported once, by the pod (docs/accounting.md), from the pod's own
      // entry: every endpoint's datapath tracks its connections itself.
      if (local.classify(peer) == EndpointKind::kLocalPod) return Outcome::kNodeToPod;
      break;
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
