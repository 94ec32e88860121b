// The /metrics document: self-metrics of every stage plus the flow metrics, serialized by
// prometheus-cpp's text serializer (Prometheus exposition format 0.0.4).
#pragma once

#include <string>
#include <vector>

#include <prometheus/metric_family.h>

#include "egressd/common/self_metrics.h"
#include "exporter/flow_metrics.h"

namespace egressd::exporter {

// Groups the registry's entries into families (one per name, in registration order).
[[nodiscard]] std::vector<prometheus::MetricFamily> self_metric_families(
    const SelfMetrics& metrics);

// The whole exposition text.
[[nodiscard]] std::string render_metrics(const SelfMetrics& metrics, const FlowMetrics& flows);

}  // namespace egressd::exporter
