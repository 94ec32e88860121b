#include "conntrack/source_metrics.h"

namespace egressd::conntrack {

SourceMetrics::SourceMetrics(SelfMetrics& m)
    : records_read(
          m.counter(metric::kRecordsRead, metric::kRecordsReadHelp, {{"source", "netfilter"}})),
      dropped_transit(
          m.counter(metric::kRecordsDropped, metric::kRecordsDroppedHelp, {{"reason", "transit"}})),
      dropped_no_counters(m.counter(metric::kRecordsDropped, metric::kRecordsDroppedHelp,
                                    {{"reason", "no_counters"}})),
      dropped_parse_error(m.counter(metric::kRecordsDropped, metric::kRecordsDroppedHelp,
                                    {{"reason", "parse_error"}})),
      events_destroy(m.counter("egressd_conntrack_events_total",
                               "Conntrack events received, by type.", {{"type", "destroy"}})),
      event_overflows(m.counter("egressd_conntrack_event_overflows_total",
                                "ENOBUFS on the conntrack event socket: destroy events were lost "
                                "(a resync dump follows).")),
      foreign_messages(m.counter("egressd_conntrack_foreign_messages_total",
                                 "Netlink messages on the conntrack sockets that did not come from "
                                 "the kernel, dropped.")),
      dumps(m.counter("egressd_conntrack_dumps_total", "Conntrack table dumps started.")),
      wakeups(m.counter("egressd_conntrack_source_wakeups_total",
                        "Times the conntrack source's thread woke from waiting (a read "
                        "deadline, destroy events, or stop).")),
      dumps_interrupted(m.counter("egressd_conntrack_dump_interrupted_total",
                                  "Conntrack dumps flagged NLM_F_DUMP_INTR (inconsistent), not "
                                  "marked complete.")),
      dump_errors(m.counter("egressd_conntrack_dump_errors_total",
                            "Conntrack dumps that failed, were aborted or carried unparsable "
                            "entries, not marked complete.")),
      entries(m.gauge("egressd_conntrack_entries", "Entries in the last complete conntrack dump.")),
      dump_duration(m.gauge("egressd_conntrack_dump_duration_seconds",
                            "Duration of the last conntrack dump.")),
      accounting_enabled(m.gauge("egressd_conntrack_accounting_enabled",
                                 "1 if net.netfilter.nf_conntrack_acct is on in the agent's "
                                 "network namespace (else entries carry no counters).")) {}

}  // namespace egressd::conntrack
