// Waiting for conditions, never for time (docs/testing.md): a test polls what it waits for, and
// the deadline only bounds a hang — it is generous so that a slow or busy machine (sanitizers, a
// parallel build) still passes, and a correct run never gets near it.
#pragma once

#include <chrono>
#include <thread>

namespace egressd::testing {

// Calls `done()` every `step` until it returns true or `timeout` passes; returns the last result
// (`done()` is always called once more at the deadline).
template <typename Pred>
bool eventually(Pred&& done, std::chrono::milliseconds timeout = std::chrono::seconds(30),
                std::chrono::milliseconds step = std::chrono::milliseconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return done();
    std::this_thread::sleep_for(step);
  }
  return true;
}

}  // namespace egressd::testing
