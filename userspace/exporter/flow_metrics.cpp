#include "exporter/flow_metrics.h"

#include <array>

namespace egressd::exporter {

namespace {

struct FamilySpec {
  const char* name;
  const char* help;
  uint64_t Counters::* field;
};

// The per-direction families (the byte counters are castai/egressd's, the packet counters new).
constexpr std::array<FamilySpec, 4> kFamilies = {{
    {"egressd_transmit_bytes_total",
     "Bytes sent by the source (local endpoint) to the destination.", &Counters::tx_bytes},
    {"egressd_received_bytes_total", "Bytes received by the source from the destination.",
     &Counters::rx_bytes},
    {"egressd_transmit_packets_total", "Packets sent by the source to the destination.",
     &Counters::tx_packets},
    {"egressd_received_packets_total", "Packets received by the source from the destination.",
     &Counters::rx_packets},
}};

// Sources that cannot tell the directions apart (Cilium 1.16+ conntrack values without the
// cilium_ct_stats maps) are exported here, never split into transmit/received.
constexpr const char* kMergedBytesName = "egressd_transferred_bytes_total";
constexpr const char* kMergedBytesHelp =
    "Bytes in both directions between the source and the destination, from a source that does "
    "not count the directions apart (Cilium 1.16+ conntrack maps without cilium_ct_stats).";
constexpr const char* kMergedPacketsName = "egressd_transferred_packets_total";
constexpr const char* kMergedPacketsHelp =
    "Packets in both directions between the source and the destination, from a source that "
    "does not count the directions apart (Cilium 1.16+ conntrack maps without cilium_ct_stats).";

}  // namespace

FlowMetrics::FlowMetrics(const FlowMetricsOptions& options, const ClusterIndexView& index,
                         SelfMetrics& metrics, const Clock& clock)
    : options_(options),
      index_(index),
      clock_(clock),
      enricher_(options.enrich),
      excluded_(metrics.counter("egressd_flows_excluded_total",
                                "Flow deltas not exported because the local pod's namespace is "
                                "listed in --exclude-namespaces.")),
      expired_(metrics.counter("egressd_series_expired_total",
                               "Flow series removed after --metrics-series-ttl without traffic.")),
      series_gauge_(metrics.gauge("egressd_series", "Flow series currently exported.")) {}

void FlowMetrics::consume(std::shared_ptr<const pipeline::Snapshot> snapshot) {
  const auto index = index_.get();
  const auto now = clock_.now();
  // Label outside the lock: a scrape only waits for the merge below.
  struct Labeled {
    enrich::FlowLabels labels;
    Counters delta;
    bool merged;
  };
  std::vector<Labeled> labeled;
  labeled.reserve(snapshot->flows.size());
  for (const auto& flow : snapshot->flows) {
    auto labels = enricher_.labels(flow.key, *index);
    if (!labels) {
      excluded_.inc();
      continue;
    }
    labeled.push_back({std::move(*labels), flow.delta, flow.key.merged_directions()});
  }
  std::lock_guard lock(mutex_);
  for (auto& l : labeled) {
    Series& s = series_[std::move(l.labels)];
    if (l.merged) {
      // Merged keys carry the total of both directions in tx (FlowKey::flags).
      s.merged_bytes += l.delta.tx_bytes;
      s.merged_packets += l.delta.tx_packets;
      s.has_merged = true;
    } else {
      s.total += l.delta;
      s.has_split = true;
    }
    s.last_update = now;
  }
  ++snapshots_;
  expire(now);
  series_gauge_.set(static_cast<double>(series_.size()));
}

void FlowMetrics::expire(std::chrono::steady_clock::time_point now) {
  const auto cutoff = now - options_.series_ttl;
  const auto removed =
      std::erase_if(series_, [&](const auto& kv) { return kv.second.last_update < cutoff; });
  expired_.inc(removed);
}

uint64_t FlowMetrics::snapshots() const {
  std::lock_guard lock(mutex_);
  return snapshots_;
}

std::vector<prometheus::MetricFamily> FlowMetrics::collect() const {
  std::vector<prometheus::MetricFamily> families(kFamilies.size());
  for (size_t i = 0; i < kFamilies.size(); ++i) {
    families[i].name = kFamilies[i].name;
    families[i].help = kFamilies[i].help;
    families[i].type = prometheus::MetricType::Counter;
  }
  prometheus::MetricFamily merged_bytes{
      kMergedBytesName, kMergedBytesHelp, prometheus::MetricType::Counter, {}};
  prometheus::MetricFamily merged_packets{
      kMergedPacketsName, kMergedPacketsHelp, prometheus::MetricType::Counter, {}};
  std::lock_guard lock(mutex_);
  for (auto& f : families) f.metric.reserve(series_.size());
  for (const auto& [labels, series] : series_) {
    prometheus::ClientMetric m;
    m.label.reserve(enrich::kLabelNames.size() + 2);
    labels.for_each([&](std::string_view name, const std::string& value) {
      m.label.push_back({std::string(name), value});
    });
    if (series.has_split) {
      for (size_t i = 0; i < kFamilies.size(); ++i) {
        m.counter.value = static_cast<double>(series.total.*kFamilies[i].field);
        families[i].metric.push_back(m);
      }
    }
    if (series.has_merged) {
      m.counter.value = static_cast<double>(series.merged_bytes);
      merged_bytes.metric.push_back(m);
      m.counter.value = static_cast<double>(series.merged_packets);
      merged_packets.metric.push_back(m);
    }
  }
  // Only present when a merged-direction source produced data: otherwise a dashboard sees exactly
  // the four per-direction families.
  if (!merged_bytes.metric.empty()) {
    families.push_back(std::move(merged_bytes));
    families.push_back(std::move(merged_packets));
  }
  return families;
}

}  // namespace egressd::exporter
