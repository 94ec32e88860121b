// SelfMetrics: counters and gauges that modules own and the exporter publishes.
//
// A module registers its metrics once at construction (not on a hot path) and keeps references;
// updates are relaxed atomic operations. The exporter visits the registry at scrape time, so no
// module depends on the Prometheus library.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace egressd {

// Families that several modules add series to: one name and one help text each, here, so the
// exported HELP line is right whichever source registered first.
namespace metric {
inline constexpr const char* kRecordsRead = "egressd_records_read_total";
inline constexpr const char* kRecordsReadHelp =
    "Records read by the flow source, by source (netfilter: conntrack entries parsed from dumps "
    "and destroy events; ebpf: flow keys drained and overflow-ring records; cilium: conntrack "
    "map entries read).";
inline constexpr const char* kRecordsDropped = "egressd_records_dropped_total";
inline constexpr const char* kRecordsDroppedHelp = "Records not counted, by reason.";
}  // namespace metric

using MetricLabels = std::vector<std::pair<std::string, std::string>>;

class Counter {
 public:
  void inc(uint64_t n = 1) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
  [[nodiscard]] uint64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

class Gauge {
 public:
  void set(double v) noexcept { value_.store(v, std::memory_order_relaxed); }
  [[nodiscard]] double value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class SelfMetrics {
 public:
  enum class Type { kCounter, kGauge };
  struct Entry {
    std::string name;
    std::string help;
    MetricLabels labels;
    Type type;
    Counter* counter;
    Gauge* gauge;
  };

  // Returns the metric with this name and labels, creating it on first use. Names follow
  // Prometheus conventions (counters end in _total). Stable references for the registry's life.
  Counter& counter(const std::string& name, const std::string& help, MetricLabels labels = {});
  Gauge& gauge(const std::string& name, const std::string& help, MetricLabels labels = {});

  // Calls `fn` for every metric, in registration order.
  void visit(const std::function<void(const Entry&)>& fn) const;

 private:
  Entry* find(const std::string& name, const MetricLabels& labels);

  mutable std::mutex mutex_;
  std::deque<Counter> counters_;
  std::deque<Gauge> gauges_;
  std::vector<Entry> entries_;
};

}  // namespace egressd
