// The netfilter source's self-metrics, registered once in the SelfMetrics registry (names and
// meanings: docs/conntrack.md).
#pragma once

#include "egressd/common/self_metrics.h"

namespace egressd::conntrack {

struct SourceMetrics {
  explicit SourceMetrics(SelfMetrics& m);

  Counter& records_read;         // egressd_records_read_total{source="netfilter"}: entries parsed
  Counter& dropped_transit;      // egressd_records_dropped_total{reason="transit"}
  Counter& dropped_no_counters;  // ...{reason="no_counters"}
  Counter& dropped_parse_error;  // ...{reason="parse_error"}
  Counter& events_destroy;       // egressd_conntrack_events_total{type="destroy"}
  Counter& event_overflows;      // egressd_conntrack_event_overflows_total (ENOBUFS)
  Counter& foreign_messages;     // egressd_conntrack_foreign_messages_total (not from the kernel)
  Counter& dumps;                // egressd_conntrack_dumps_total
  Counter& wakeups;              // egressd_conntrack_source_wakeups_total (poll() returned)
  Counter& dumps_interrupted;    // egressd_conntrack_dump_interrupted_total (NLM_F_DUMP_INTR)
  Counter& dump_errors;          // egressd_conntrack_dump_errors_total (failed, aborted, bad bytes)
  Gauge& entries;                // egressd_conntrack_entries: entries in the last complete dump
  Gauge& dump_duration;          // egressd_conntrack_dump_duration_seconds (last dump)
  Gauge& accounting_enabled;     // egressd_conntrack_accounting_enabled (0/1)
};

}  // namespace egressd::conntrack
