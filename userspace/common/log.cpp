#include "egressd/common/log.h"

#include <memory>

#include <spdlog/sinks/stdout_sinks.h>

namespace egressd::log {

std::optional<spdlog::level::level_enum> parse_level(std::string_view name) noexcept {
  if (name == "trace") return spdlog::level::trace;
  if (name == "debug") return spdlog::level::debug;
  if (name == "info") return spdlog::level::info;
  if (name == "warn" || name == "warning") return spdlog::level::warn;
  if (name == "error") return spdlog::level::err;
  return std::nullopt;
}

void init(spdlog::level::level_enum level) {
  auto logger = spdlog::stderr_logger_mt("egressd");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%l%$ %v");
  logger->set_level(level);
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(std::move(logger));
}

bool RateLimit::allow(uint64_t& suppressed) noexcept {
  const int64_t now =
      std::chrono::duration_cast<std::chrono::nanoseconds>(clock_->now().time_since_epoch())
          .count();
  int64_t next = next_ns_.load(std::memory_order_relaxed);
  if (now >= next && next_ns_.compare_exchange_strong(next, now + period_ns_)) {
    suppressed = suppressed_.exchange(0, std::memory_order_relaxed);
    return true;
  }
  suppressed_.fetch_add(1, std::memory_order_relaxed);
  return false;
}

}  // namespace egressd::log
