// The `lifetime` field of a Cilium conntrack entry: its expiry time in bpf_mono_now() units,
// either ktime seconds (CLOCK_MONOTONIC, Cilium's default) or jiffies >> 8 (when Cilium's
// --enable-bpf-clock-probe picked jiffies; BPF_MONO_SCALER = 8 in bpf/lib/time.h). This module
// reads the kernel's "now" in both clocks, estimates HZ, converts a lifetime to seconds left and
// guesses which clock a set of lifetimes is written in (docs/cilium.md "Clocks").
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "egressd/common/error.h"

namespace egressd::cilium {

enum class ClockSource : uint8_t { kKtime, kJiffies };
enum class ClockSetting : uint8_t { kAuto, kKtime, kJiffies };

[[nodiscard]] std::string_view clock_name(ClockSource clock) noexcept;

inline constexpr unsigned kJiffiesShift = 8;

// "timestamp N" of /proc/schedstat (raw jiffies; needs CONFIG_SCHEDSTATS).
[[nodiscard]] std::optional<uint64_t> parse_schedstat_jiffies(std::string_view text) noexcept;
// "jiffies: N" of /proc/timer_list (root only; the fallback when schedstat is absent).
[[nodiscard]] std::optional<uint64_t> parse_timer_list_jiffies(std::string_view text) noexcept;
// Raw jiffies now, from /proc/schedstat, else /proc/timer_list.
[[nodiscard]] Result<uint64_t> read_jiffies();

// The CONFIG_HZ value nearest to a measured tick rate: one of 1000, 300, 250, 100.
[[nodiscard]] uint32_t snap_hz(double ticks_per_second) noexcept;
// Samples jiffies `gap` apart against CLOCK_MONOTONIC and snaps the rate.
[[nodiscard]] Result<uint32_t> estimate_hz(
    std::chrono::milliseconds gap = std::chrono::milliseconds(100));

// CLOCK_MONOTONIC in nanoseconds (what bpf_ktime_get_ns() returns).
[[nodiscard]] uint64_t monotonic_ns() noexcept;

// Converts lifetimes of one clock to seconds left, against a "now" set once per read.
class LifetimeClock {
 public:
  LifetimeClock(ClockSource source, uint32_t hz) : source_(source), hz_(hz == 0 ? 1 : hz) {}
  // Sets "now": ktime from `mono_ns`; jiffies from `jiffies` (raw).
  void set_now(uint64_t mono_ns, uint64_t jiffies) noexcept;
  // Seconds until the entry expires; negative once expired (Cilium's GC has not run yet).
  [[nodiscard]] double remaining_seconds(uint32_t lifetime) const noexcept;
  [[nodiscard]] ClockSource source() const noexcept { return source_; }
  // bpf_mono_now() as Cilium stores it in `lifetime` (u32).
  [[nodiscard]] uint32_t now_units() const noexcept { return now_units_; }
  [[nodiscard]] uint32_t hz() const noexcept { return hz_; }

 private:
  ClockSource source_;
  uint32_t hz_;
  uint32_t now_units_ = 0;  // bpf_mono_now() as Cilium stores it (u32)
};

// Documented heuristic: the clock under which at least 90 % of `lifetimes` expire within
// [-1 day, +8 days] of now, when the other clock places fewer than half there. nullopt when
// there are no lifetimes or both or neither fit (then the caller keeps its default, ktime).
[[nodiscard]] std::optional<ClockSource> guess_clock(std::span<const uint32_t> lifetimes,
                                                     uint64_t mono_ns, uint64_t jiffies,
                                                     uint32_t hz) noexcept;

}  // namespace egressd::cilium
