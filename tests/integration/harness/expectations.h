// What the agent must export, derived from the ground truth and the cluster model — never from
// the agent — and the agent's /metrics read into the same shape.
//
// A series is keyed like the accounting contract's record: (local endpoint, real peer, proto),
// exported as src_ip/dst_ip/proto. Expected values: for every local endpoint L and peer P,
// transmit = truth(L -> P) and received = truth(P -> L); a pair between two local pods yields a
// series on each side (A's transmit is B's received).
#pragma once

#include <compare>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "harness/ground_truth.h"
#include "harness/prom_text.h"

namespace egressd::testing {

struct SeriesKey {
  std::string src_ip;  // canonical
  std::string dst_ip;
  std::string proto;  // label value: "TCP", "UDP", ...

  friend auto operator<=>(const SeriesKey&, const SeriesKey&) = default;
};

struct SeriesCounters {
  uint64_t tx_bytes = 0;
  uint64_t tx_packets = 0;
  uint64_t rx_bytes = 0;
  uint64_t rx_packets = 0;
  friend bool operator==(const SeriesCounters&, const SeriesCounters&) = default;
};

struct Series {
  SeriesCounters counters;
  std::map<std::string, std::string> labels;  // all labels of the series
};

using SeriesMap = std::map<SeriesKey, Series>;

// The four counter families, in the order the tests report them.
inline constexpr const char* kTxBytes = "egressd_transmit_bytes_total";
inline constexpr const char* kRxBytes = "egressd_received_bytes_total";
inline constexpr const char* kTxPackets = "egressd_transmit_packets_total";
inline constexpr const char* kRxPackets = "egressd_received_packets_total";

// The labels castai/egressd exports (and dashboards group by).
[[nodiscard]] const std::vector<std::string>& flow_label_names();

// Expected series (with their full expected label sets) for the pairs in `truth`. Pairs with no
// local endpoint are not the agent's to report and are skipped.
[[nodiscard]] SeriesMap expected_series(const PairCounts& truth);

// The agent's flow series from its /metrics samples. Series with a loopback address are left
// out: the node namespace's loopback carries the test's own scrapes, which no ground truth counts.
[[nodiscard]] SeriesMap agent_series(const std::vector<Sample>& samples);

// Human-readable differences of the counters ("" when equal), one line per series.
[[nodiscard]] std::string counter_diff(const SeriesMap& expected, const SeriesMap& actual);

// Differences of the flow labels (flow_label_names()) of the series present in both.
[[nodiscard]] std::string label_diff(const SeriesMap& expected, const SeriesMap& actual);

// Sums a counter family of `series` grouped by the values of `by` (like PromQL `sum by`),
// keeping series for which `keep` holds.
using GroupKey = std::map<std::string, std::string>;
template <typename Keep>
std::map<GroupKey, uint64_t> sum_by(const SeriesMap& series, uint64_t SeriesCounters::* field,
                                    const std::vector<std::string>& by, Keep&& keep) {
  std::map<GroupKey, uint64_t> sums;
  for (const auto& [key, s] : series) {
    if (!keep(s)) {
      continue;
    }
    GroupKey g;
    for (const auto& label : by) {
      const auto it = s.labels.find(label);
      if (it != s.labels.end() && !it->second.empty()) {
        g[label] = it->second;  // Prometheus drops empty labels from results
      }
    }
    sums[g] += s.counters.*field;
  }
  return sums;
}

[[nodiscard]] std::string to_string(const SeriesMap& series);

}  // namespace egressd::testing
