#include "cilium/lifetime.h"

#include <time.h>

#include <array>
#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include <fmt/format.h>

namespace egressd::cilium {

namespace {

constexpr std::array<uint32_t, 4> kHzValues{1000, 300, 250, 100};
constexpr double kWindowPastS = -86400.0;       // GC may lag behind expiry
constexpr double kWindowFutureS = 8 * 86400.0;  // longest plausible --bpf-ct-timeout-*

// The number after `prefix` at the start of a line, skipping spaces.
std::optional<uint64_t> value_after(std::string_view text, std::string_view prefix) noexcept {
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t eol = text.find('\n', pos);
    std::string_view line =
        text.substr(pos, eol == std::string_view::npos ? std::string_view::npos : eol - pos);
    if (line.substr(0, prefix.size()) == prefix) {
      line.remove_prefix(prefix.size());
      while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
      uint64_t v = 0;
      const auto [end, ec] = std::from_chars(line.data(), line.data() + line.size(), v);
      if (ec == std::errc() && end != line.data()) return v;
      return std::nullopt;
    }
    if (eol == std::string_view::npos) break;
    pos = eol + 1;
  }
  return std::nullopt;
}

Result<std::string> slurp(const char* path) {
  std::ifstream in(path);
  if (!in) return fail_errno(fmt::format("opening {}", path));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

double seconds_in(ClockSource source, uint32_t lifetime, uint64_t mono_ns, uint64_t jiffies,
                  uint32_t hz) noexcept {
  LifetimeClock c(source, hz);
  c.set_now(mono_ns, jiffies);
  return c.remaining_seconds(lifetime);
}

}  // namespace

std::string_view clock_name(ClockSource clock) noexcept {
  return clock == ClockSource::kKtime ? "ktime" : "jiffies";
}

std::optional<uint64_t> parse_schedstat_jiffies(std::string_view text) noexcept {
  return value_after(text, "timestamp ");
}

std::optional<uint64_t> parse_timer_list_jiffies(std::string_view text) noexcept {
  return value_after(text, "jiffies:");
}

Result<uint64_t> read_jiffies() {
  // /proc/schedstat's timestamp line is the raw jiffies (kernel/sched/stats.c); it exists only
  // with CONFIG_SCHEDSTATS. /proc/timer_list prints "jiffies: N" for each tick device.
  if (auto text = slurp("/proc/schedstat")) {
    if (auto j = parse_schedstat_jiffies(*text)) return *j;
  }
  auto text = slurp("/proc/timer_list");
  if (!text) {
    return std::unexpected(
        std::move(text.error())
            .wrap("reading jiffies (no /proc/schedstat timestamp; /proc/timer_list needs root)"));
  }
  if (auto j = parse_timer_list_jiffies(*text)) return *j;
  return fail(Errc::kUnsupported, "reading jiffies: no \"jiffies:\" line in /proc/timer_list");
}

uint32_t snap_hz(double ticks_per_second) noexcept {
  uint32_t best = kHzValues[0];
  double best_distance = std::abs(ticks_per_second - best);
  for (const uint32_t hz : kHzValues) {
    const double d = std::abs(ticks_per_second - hz);
    if (d < best_distance) {
      best = hz;
      best_distance = d;
    }
  }
  return best;
}

uint64_t monotonic_ns() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ULL + static_cast<uint64_t>(ts.tv_nsec);
}

Result<uint32_t> estimate_hz(std::chrono::milliseconds gap) {
  // Interpolates over the real elapsed time, not the requested gap: a sleep can overshoot a lot
  // under load or on hypervisors with coarse timers (as Cilium's own probe notes).
  auto j1 = read_jiffies();
  if (!j1) return std::unexpected(std::move(j1.error()));
  const uint64_t t1 = monotonic_ns();
  std::this_thread::sleep_for(gap);
  auto j2 = read_jiffies();
  if (!j2) return std::unexpected(std::move(j2.error()));
  const uint64_t t2 = monotonic_ns();
  if (*j2 < *j1 || t2 <= t1) {
    return fail(Errc::kInternal, "estimating HZ: the kernel's jiffies went backwards");
  }
  const double rate = static_cast<double>(*j2 - *j1) / (static_cast<double>(t2 - t1) / 1e9);
  return snap_hz(rate);
}

void LifetimeClock::set_now(uint64_t mono_ns, uint64_t jiffies) noexcept {
  // Cilium stores bpf_mono_now() in the u32 lifetime field: truncate the same way.
  now_units_ = source_ == ClockSource::kKtime ? static_cast<uint32_t>(mono_ns / 1'000'000'000ULL)
                                              : static_cast<uint32_t>(jiffies >> kJiffiesShift);
}

double LifetimeClock::remaining_seconds(uint32_t lifetime) const noexcept {
  // Signed 32-bit distance, so a lifetime just past a wrap of the u32 still reads as near.
  const auto units = static_cast<int32_t>(lifetime - now_units_);
  if (source_ == ClockSource::kKtime) return units;
  return static_cast<double>(static_cast<int64_t>(units) << kJiffiesShift) / hz_;
}

std::optional<ClockSource> guess_clock(std::span<const uint32_t> lifetimes, uint64_t mono_ns,
                                       uint64_t jiffies, uint32_t hz) noexcept {
  if (lifetimes.empty()) return std::nullopt;
  size_t fit_ktime = 0;
  size_t fit_jiffies = 0;
  const auto plausible = [](double s) { return s >= kWindowPastS && s <= kWindowFutureS; };
  for (const uint32_t l : lifetimes) {
    if (plausible(seconds_in(ClockSource::kKtime, l, mono_ns, jiffies, hz))) ++fit_ktime;
    if (plausible(seconds_in(ClockSource::kJiffies, l, mono_ns, jiffies, hz))) ++fit_jiffies;
  }
  const auto mostly = [&](size_t n) { return n * 10 >= lifetimes.size() * 9; };
  const auto few = [&](size_t n) { return n * 2 < lifetimes.size(); };
  if (mostly(fit_ktime) && few(fit_jiffies)) return ClockSource::kKtime;
  if (mostly(fit_jiffies) && few(fit_ktime)) return ClockSource::kJiffies;
  return std::nullopt;
}

}  // namespace egressd::cilium
