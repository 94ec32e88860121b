#include "ebpf/orientation.h"

namespace egressd::ebpf {

namespace {

FlowRecord record(const IpAddr& local, const IpAddr& peer, uint8_t proto, uint64_t tx_bytes,
                  uint64_t tx_packets, uint64_t rx_bytes, uint64_t rx_packets) noexcept {
  FlowRecord r;
  r.key = FlowKey{local, peer, proto};
  r.counters = Counters{tx_bytes, tx_packets, rx_bytes, rx_packets};
  r.mode = CounterMode::kDelta;
  return r;
}

}  // namespace

uint8_t orient(const egressd_flow_key& key, const egressd_flow_counters& c,
               const LocalEndpoints& local, std::span<FlowRecord, 2> out) noexcept {
  const IpAddr initiator = IpAddr::from_v6_bytes(key.orig_src);
  const IpAddr responder = IpAddr::from_v6_bytes(key.reply_src);
  const EndpointKind ik = local.classify(initiator);
  const EndpointKind rk = local.classify(responder);
  bool as_initiator = ik == EndpointKind::kLocalPod;
  bool as_responder = rk == EndpointKind::kLocalPod;
  if (!as_initiator && !as_responder) {
    // Node traffic (and host-network pods) once, from the side on this node; a pod <-> node
    // flow was reported above, by the pod.
    as_initiator = ik == EndpointKind::kLocalNode;
    as_responder = !as_initiator && rk == EndpointKind::kLocalNode;
  }
  uint8_t n = 0;
  if (as_initiator) {
    out[n++] = record(initiator, responder, key.proto, c.orig_bytes, c.orig_packets, c.reply_bytes,
                      c.reply_packets);
  }
  if (as_responder) {
    out[n++] = record(responder, initiator, key.proto, c.reply_bytes, c.reply_packets, c.orig_bytes,
                      c.orig_packets);
  }
  return n;
}

}  // namespace egressd::ebpf
