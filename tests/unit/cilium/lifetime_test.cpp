// Lifetimes: jiffies sources, HZ snapping, conversion in both clocks, and the clock heuristic on
// lifetimes written the way Cilium writes them (now + timeout in bpf_mono_now() units).
#include "cilium/lifetime.h"

#include <gtest/gtest.h>

namespace egressd::cilium {
namespace {

// Excerpts of the real files (Linux 6.x): /proc/schedstat with CONFIG_SCHEDSTATS, and the tick
// device section of /proc/timer_list.
constexpr std::string_view kSchedstat =
    "version 15\ntimestamp 4297133455\ncpu0 0 0 0 0 0 0 1234 5678 90\n";
constexpr std::string_view kTimerList =
    "Timer List Version: v0.9\nHRTIMER_MAX_CLOCK_BASES: 8\nnow at 6748859123456 nsecs\n\n"
    "cpu: 0\n clock 0:\n  .base:       0\n  .index:      0\n"
    "  .idle_jiffies   : 4296579452\n  .last_jiffies   : 4296579461\n"
    "jiffies: 4296579461\n\ncpu: 1\njiffies: 4296579461\n";

TEST(CiliumLifetime, JiffiesFromProcFiles) {
  EXPECT_EQ(parse_schedstat_jiffies(kSchedstat), 4297133455ULL);
  EXPECT_EQ(parse_timer_list_jiffies(kTimerList), 4296579461ULL);  // not .last_jiffies
  EXPECT_FALSE(parse_schedstat_jiffies("version 15\ncpu0 1 2\n").has_value());
  EXPECT_FALSE(parse_timer_list_jiffies("jiffies: x\n").has_value());
  EXPECT_FALSE(parse_timer_list_jiffies("").has_value());
}

TEST(CiliumLifetime, HzSnapsToConfigValues) {
  EXPECT_EQ(snap_hz(1000), 1000U);
  EXPECT_EQ(snap_hz(987.5), 1000U);
  EXPECT_EQ(snap_hz(312), 300U);
  EXPECT_EQ(snap_hz(249.2), 250U);
  EXPECT_EQ(snap_hz(260), 250U);
  EXPECT_EQ(snap_hz(101), 100U);
  EXPECT_EQ(snap_hz(0), 100U);
}

constexpr uint64_t kMonoNs = 6'748'859'123'456ULL;  // 6748.86 s of uptime
constexpr uint64_t kJiffies = 4'296'579'461ULL;     // HZ 250, same instant

TEST(CiliumLifetime, KtimeSeconds) {
  LifetimeClock c(ClockSource::kKtime, 0);
  c.set_now(kMonoNs, kJiffies);
  EXPECT_EQ(c.now_units(), 6748U);
  EXPECT_DOUBLE_EQ(c.remaining_seconds(6748 + 21600), 21600.0);
  EXPECT_DOUBLE_EQ(c.remaining_seconds(6748 - 30), -30.0);
}

TEST(CiliumLifetime, JiffiesShiftedByEight) {
  LifetimeClock c(ClockSource::kJiffies, 250);
  c.set_now(kMonoNs, kJiffies);
  const uint32_t now = static_cast<uint32_t>(kJiffies >> 8);  // 16783513
  EXPECT_EQ(c.now_units(), now);
  // 60 s at HZ 250 is 15000 jiffies, 58.59 units of 256 jiffies: Cilium stores now + 58.
  EXPECT_NEAR(c.remaining_seconds(now + 58), 58.0 * 256 / 250, 1e-9);
  EXPECT_NEAR(c.remaining_seconds(now - 1000), -1000.0 * 256 / 250, 1e-9);
  // castai/egressd's bug (subtracting raw jiffies from jiffies >> 8) would give about -4.3e9.
  EXPECT_GT(c.remaining_seconds(now + 58), 0);
}

TEST(CiliumLifetime, GuessesTheClockFromLifetimes) {
  const uint32_t ktime_now = static_cast<uint32_t>(kMonoNs / 1'000'000'000ULL);
  const uint32_t jiffies_now = static_cast<uint32_t>(kJiffies >> 8);
  std::vector<uint32_t> ktime, jiffies;
  for (uint32_t i = 0; i < 200; ++i) {
    ktime.push_back(ktime_now + (i % 2 ? 21600 : 60) - i);  // TCP and non-TCP timeouts
    jiffies.push_back(jiffies_now + (i % 2 ? 21600 * 250 / 256 : 58) - i);
  }
  EXPECT_EQ(guess_clock(ktime, kMonoNs, kJiffies, 250), ClockSource::kKtime);
  EXPECT_EQ(guess_clock(jiffies, kMonoNs, kJiffies, 250), ClockSource::kJiffies);
  EXPECT_FALSE(guess_clock({}, kMonoNs, kJiffies, 250).has_value());
  std::vector<uint32_t> mixed = ktime;
  mixed.insert(mixed.end(), jiffies.begin(), jiffies.end());
  EXPECT_FALSE(guess_clock(mixed, kMonoNs, kJiffies, 250).has_value());
  // Far from now in both clocks (ktime now is 6748, jiffies >> 8 is 16783513).
  const std::vector<uint32_t> garbage{100000000, 200000000, 3000000000, 50000000};
  EXPECT_FALSE(guess_clock(garbage, kMonoNs, kJiffies, 250).has_value());
}

}  // namespace
}  // namespace egressd::cilium
