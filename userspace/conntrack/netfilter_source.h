// The netfilter conntrack source: reads the conntrack table of the agent's network namespace over
// netlink (libmnl) and turns each entry into FlowRecords per the accounting contract.
//
// Every read interval it dumps IPv4 and IPv6 entries with their counters (cumulative records,
// then a kReadComplete marker). Between dumps it listens to DESTROY events on a reliable
// subscription (NETLINK_BROADCAST_ERROR + NETLINK_NO_ENOBUFS) so flows that open and close between
// two reads keep their final counters (final records). ENOBUFS is counted and followed by a resync
// dump; interrupted dumps (NLM_F_DUMP_INTR) are counted and not marked complete.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string_view>

#include "egressd/common/clock.h"
#include "egressd/common/error.h"
#include "egressd/common/self_metrics.h"
#include "egressd/local_endpoints.h"
#include "egressd/source.h"

namespace egressd::conntrack {

struct NetfilterSourceOptions {
  std::chrono::milliseconds read_interval{5000};
  size_t batch_records = 4096;           // records per RecordBatch pushed to the sink
  size_t event_rcvbuf_bytes = 8 << 20;   // SO_RCVBUFFORCE of the DESTROY subscription
  const Clock* clock = &system_clock();  // the dump schedule's time; must outlive the source
};

// Opens the netlink sockets (fails with a clear error without CAP_NET_ADMIN or without conntrack).
[[nodiscard]] Result<std::unique_ptr<Source>> make_netfilter_source(
    const NetfilterSourceOptions& options, const LocalEndpointsView& endpoints, BatchSink& sink,
    SelfMetrics& metrics);

// Where procfs shows the current network namespace's netfilter sysctls (procfs resolves
// /proc/sys/net against the network namespace of the opening thread).
inline constexpr std::string_view kNetfilterSysctlDir = "/proc/sys/net/netfilter";

// net.netfilter.nf_conntrack_acct, read from `sysctl_dir`.
[[nodiscard]] Result<bool> accounting_enabled(std::string_view sysctl_dir = kNetfilterSysctlDir);
// Sets net.netfilter.nf_conntrack_acct=1 through `sysctl_dir` (a container's /proc/sys is
// read-only: the chart's init container mounts the host's directory elsewhere); entries created
// before keep no counters.
[[nodiscard]] Status enable_accounting(std::string_view sysctl_dir = kNetfilterSysctlDir);

}  // namespace egressd::conntrack
