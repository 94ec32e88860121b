// Clock: injected time, so reducers, expiry, rate limits and tests do not read the wall clock
// directly. Production code takes a `const Clock&` (usually `system_clock()`); tests pass the
// ManualClock of tests/common/manual_clock.h.
#pragma once

#include <chrono>

namespace egressd {

class Clock {
 public:
  virtual ~Clock() = default;
  [[nodiscard]] virtual std::chrono::steady_clock::time_point now() const = 0;
  [[nodiscard]] virtual std::chrono::system_clock::time_point wall() const = 0;
};

class SystemClock final : public Clock {
 public:
  [[nodiscard]] std::chrono::steady_clock::time_point now() const override {
    return std::chrono::steady_clock::now();
  }
  [[nodiscard]] std::chrono::system_clock::time_point wall() const override {
    return std::chrono::system_clock::now();
  }
};

// The process's one SystemClock, for defaults of components that take a clock.
[[nodiscard]] inline const Clock& system_clock() noexcept {
  static const SystemClock clock;
  return clock;
}

}  // namespace egressd
