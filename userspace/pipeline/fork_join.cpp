#include "pipeline/fork_join.h"

namespace egressd::pipeline {

ForkJoinPool::ForkJoinPool(size_t threads) {
  for (size_t i = 1; i < threads; ++i) {
    workers_.emplace_back([this](const std::stop_token& stop) { work(stop); });
  }
}

ForkJoinPool::~ForkJoinPool() {
  for (auto& w : workers_) w.request_stop();  // wakes start_.wait below
  workers_.clear();
}

void ForkJoinPool::drain(const std::function<void(size_t)>& fn, size_t n) {
  for (size_t i = next_.fetch_add(1, std::memory_order_relaxed); i < n;
       i = next_.fetch_add(1, std::memory_order_relaxed)) {
    fn(i);
  }
}

void ForkJoinPool::run(size_t n, const std::function<void(size_t)>& fn) {
  {
    std::lock_guard lock(mutex_);
    job_ = &fn;
    n_ = n;
    next_.store(0, std::memory_order_relaxed);
    busy_ = workers_.size();
    ++generation_;
  }
  start_.notify_all();
  drain(fn, n);
  std::unique_lock lock(mutex_);
  finished_.wait(lock, [&] { return busy_ == 0; });
  job_ = nullptr;
}

void ForkJoinPool::work(const std::stop_token& stop) {
  uint64_t seen = 0;
  std::unique_lock lock(mutex_);
  while (true) {
    if (!start_.wait(lock, stop, [&] { return generation_ != seen; })) return;
    seen = generation_;
    const auto* job = job_;
    const size_t n = n_;
    lock.unlock();
    drain(*job, n);
    lock.lock();
    if (--busy_ == 0) finished_.notify_all();
  }
}

}  // namespace egressd::pipeline
