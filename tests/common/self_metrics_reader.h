// Reading a SelfMetrics registry in tests: the one helper every test uses.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string_view>

#include "egressd/common/self_metrics.h"

namespace egressd::testing {

namespace detail {
// True if every label of `want` is among `have` (so an empty `want` matches every series).
inline bool has_labels(const MetricLabels& have, const MetricLabels& want) {
  return std::all_of(want.begin(), want.end(), [&](const auto& l) {
    return std::find(have.begin(), have.end(), l) != have.end();
  });
}
}  // namespace detail

// The sum of the counters named `name` whose labels include `labels` (all of them if empty); 0
// when there is none.
inline uint64_t counter_value(const SelfMetrics& m, std::string_view name,
                              const MetricLabels& labels = {}) {
  uint64_t v = 0;
  m.visit([&](const SelfMetrics::Entry& e) {
    if (e.type == SelfMetrics::Type::kCounter && e.name == name &&
        detail::has_labels(e.labels, labels)) {
      v += e.counter->value();
    }
  });
  return v;
}

// The gauge named `name` with exactly `labels`; NaN when there is none (which equals nothing).
inline double gauge_value(const SelfMetrics& m, std::string_view name,
                          const MetricLabels& labels = {}) {
  double v = std::numeric_limits<double>::quiet_NaN();
  m.visit([&](const SelfMetrics::Entry& e) {
    if (e.type == SelfMetrics::Type::kGauge && e.name == name && e.labels == labels) {
      v = e.gauge->value();
    }
  });
  return v;
}

// The counter or gauge named `name` with exactly `labels`, as a double; NaN when there is none.
inline double metric_value(const SelfMetrics& m, std::string_view name,
                           const MetricLabels& labels = {}) {
  double v = std::numeric_limits<double>::quiet_NaN();
  m.visit([&](const SelfMetrics::Entry& e) {
    if (e.name != name || e.labels != labels) return;
    v = e.type == SelfMetrics::Type::kCounter ? static_cast<double>(e.counter->value())
                                              : e.gauge->value();
  });
  return v;
}

// Whether the registry has a series named `name` with exactly `labels`.
inline bool has_metric(const SelfMetrics& m, std::string_view name,
                       const MetricLabels& labels = {}) {
  bool found = false;
  m.visit([&](const SelfMetrics::Entry& e) {
    found = found || (e.name == name && e.labels == labels);
  });
  return found;
}

}  // namespace egressd::testing
