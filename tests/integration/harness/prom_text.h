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

}  // namespace egressd::testing
