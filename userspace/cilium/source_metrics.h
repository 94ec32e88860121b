// The Cilium source's self-metrics, registered once in the SelfMetrics registry (names and
// meanings: docs/cilium.md and docs/metrics.md).
#pragma once

#include <array>
#include <string_view>

#include "cilium/map_role.h"
#include "egressd/common/self_metrics.h"

namespace egressd::cilium {

struct SourceMetrics {
  explicit SourceMetrics(SelfMetrics& m);

  Counter& entries_read;          // egressd_records_read_total{source="cilium"}
  Counter& dropped_transit;       // egressd_records_dropped_total{reason="transit"}
  Counter& dropped_no_counters;   // ...{reason="no_counters"}
  Counter& merged_records;        // egressd_cilium_merged_records_total
  Counter& dropped_node_to_pod;   // ...{reason="node_to_pod"}: Outcome::kPodReports
  Counter& dropped_node_to_node;  // ...{reason="node_to_node"}: Outcome::kInitiatorReports
  Counter& skipped_no_proto;      // egressd_cilium_entries_skipped_total{reason="no_proto"}
  Counter& skipped_related;       // ...{reason="related"}
  Counter& skipped_service;       // ...{reason="service"}
  Counter& reads;                 // egressd_cilium_reads_total
  Counter& read_errors;           // egressd_cilium_read_errors_total (read not complete)
  Counter& lookup_restarts;       // egressd_cilium_lookup_restarts_total (get_next_key restarts)
  Counter& batch_grows;           // egressd_cilium_batch_grows_total (ENOSPC: buffer doubled)
  Counter& map_changes;           // egressd_cilium_map_changes_total (a pin names another map)
  Gauge& read_duration;           // egressd_cilium_read_duration_seconds
  Gauge& accounting_enabled;      // egressd_cilium_accounting_enabled (1, 0; -1 unknown)
  Gauge& per_direction;           // egressd_cilium_per_direction_counters (1 or 0)
  Gauge& entries_expired;         // egressd_cilium_entries_expired
  Gauge& batch_ops;               // egressd_cilium_batch_lookup (1 batch ops, 0 key walk)
  Gauge& layout_suspect;          // egressd_cilium_layout_suspect (entries contradict the layout)
  std::array<Gauge*, kMapRoles> map_entries;  // egressd_cilium_map_entries{map}
  std::array<Gauge*, kMapRoles> map_max;      // egressd_cilium_map_max_entries{map}
  SelfMetrics& registry;                      // for the layout-info gauge, whose labels change
};

}  // namespace egressd::cilium
