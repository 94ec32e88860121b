#include "ebpf/source_metrics.h"

namespace egressd::ebpf {

namespace {

constexpr const char* kPacketsHelp = "Packets counted by the eBPF flow programs, by hook.";
constexpr const char* kSkippedHelp =
    "Packets the eBPF flow programs do not count, by reason (not IP; IPv6 neighbour discovery "
    "and MLD, which belong to no flow).";
constexpr const char* kMalformedHelp =
    "Malformed packets skipped by the eBPF flow programs, by reason.";

}  // namespace

SourceMetrics::SourceMetrics(SelfMetrics& m)
    : records_read(m.counter(metric::kRecordsRead, metric::kRecordsReadHelp, {{"source", "ebpf"}})),
      dropped_transit(
          m.counter(metric::kRecordsDropped, metric::kRecordsDroppedHelp, {{"reason", "transit"}})),
      reads(m.counter("egressd_ebpf_reads_total",
                      "Reads (drains) of the eBPF flow buffers, failed ones included.")),
      read_errors(m.counter("egressd_ebpf_read_errors_total",
                            "Reads of the eBPF flow maps that failed (retried next interval).")),
      link_resyncs(m.counter("egressd_ebpf_link_resyncs_total",
                             "Link notifications lost (ENOBUFS); interfaces were re-dumped.")),
      map_entries(m.gauge("egressd_ebpf_map_entries",
                          "Flow keys drained from the eBPF flow buffer at the last read.")),
      map_capacity(m.gauge("egressd_ebpf_map_capacity",
                           "Capacity of each eBPF flow buffer (keys per interval).")),
      read_duration(m.gauge("egressd_ebpf_read_duration_seconds",
                            "Time of the last drain of the eBPF flow buffer (batched "
                            "lookup-and-delete and overflow ring).")),
      switch_duration(m.gauge("egressd_ebpf_buffer_switch_duration_seconds",
                              "Time of the last buffer switch (waits for an RCU grace period).")) {
  auto& k = kernel;
  k[EGRESSD_FLOW_STAT_EGRESS_PACKETS] =
      &m.counter("egressd_ebpf_packets_total", kPacketsHelp, {{"hook", "tc_egress"}});
  k[EGRESSD_FLOW_STAT_LOCAL_IN_PACKETS] =
      &m.counter("egressd_ebpf_packets_total", kPacketsHelp, {{"hook", "local_in"}});
  k[EGRESSD_FLOW_STAT_NO_CONNTRACK] =
      &m.counter("egressd_ebpf_packets_without_conntrack_total",
                 "Packets counted by their own addresses: no conntrack entry (untracked, or "
                 "conntrack not loaded), so no NAT to undo.");
  k[EGRESSD_FLOW_STAT_NOT_IP] =
      &m.counter("egressd_ebpf_packets_skipped_total", kSkippedHelp, {{"reason", "not_ip"}});
  k[EGRESSD_FLOW_STAT_ND_MLD] =
      &m.counter("egressd_ebpf_packets_skipped_total", kSkippedHelp, {{"reason", "nd_mld"}});
  k[EGRESSD_FLOW_STAT_TRUNCATED] =
      &m.counter("egressd_ebpf_packets_malformed_total", kMalformedHelp, {{"reason", "truncated"}});
  k[EGRESSD_FLOW_STAT_BAD_HEADER] = &m.counter("egressd_ebpf_packets_malformed_total",
                                               kMalformedHelp, {{"reason", "bad_header"}});
  k[EGRESSD_FLOW_STAT_BAD_LENGTH] = &m.counter("egressd_ebpf_packets_malformed_total",
                                               kMalformedHelp, {{"reason", "bad_length"}});
  k[EGRESSD_FLOW_STAT_EXT_HEADERS] = &m.counter("egressd_ebpf_packets_malformed_total",
                                                kMalformedHelp, {{"reason", "ext_headers"}});
  k[EGRESSD_FLOW_STAT_MAP_FULL] =
      &m.counter("egressd_ebpf_map_full_packets_total",
                 "Packets that found the eBPF flow buffer full and went through the overflow "
                 "ring buffer instead (still counted).");
  k[EGRESSD_FLOW_STAT_LOST_PACKETS] =
      &m.counter("egressd_ebpf_lost_packets_total",
                 "Packets not counted: the flow buffer and the overflow ring were both full.");
  k[EGRESSD_FLOW_STAT_LOST_BYTES] =
      &m.counter("egressd_ebpf_lost_bytes_total",
                 "L3 bytes of the packets in egressd_ebpf_lost_packets_total.");
}

void SourceMetrics::add_kernel_stats(const FlowStats& now) {
  for (size_t i = 0; i < now.size(); ++i) {
    // A per-CPU counter never goes backwards while the object is loaded.
    if (kernel[i] != nullptr && now[i] > last_[i]) kernel[i]->inc(now[i] - last_[i]);
  }
  last_ = now;
}

}  // namespace egressd::ebpf
