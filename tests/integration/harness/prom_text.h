// Parser for the Prometheus text exposition format (version 0.0.4) as far as the tests need it:
// samples with their labels; comments and HELP/TYPE lines are skipped (promtool checks those).
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace egressd::testing {

struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

// Throws HarnessError naming the line for anything it cannot read.
[[nodiscard]] std::vector<Sample> parse_prometheus_text(std::string_view text);

// The value of the sample `name` with `label` = `value` (the first sample of that name when
// `label` is empty); -1 when absent.
[[nodiscard]] double metric_value(const std::vector<Sample>& samples, const std::string& name,
                                  const std::string& label = "", const std::string& value = "");

// The sum of every sample named `name`, whatever its labels; 0 when absent.
[[nodiscard]] double metric_sum(const std::vector<Sample>& samples, const std::string& name);

}  // namespace egressd::testing
