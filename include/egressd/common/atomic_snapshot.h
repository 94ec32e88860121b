// AtomicSnapshot<T>: publish an immutable value to many reader threads (RCU style). Readers take a
// reference-counted pointer once per unit of work; a writer swaps in a new value.
//
// A mutex held for one reference-count increment, not std::atomic<std::shared_ptr>: libstdc++ 12's
// implementation releases its internal lock in load() with memory_order_relaxed
// (bits/shared_ptr_atomic.h), so a reader's read of the pointer does not happen-before the next
// writer's store — a data race ThreadSanitizer reports (docs/testing.md, "Sanitizers"). Readers
// call get() per read or per scrape, never per record, so the lock costs nothing measurable.
#pragma once

#include <memory>
#include <mutex>
#include <utility>

namespace egressd {

template <typename T>
class AtomicSnapshot {
 public:
  explicit AtomicSnapshot(std::shared_ptr<const T> initial) : current_(std::move(initial)) {}
  [[nodiscard]] std::shared_ptr<const T> get() const {
    std::lock_guard lock(mutex_);
    return current_;
  }
  void set(std::shared_ptr<const T> next) {
    {
      std::lock_guard lock(mutex_);
      current_.swap(next);
    }
    // `next` now holds the old value: if this was its last reference, it is freed here, outside
    // the lock.
  }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const T> current_;
};

}  // namespace egressd
