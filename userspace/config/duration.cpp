// Go's time.ParseDuration, rule for rule, so that a value written for castai/egressd (a Go
// program using flag.Duration) means the same thing here: "1h30m", "1.5s", ".5s", "-2m3.4s",
// "0", and the micro sign in either spelling. See Go's src/time/format.go, ParseDuration.
#include <array>
#include <chrono>
#include <cstdint>
#include <string_view>

#include <fmt/format.h>

#include "config/config.h"
#include "config/settings.h"

namespace egressd::config {
namespace {

constexpr uint64_t kMaxMagnitude = uint64_t{1} << 63;  // |INT64_MIN|

struct Unit {
  std::string_view name;
  uint64_t ns;
};
constexpr std::array<Unit, 8> kUnits{{
    {"ns", 1},
    {"us", 1'000},
    {"\u00b5s", 1'000},  // U+00B5 MICRO SIGN
    {"\u03bcs", 1'000},  // U+03BC GREEK SMALL LETTER MU
    {"ms", 1'000'000},
    {"s", 1'000'000'000},
    {"m", 60'000'000'000},
    {"h", 3'600'000'000'000},
}};

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// Consumes [0-9]*; false on overflow past 2^63 (Go: errLeadingInt).
bool leading_int(std::string_view& s, uint64_t& x) {
  x = 0;
  size_t i = 0;
  for (; i < s.size() && is_digit(s[i]); ++i) {
    if (x > kMaxMagnitude / 10) return false;
    x = x * 10 + static_cast<uint64_t>(s[i] - '0');
    if (x > kMaxMagnitude) return false;
  }
  s.remove_prefix(i);
  return true;
}

// Consumes [0-9]* after the dot. Digits past 63 bits of precision are ignored, not an error.
void leading_fraction(std::string_view& s, uint64_t& x, double& scale) {
  x = 0;
  scale = 1;
  bool overflow = false;
  size_t i = 0;
  for (; i < s.size() && is_digit(s[i]); ++i) {
    if (overflow) continue;
    if (x > (kMaxMagnitude - 1) / 10) {
      overflow = true;
      continue;
    }
    const uint64_t y = x * 10 + static_cast<uint64_t>(s[i] - '0');
    if (y > kMaxMagnitude) {
      overflow = true;
      continue;
    }
    x = y;
    scale *= 10;
  }
  s.remove_prefix(i);
}

}  // namespace

Result<std::chrono::nanoseconds> parse_duration(std::string_view text) {
  const auto invalid = [&](std::string_view why) {
    return fail(Errc::kInvalidArgument,
                fmt::format("invalid duration {}: {}", detail::quote(text), why));
  };
  std::string_view s = text;
  bool negative = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return std::chrono::nanoseconds{0};
  if (s.empty()) return invalid("empty duration");

  uint64_t total = 0;
  while (!s.empty()) {
    if (s[0] != '.' && !is_digit(s[0])) return invalid("expected a number");
    const size_t before_int = s.size();
    uint64_t v = 0;
    if (!leading_int(s, v)) return invalid("number too large");
    const bool pre = before_int != s.size();
    bool post = false;
    uint64_t f = 0;
    double scale = 1;
    if (!s.empty() && s[0] == '.') {
      s.remove_prefix(1);
      const size_t before_frac = s.size();
      leading_fraction(s, f, scale);
      post = before_frac != s.size();
    }
    if (!pre && !post) return invalid("expected a number");

    size_t unit_len = 0;
    while (unit_len < s.size() && s[unit_len] != '.' && !is_digit(s[unit_len])) ++unit_len;
    if (unit_len == 0) return invalid("missing unit (ns, us, ms, s, m, h)");
    const std::string_view unit_name = s.substr(0, unit_len);
    s.remove_prefix(unit_len);
    const Unit* unit = nullptr;
    for (const auto& u : kUnits) {
      if (u.name == unit_name) unit = &u;
    }
    if (unit == nullptr) {
      return invalid(fmt::format("unknown unit \"{}\" (use ns, us, ms, s, m or h)", unit_name));
    }
    if (v > kMaxMagnitude / unit->ns) return invalid("duration out of range");
    v *= unit->ns;
    if (f > 0) {
      // Same float arithmetic as Go, so fractional hours round to the same nanosecond.
      v += static_cast<uint64_t>(static_cast<double>(f) * (static_cast<double>(unit->ns) / scale));
      if (v > kMaxMagnitude) return invalid("duration out of range");
    }
    total += v;
    if (total > kMaxMagnitude) return invalid("duration out of range");
  }
  if (negative) {
    // -2^63 is representable; negate in unsigned arithmetic to avoid signed overflow.
    return std::chrono::nanoseconds{static_cast<int64_t>(~total + 1)};
  }
  if (total > kMaxMagnitude - 1) return invalid("duration out of range");
  return std::chrono::nanoseconds{static_cast<int64_t>(total)};
}

}  // namespace egressd::config
