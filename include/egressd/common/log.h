// Logging: spdlog's default logger, one line per event, with a rate limiter for events that can
// repeat per record or per packet (map full, parse error) so a storm cannot flood the log.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

#include <spdlog/spdlog.h>

#include "egressd/common/clock.h"

namespace egressd::log {

// "trace", "debug", "info", "warn"/"warning", "error"; nullopt for anything else.
[[nodiscard]] std::optional<spdlog::level::level_enum> parse_level(std::string_view name) noexcept;

// Sets up the default logger on stderr with the given level.
void init(spdlog::level::level_enum level);

// Allows one event per period; counts the events it suppressed so the next allowed line can say so.
// Thread-safe. `clock` must outlive the limiter.
class RateLimit {
 public:
  explicit RateLimit(std::chrono::milliseconds period, const Clock& clock = system_clock())
      : clock_(&clock), period_ns_(period.count() * 1'000'000) {}
  // True if this event may be logged now; `suppressed` receives how many were skipped before it.
  bool allow(uint64_t& suppressed) noexcept;

 private:
  const Clock* clock_;
  int64_t period_ns_;
  std::atomic<int64_t> next_ns_{0};
  std::atomic<uint64_t> suppressed_{0};
};

}  // namespace egressd::log
