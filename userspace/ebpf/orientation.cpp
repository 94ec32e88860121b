#include "ebpf/orientation.h"

#include "egressd/accounting.h"

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
  const accounting::ReportingSides r =
      accounting::reporting_sides(local.classify(initiator), local.classify(responder));
  uint8_t n = 0;
  if (r.initiator) {
    out[n++] = record(initiator, responder, key.proto, c.orig_bytes, c.orig_packets, c.reply_bytes,
                      c.reply_packets);
  }
  if (r.responder) {
    out[n++] = record(responder, initiator, key.proto, c.reply_bytes, c.reply_packets, c.orig_bytes,
                      c.orig_packets);
  }
  return n;
}

}  // namespace egressd::ebpf
