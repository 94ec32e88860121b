#include "dns/response_handler.h"

#include <spdlog/spdlog.h>

namespace egressd::dns {

namespace {

constexpr const char* kResponsesHelp =
    "DNS responses parsed by the tracer, by transport (their addresses named in the cache).";
constexpr const char* kRejectedHelp =
    "DNS messages from the DNS port the tracer rejected as malformed, by reason.";
constexpr const char* kTcpDropHelp =
    "DNS-over-TCP data the tracer could not reassemble, by reason (gap: a segment missing; cut: "
    "a segment longer than the capture; unknown_stream: a connection seen without its start; "
    "evicted: too many connections; idle: no segment for 30 s).";

}  // namespace

ResponseHandler::ResponseHandler(NameCache& cache, ScopeFn scope, SelfMetrics& metrics,
                                 TcpStreamsOptions tcp)
    : cache_(cache),
      scope_(std::move(scope)),
      response_(std::make_unique<Response>()),
      tcp_(
          tcp,
          [this](const StreamKey& key, std::span<const uint8_t> msg) {
            message(key.client, msg, false, true);
          },
          [this](TcpDrop d) { tcp_drops_[static_cast<size_t>(d)]->inc(); }),
      udp_ok_(
          metrics.counter("egressd_dns_responses_total", kResponsesHelp, {{"transport", "udp"}})),
      tcp_ok_(
          metrics.counter("egressd_dns_responses_total", kResponsesHelp, {{"transport", "tcp"}})),
      partial_(metrics.counter("egressd_dns_responses_partial_total",
                               "DNS responses whose answer section ended early (TC set, or the "
                               "capture was cut): the records that arrived whole were used.")),
      rcode_(metrics.counter("egressd_dns_responses_error_rcode_total",
                             "DNS responses with an error RCODE (NXDOMAIN, SERVFAIL...): nothing "
                             "to name.")),
      answers_(metrics.counter("egressd_dns_answers_total",
                               "Addresses from DNS responses attributed to a question's name and "
                               "cached.")),
      bad_event_(metrics.counter("egressd_dns_bad_events_total",
                                 "Ring buffer records of the DNS tracer with an inconsistent "
                                 "header (a bug: never expected).")) {
  for (size_t i = 1; i < kParseErrorCount; ++i) {
    rejected_[i] =
        &metrics.counter("egressd_dns_responses_rejected_total", kRejectedHelp,
                         {{"reason", std::string(parse_error_name(static_cast<ParseError>(i)))}});
  }
  for (size_t i = 0; i < tcp_drops_.size(); ++i) {
    tcp_drops_[i] = &metrics.counter("egressd_dns_tcp_dropped_total", kTcpDropHelp,
                                     {{"reason", tcp_drop_name(static_cast<TcpDrop>(i))}});
  }
}

void ResponseHandler::handle(const egressd_dns_event& ev, std::span<const uint8_t> payload,
                             std::chrono::steady_clock::time_point now) {
  if (ev.captured != payload.size() || ev.captured > ev.payload_len) {
    bad_event_.inc();
    return;
  }
  const IpAddr client = IpAddr::from_v6_bytes(ev.daddr);
  const bool cut = ev.captured < ev.payload_len;
  if (ev.proto == EGRESSD_DNS_PROTO_UDP) {
    message(client, payload, cut, false);
    return;
  }
  if (ev.proto != EGRESSD_DNS_PROTO_TCP) {
    bad_event_.inc();
    return;
  }
  TcpSegment seg;
  seg.key = StreamKey{IpAddr::from_v6_bytes(ev.saddr), client, ev.sport, ev.dport};
  seg.seq = ev.tcp_seq;
  seg.syn = (ev.tcp_flags & EGRESSD_DNS_TCP_SYN) != 0;
  seg.fin = (ev.tcp_flags & EGRESSD_DNS_TCP_FIN) != 0;
  seg.rst = (ev.tcp_flags & EGRESSD_DNS_TCP_RST) != 0;
  seg.cut = cut;
  seg.payload = payload;
  tcp_.segment(seg, now);
}

void ResponseHandler::message(const IpAddr& client, std::span<const uint8_t> msg, bool prefix_only,
                              bool tcp) {
  Response& r = *response_;
  const ParseError e = parser_.parse(msg, r, ParseOptions{.prefix_only = prefix_only});
  if (e != ParseError::kNone) {
    rejected_[static_cast<size_t>(e)]->inc();
    uint64_t suppressed = 0;
    if (warn_limit_.allow(suppressed)) {
      spdlog::debug("dns: rejected a {}-byte response to {} ({}; {} more since the last line)",
                    msg.size(), client.to_string(), parse_error_name(e), suppressed);
    }
    return;
  }
  (tcp ? tcp_ok_ : udp_ok_).inc();
  if (r.partial) partial_.inc();
  if (r.rcode != 0) {
    rcode_.inc();
    return;
  }
  if (r.address_count == 0) return;
  const uint64_t scope = scope_(client);
  for (const AddressAnswer& a : r.answers()) {
    const Question& q = r.questions[a.question];
    if (q.text() == ".") continue;
    cache_.insert(scope, a.addr, q.text(), a.ttl);
    answers_.inc();
  }
}

}  // namespace egressd::dns
