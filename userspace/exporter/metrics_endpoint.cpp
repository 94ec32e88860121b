#include "exporter/metrics_endpoint.h"

#include <unordered_map>

#include <prometheus/text_serializer.h>

namespace egressd::exporter {

std::vector<prometheus::MetricFamily> self_metric_families(const SelfMetrics& metrics) {
  std::vector<prometheus::MetricFamily> families;
  std::unordered_map<std::string, size_t> by_name;
  metrics.visit([&](const SelfMetrics::Entry& e) {
    auto [it, inserted] = by_name.try_emplace(e.name, families.size());
    if (inserted) {
      prometheus::MetricFamily f;
      f.name = e.name;
      f.help = e.help;
      f.type = e.type == SelfMetrics::Type::kCounter ? prometheus::MetricType::Counter
                                                     : prometheus::MetricType::Gauge;
      families.push_back(std::move(f));
    }
    prometheus::ClientMetric m;
    for (const auto& [name, value] : e.labels) m.label.push_back({name, value});
    if (e.type == SelfMetrics::Type::kCounter) {
      m.counter.value = static_cast<double>(e.counter->value());
    } else {
      m.gauge.value = e.gauge->value();
    }
    families[it->second].metric.push_back(std::move(m));
  });
  return families;
}

std::string render_metrics(const SelfMetrics& metrics, const FlowMetrics& flows) {
  auto families = flows.collect();
  auto self = self_metric_families(metrics);
  families.insert(families.end(), std::make_move_iterator(self.begin()),
                  std::make_move_iterator(self.end()));
  return prometheus::TextSerializer().Serialize(families);
}

}  // namespace egressd::exporter
