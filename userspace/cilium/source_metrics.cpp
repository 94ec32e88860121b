#include "cilium/source_metrics.h"

#include <string>

namespace egressd::cilium {

namespace {
constexpr const char* kSkippedHelp =
    "Cilium conntrack entries that describe no connection of their own, by reason (not "
    "accounting data).";

std::array<Gauge*, kMapRoles> per_map(SelfMetrics& m, const char* name, const char* help) {
  std::array<Gauge*, kMapRoles> out{};
  for (size_t i = 0; i < kMapRoles; ++i) {
    out[i] = &m.gauge(name, help, {{"map", std::string(pin_name(kAllRoles[i]))}});
  }
  return out;
}
}  // namespace

SourceMetrics::SourceMetrics(SelfMetrics& m)
    : entries_read(
          m.counter(metric::kRecordsRead, metric::kRecordsReadHelp, {{"source", "cilium"}})),
      dropped_transit(
          m.counter(metric::kRecordsDropped, metric::kRecordsDroppedHelp, {{"reason", "transit"}})),
      dropped_no_counters(m.counter(metric::kRecordsDropped, metric::kRecordsDroppedHelp,
                                    {{"reason", "no_counters"}})),
      merged_records(m.counter("egressd_cilium_merged_records_total",
                               "Records whose counters sum both directions (Cilium 1.16+ "
                               "layouts without cilium_ct_stats maps), exported as "
                               "egressd_transferred_*_total.")),
      dropped_node_to_pod(m.counter(metric::kRecordsDropped, metric::kRecordsDroppedHelp,
                                    {{"reason", "node_to_pod"}})),
      dropped_node_to_node(m.counter(metric::kRecordsDropped, metric::kRecordsDroppedHelp,
                                     {{"reason", "node_to_node"}})),
      skipped_no_proto(m.counter("egressd_cilium_entries_skipped_total", kSkippedHelp,
                                 {{"reason", "no_proto"}})),
      skipped_related(
          m.counter("egressd_cilium_entries_skipped_total", kSkippedHelp, {{"reason", "related"}})),
      skipped_service(
          m.counter("egressd_cilium_entries_skipped_total", kSkippedHelp, {{"reason", "service"}})),
      reads(m.counter("egressd_cilium_reads_total", "Full reads of the Cilium conntrack maps.")),
      read_errors(m.counter("egressd_cilium_read_errors_total",
                            "Reads of the Cilium conntrack maps that failed or were cut short "
                            "(not marked complete).")),
      lookup_restarts(m.counter("egressd_cilium_lookup_restarts_total",
                                "Key walks (get_next_key, kernels without batch lookups) that "
                                "restarted from the first key because the current one was "
                                "deleted.")),
      batch_grows(m.counter("egressd_cilium_batch_grows_total",
                            "Batch lookups refused with ENOSPC (a hash bucket larger than the "
                            "buffer) and retried with a doubled buffer.")),
      map_changes(m.counter("egressd_cilium_map_changes_total",
                            "Times a Cilium map pin pointed to a different map than at the last "
                            "read (Cilium recreated it), or appeared or vanished.")),
      read_duration(m.gauge("egressd_cilium_read_duration_seconds",
                            "Duration of the last read of the Cilium conntrack maps.")),
      accounting_enabled(m.gauge("egressd_cilium_accounting_enabled",
                                 "1 if Cilium's conntrack entries carry counters, 0 if every "
                                 "entry reads 0 (accounting off), -1 before any entry was seen.")),
      per_direction(m.gauge("egressd_cilium_per_direction_counters",
                            "1 if the counters read keep rx and tx apart (layout A or the "
                            "cilium_ct_stats maps), 0 if they are merged (exported as "
                            "egressd_transferred_*_total).")),
      entries_expired(m.gauge("egressd_cilium_entries_expired",
                              "Entries past their lifetime, still in the map (Cilium's GC has not "
                              "removed them yet), at the last read.")),
      batch_ops(m.gauge("egressd_cilium_batch_lookup",
                        "1 if the maps are read with BPF_MAP_LOOKUP_BATCH, 0 if with a "
                        "get_next_key walk.")),
      layout_suspect(m.gauge("egressd_cilium_layout_suspect",
                             "1 if most IN entries of the last read could not have been written "
                             "in the configured conntrack layout (wrong --cilium-version?).")),
      map_entries(per_map(m, "egressd_cilium_map_entries", "Entries read from a Cilium map.")),
      map_max(per_map(m, "egressd_cilium_map_max_entries",
                      "max_entries of a Cilium map (BPF_OBJ_GET_INFO_BY_FD), 0 if absent.")),
      registry(m) {
  accounting_enabled.set(-1);
}

}  // namespace egressd::cilium
