// ResponseHandler: what the tracer does with each record of its ring buffer, without the kernel —
// UDP payloads are parsed as one message, TCP segments go through TcpStreams first; every
// address of a parsed response is cached under the client's scope with the name it asked for.
// Everything rejected is counted by reason (docs/metrics.md, egressd_dns_*).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>

#include "dns/message.h"
#include "dns/name_cache.h"
#include "dns/tcp_stream.h"
#include "egressd/abi/dns.h"
#include "egressd/common/log.h"
#include "egressd/common/self_metrics.h"

namespace egressd::dns {

// Maps a client address to its cache scope (scope.h); the agent binds the current cluster index.
using ScopeFn = std::function<uint64_t(const IpAddr& client)>;

class ResponseHandler {
 public:
  ResponseHandler(NameCache& cache, ScopeFn scope, SelfMetrics& metrics,
                  TcpStreamsOptions tcp = {});

  // One ring buffer record: the header, then `captured` payload bytes (already bounds-checked by
  // the caller: payload.size() == ev.captured).
  void handle(const egressd_dns_event& ev, std::span<const uint8_t> payload,
              std::chrono::steady_clock::time_point now);
  // A whole DNS message from `server` to `client` (UDP payload, or a reassembled TCP message).
  void message(const IpAddr& client, std::span<const uint8_t> msg, bool prefix_only, bool tcp);
  void expire(std::chrono::steady_clock::time_point now) { tcp_.expire(now); }

  [[nodiscard]] const Response& last_response() const noexcept { return *response_; }

 private:
  NameCache& cache_;
  ScopeFn scope_;
  Parser parser_;
  std::unique_ptr<Response> response_;  // ~7 KB of fixed arrays: on the heap, once
  TcpStreams tcp_;
  log::RateLimit warn_limit_{std::chrono::seconds(60)};

  Counter& udp_ok_;
  Counter& tcp_ok_;
  Counter& partial_;
  Counter& rcode_;
  Counter& answers_;
  Counter& bad_event_;
  std::array<Counter*, kParseErrorCount> rejected_{};
  std::array<Counter*, static_cast<size_t>(TcpDrop::kCount)> tcp_drops_{};
};

}  // namespace egressd::dns
