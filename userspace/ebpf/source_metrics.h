// Self-metrics of the eBPF source (docs/metrics.md). Kernel-side counters (struct
// egressd_flow_stats) are monotonic per CPU; the source adds their growth since its last read.
#pragma once

#include <array>

#include "ebpf/flow_reader.h"
#include "egressd/common/self_metrics.h"

namespace egressd::ebpf {

struct SourceMetrics {
  explicit SourceMetrics(SelfMetrics& m);

  // Adds what the kernel counted since `last` and remembers `now`.
  void add_kernel_stats(const FlowStats& now);

  Counter& records_read;
  Counter& dropped_transit;
  Counter& reads;
  Counter& read_errors;
  Counter& link_resyncs;
  Gauge& map_entries;
  Gauge& map_capacity;
  Gauge& read_duration;
  Gauge& switch_duration;
  std::array<Counter*, EGRESSD_FLOW_STAT_MAX> kernel{};

 private:
  FlowStats last_{};
};

}  // namespace egressd::ebpf
