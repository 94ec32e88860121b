// ForkJoinPool: runs fn(0..n-1) on a fixed set of std::threads plus the caller, and returns when
// every call has returned.
//
// The reducer's phases run on TBB, except in ThreadSanitizer builds: Debian's libtbb is not
// instrumented, so TSan cannot see the hand-off of tasks between its threads and reports the
// scheduler's own template code (and, through reused stack memory, ours) as racing — 609 reports
// for the pipeline tests, 132 even with TBB's frames suppressed. Under TSan the same phases run on
// this pool instead, whose synchronization (a mutex, condition variables, one atomic counter) TSan
// does see, so every access of the reducer's own code is checked (docs/testing.md).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <stop_token>
#include <thread>
#include <vector>

namespace egressd::pipeline {

class ForkJoinPool {
 public:
  // `threads` counts the caller: threads - 1 workers are started.
  explicit ForkJoinPool(size_t threads);
  ~ForkJoinPool();
  ForkJoinPool(const ForkJoinPool&) = delete;
  ForkJoinPool& operator=(const ForkJoinPool&) = delete;

  // One caller at a time.
  void run(size_t n, const std::function<void(size_t)>& fn);

 private:
  void work(const std::stop_token& stop);
  void drain(const std::function<void(size_t)>& fn, size_t n);

  std::mutex mutex_;
  std::condition_variable_any start_;
  std::condition_variable finished_;
  const std::function<void(size_t)>* job_ = nullptr;
  size_t n_ = 0;
  uint64_t generation_ = 0;
  size_t busy_ = 0;  // workers that have not finished the current job
  std::atomic<size_t> next_{0};
  std::vector<std::jthread> workers_;  // last: stopped and joined first
};

}  // namespace egressd::pipeline
