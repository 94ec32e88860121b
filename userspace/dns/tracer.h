// DnsTracer: bpf/dns.bpf.c loaded and attached (cgroup_skb ingress on the cgroup v2 root), and the
// thread that drains its ring buffer into a ResponseHandler (docs/dns.md).
//
// The attachment is a BPF link: it goes away with its descriptor, also when the process is
// killed, so nothing is left behind. Kernel-side statistics (egressd_dns_stats) are exported as
// they grow, a full ring among them (egressd_dns_ring_lost_total).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "dns/response_handler.h"
#include "egressd/common/clock.h"
#include "egressd/common/error.h"
#include "egressd/common/self_metrics.h"

namespace egressd::dns {

struct DnsTracerOptions {
  uint16_t port = 53;  // responses come from this port (--dns-port)
  uint32_t ring_bytes = EGRESSD_DNS_DEFAULT_RING_BYTES;  // power of two, at least a page
  uint32_t capture_bytes = EGRESSD_DNS_MAX_CAPTURE;      // payload bytes copied per packet
  std::string cgroup_path;  // cgroup v2 directory to attach to; empty: the cgroup2 mount's root
  TcpStreamsOptions tcp;
  std::chrono::milliseconds stats_interval{1000};  // kernel statistics and TCP expiry
};

class DnsTracer {
 public:
  // Loads and attaches the program and starts the reader thread. Errors say what is missing
  // (no BTF, no permission, no cgroup v2) so the caller can run without names.
  [[nodiscard]] static Result<std::unique_ptr<DnsTracer>> start(const DnsTracerOptions& options,
                                                                NameCache& cache, ScopeFn scope,
                                                                SelfMetrics& metrics,
                                                                const Clock& clock);
  DnsTracer(const DnsTracer&) = delete;
  DnsTracer& operator=(const DnsTracer&) = delete;
  ~DnsTracer();

  // Stops the thread and detaches (idempotent; the destructor calls it).
  void stop();
  [[nodiscard]] const std::string& cgroup_path() const noexcept;
  [[nodiscard]] int program_fd() const noexcept;

 private:
  struct Impl;
  explicit DnsTracer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace egressd::dns
