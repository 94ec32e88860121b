#include "harness/prom_text.h"

#include <cmath>
#include <cstdlib>
#include <string>

#include <fmt/format.h>

#include "harness/util.h"

namespace egressd::testing {
namespace {

[[noreturn]] void bad(std::string_view line, std::string_view why) {
  throw HarnessError(fmt::format("metrics text: {} in line '{}'", why, line));
}

double parse_value(std::string_view text, std::string_view line) {
  if (text == "+Inf") {
    return HUGE_VAL;
  }
  if (text == "-Inf") {
    return -HUGE_VAL;
  }
  if (text == "NaN") {
    return std::nan("");
  }
  const std::string s(text);
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size() || s.empty()) {
    bad(line, "bad value");
  }
  return v;
}

}  // namespace

std::vector<Sample> parse_prometheus_text(std::string_view text) {
  std::vector<Sample> samples;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) {
      eol = text.size();
    }
    const std::string_view line = text.substr(pos, eol - pos);
    pos = eol + 1;
    if (line.empty() || line.front() == '#') {
      continue;
    }
    Sample s;
    size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') {
      ++i;
    }
    s.name = std::string(line.substr(0, i));
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (true) {
        while (i < line.size() && (line[i] == ',' || line[i] == ' ')) {
          ++i;
        }
        if (i >= line.size()) {
          bad(line, "unterminated labels");
        }
        if (line[i] == '}') {
          ++i;
          break;
        }
        const size_t eq = line.find('=', i);
        if (eq == std::string_view::npos || eq + 1 >= line.size() || line[eq + 1] != '"') {
          bad(line, "bad label");
        }
        const std::string key(line.substr(i, eq - i));
        std::string value;
        i = eq + 2;
        while (i < line.size() && line[i] != '"') {
          if (line[i] == '\\' && i + 1 < line.size()) {
            ++i;
            value += line[i] == 'n' ? '\n' : line[i];
          } else {
            value += line[i];
          }
          ++i;
        }
        if (i >= line.size()) {
          bad(line, "unterminated label value");
        }
        ++i;  // closing quote
        s.labels.emplace(key, std::move(value));
      }
    }
    while (i < line.size() && line[i] == ' ') {
      ++i;
    }
    const size_t value_end = line.find(' ', i);  // an optional timestamp follows
    s.value =
        parse_value(line.substr(i, value_end == std::string_view::npos ? std::string_view::npos
                                                                       : value_end - i),
                    line);
    samples.push_back(std::move(s));
  }
  return samples;
}

double metric_value(const std::vector<Sample>& samples, const std::string& name,
                    const std::string& label, const std::string& value) {
  for (const auto& s : samples) {
    if (s.name != name) continue;
    if (label.empty() || (s.labels.contains(label) && s.labels.at(label) == value)) return s.value;
  }
  return -1;
}

double metric_sum(const std::vector<Sample>& samples, const std::string& name) {
  double sum = 0;
  for (const auto& s : samples) {
    if (s.name == name) sum += s.value;
  }
  return sum;
}

}  // namespace egressd::testing
