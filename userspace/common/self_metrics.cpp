#include "egressd/common/self_metrics.h"

namespace egressd {

SelfMetrics::Entry* SelfMetrics::find(const std::string& name, const MetricLabels& labels) {
  for (auto& e : entries_) {
    if (e.name == name && e.labels == labels) return &e;
  }
  return nullptr;
}

Counter& SelfMetrics::counter(const std::string& name, const std::string& help,
                              MetricLabels labels) {
  std::lock_guard lock(mutex_);
  if (Entry* e = find(name, labels); e != nullptr && e->type == Type::kCounter) {
    return *e->counter;
  }
  Counter& c = counters_.emplace_back();
  entries_.push_back(Entry{name, help, std::move(labels), Type::kCounter, &c, nullptr});
  return c;
}

Gauge& SelfMetrics::gauge(const std::string& name, const std::string& help, MetricLabels labels) {
  std::lock_guard lock(mutex_);
  if (Entry* e = find(name, labels); e != nullptr && e->type == Type::kGauge) {
    return *e->gauge;
  }
  Gauge& g = gauges_.emplace_back();
  entries_.push_back(Entry{name, help, std::move(labels), Type::kGauge, nullptr, &g});
  return g;
}

void SelfMetrics::visit(const std::function<void(const Entry&)>& fn) const {
  std::lock_guard lock(mutex_);
  for (const auto& e : entries_) fn(e);
}

}  // namespace egressd
