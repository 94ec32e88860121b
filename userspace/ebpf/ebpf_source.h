// The eBPF flow source (docs/ebpf.md): CO-RE programs count every packet of the agent's network
// namespace in the kernel, per (initiator, responder, protocol), on TC egress of the interfaces
// and on netfilter LOCAL_IN; this source drains their per-CPU maps once per read interval, orients
// each key with the current LocalEndpoints (the accounting contract) and pushes delta records.
//
// Threads: one std::jthread reads the maps at each interval and follows interfaces as they come
// and go (rtnetlink link notifications). Everything attached is detached when the source is
// destroyed; the attachments are BPF links, so they also go away if the process dies.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>

#include "ebpf/attacher.h"
#include "egressd/common/clock.h"
#include "egressd/common/error.h"
#include "egressd/common/self_metrics.h"
#include "egressd/local_endpoints.h"
#include "egressd/source.h"

namespace egressd::ebpf {

struct EbpfSourceOptions {
  std::chrono::milliseconds read_interval{5000};
  uint32_t map_entries = 65536;  // keys per interval in each of the two buffers
  size_t batch_records = 4096;   // records per RecordBatch
  // TC attachment; nullopt: TCX where the kernel has it, else clsact.
  std::optional<AttachMode> attach_mode;
  // Priority of the LOCAL_IN hooks: after conntrack (NF_IP_PRI_CONNTRACK, -200), before the
  // filter chains (0), so a packet dropped by a firewall rule is still counted, as conntrack does.
  int32_t local_in_priority = -150;
  const Clock* clock = &system_clock();  // the read schedule's time; must outlive the source
};

// Probes the kernel, loads and attaches the programs. Errors name what is missing (no BTF, no
// permission, kernel too old) so the caller can fall back to another source.
[[nodiscard]] Result<std::unique_ptr<Source>> make_ebpf_source(const EbpfSourceOptions& options,
                                                               const LocalEndpointsView& endpoints,
                                                               BatchSink& sink,
                                                               SelfMetrics& metrics);

}  // namespace egressd::ebpf
