// FlowMetrics: the four per-direction flow counters — castai/egressd's egressd_transmit_bytes_total
// and egressd_received_bytes_total, and egressd's own egressd_transmit_packets_total and
// egressd_received_packets_total.
//
// Consumes the reducer's snapshots, labels each flow with the current cluster index, and keeps one
// monotonic series per label set. A series that received nothing for `series_ttl` is dropped
// (a later delta starts it again from zero, which Prometheus reads as a counter reset).
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include <prometheus/metric_family.h>

#include "egressd/common/atomic_snapshot.h"
#include "egressd/common/clock.h"
#include "egressd/common/self_metrics.h"
#include "enrich/enricher.h"
#include "kube/cluster_index.h"
#include "pipeline/snapshot.h"

namespace egressd::exporter {

using ClusterIndexView = AtomicSnapshot<kube::ClusterIndex>;

struct FlowMetricsOptions {
  std::chrono::seconds series_ttl{600};
  enrich::EnrichOptions enrich;
};

class FlowMetrics final : public pipeline::SnapshotSink {
 public:
  FlowMetrics(const FlowMetricsOptions& options, const ClusterIndexView& index,
              SelfMetrics& metrics, const Clock& clock);

  void consume(std::shared_ptr<const pipeline::Snapshot> snapshot) override;

  // The four metric families as of now, for the /metrics handler.
  [[nodiscard]] std::vector<prometheus::MetricFamily> collect() const;
  // Snapshots consumed so far (readiness: the first interval has been published).
  [[nodiscard]] uint64_t snapshots() const;

 private:
  struct Series {
    Counters total;             // per-direction counters
    uint64_t merged_bytes = 0;  // both directions summed (FlowKey kFlowMergedDirections)
    uint64_t merged_packets = 0;
    bool has_split = false;   // exported in the transmit/received families
    bool has_merged = false;  // exported in the transferred families
    std::chrono::steady_clock::time_point last_update;
  };

  void expire(std::chrono::steady_clock::time_point now);

  FlowMetricsOptions options_;
  const ClusterIndexView& index_;
  const Clock& clock_;
  enrich::Enricher enricher_;
  mutable std::mutex mutex_;
  std::unordered_map<enrich::FlowLabels, Series, enrich::FlowLabelsHash> series_;
  uint64_t snapshots_ = 0;

  Counter& excluded_;
  Counter& expired_;
  Gauge& series_gauge_;
};

}  // namespace egressd::exporter
