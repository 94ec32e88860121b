// A Clock that moves only when a test advances it. Thread-safe: a component's own thread may read
// it while the test advances it (the reducer's driver, a source's read loop).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

#include "egressd/common/clock.h"

namespace egressd::testing {

class ManualClock final : public Clock {
 public:
  [[nodiscard]] std::chrono::steady_clock::time_point now() const override {
    return std::chrono::steady_clock::time_point{
        std::chrono::nanoseconds(ns_.load(std::memory_order_acquire))};
  }
  // The wall clock moves with the steady one, from the same arbitrary origin.
  [[nodiscard]] std::chrono::system_clock::time_point wall() const override {
    return std::chrono::system_clock::time_point{
        std::chrono::duration_cast<std::chrono::system_clock::duration>(
            std::chrono::nanoseconds(ns_.load(std::memory_order_acquire)))};
  }
  void advance(std::chrono::nanoseconds d) { ns_.fetch_add(d.count(), std::memory_order_acq_rel); }

 private:
  std::atomic<int64_t> ns_{std::chrono::nanoseconds(std::chrono::seconds(1'000'000)).count()};
};

}  // namespace egressd::testing
