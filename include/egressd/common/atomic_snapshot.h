// AtomicSnapshot<T>: publish an immutable value to many reader threads (RCU style). Readers take a
// reference-counted pointer once per unit of work; a writer swaps in a new value.
#pragma once

#include <atomic>
#include <memory>

namespace egressd {

template <typename T>
class AtomicSnapshot {
 public:
  explicit AtomicSnapshot(std::shared_ptr<const T> initial) : current_(std::move(initial)) {}
  [[nodiscard]] std::shared_ptr<const T> get() const {
    return current_.load(std::memory_order_acquire);
  }
  void set(std::shared_ptr<const T> next) {
    current_.store(std::move(next), std::memory_order_release);
  }

 private:
  std::atomic<std::shared_ptr<const T>> current_;
};

}  // namespace egressd
