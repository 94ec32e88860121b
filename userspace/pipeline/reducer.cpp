#include "pipeline/reducer.h"

#include <array>

#include <concurrentqueue/blockingconcurrentqueue.h>

#include "egressd/common/log.h"

namespace egressd::pipeline {

struct Reducer::Impl {
  Impl(const ReducerOptions& opts, SnapshotSink& out, SelfMetrics& m, const Clock& c)
      : options(opts),
        sink(out),
        clock(c),
        core(opts.limits, m),
        queue(opts.queue_capacity),
        queue_full(m.counter("egressd_records_dropped_total", "Records dropped, by reason.",
                             {{"reason", "queue_full"}})),
        queue_depth(m.gauge("egressd_queue_batches", "Batches waiting in the reducer queue.")),
        interval_seconds(m.gauge("egressd_last_interval_duration_seconds",
                                 "Time the reducer spent closing and publishing the last "
                                 "interval.")),
        intervals(m.counter("egressd_intervals_total", "Intervals closed and published.")),
        published_flows(m.gauge("egressd_last_interval_flows",
                                "Flow keys with traffic in the last interval.")) {}

  void run(const std::stop_token& stop);
  void drain_once(std::chrono::microseconds wait);
  void close_and_publish();

  ReducerOptions options;
  SnapshotSink& sink;
  const Clock& clock;
  ReducerCore core;
  moodycamel::BlockingConcurrentQueue<RecordBatch> queue;
  std::atomic<size_t> in_flight{0};
  std::chrono::system_clock::time_point interval_start;
  Counter& queue_full;
  Gauge& queue_depth;
  Gauge& interval_seconds;
  Counter& intervals;
  Gauge& published_flows;
  log::RateLimit full_log{std::chrono::seconds(10)};
  std::jthread thread;
};

Result<std::unique_ptr<Reducer>> Reducer::create(const ReducerOptions& options, SnapshotSink& sink,
                                                 SelfMetrics& metrics, const Clock& clock) {
  if (options.interval <= std::chrono::milliseconds::zero()) {
    return fail(Errc::kInvalidArgument, "reducer interval must be positive");
  }
  if (options.queue_capacity == 0) {
    return fail(Errc::kInvalidArgument, "reducer queue capacity must be positive");
  }
  return std::unique_ptr<Reducer>(
      new Reducer(std::make_unique<Impl>(options, sink, metrics, clock)));
}

Reducer::Reducer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Reducer::~Reducer() {
  stop();
}

bool Reducer::push(RecordBatch&& batch) {
  Impl& s = *impl_;
  // Reserve a slot first so concurrent producers cannot overshoot the bound.
  if (s.in_flight.fetch_add(1, std::memory_order_acq_rel) >= s.options.queue_capacity) {
    s.in_flight.fetch_sub(1, std::memory_order_acq_rel);
    s.queue_full.inc(batch.records.size());
    uint64_t suppressed = 0;
    if (s.full_log.allow(suppressed)) {
      spdlog::warn(
          "reducer queue full ({} batches): dropped a batch of {} records from {} "
          "({} more drops suppressed)",
          s.options.queue_capacity, batch.records.size(), source_name(batch.source), suppressed);
    }
    return false;
  }
  s.queue.enqueue(std::move(batch));
  return true;
}

void Reducer::start() {
  Impl& s = *impl_;
  if (s.thread.joinable()) return;
  s.interval_start = s.clock.wall();
  s.thread = std::jthread([&s](const std::stop_token& st) { s.run(st); });
}

void Reducer::stop() {
  Impl& s = *impl_;
  if (!s.thread.joinable()) return;
  s.thread.request_stop();
  s.in_flight.fetch_add(1, std::memory_order_acq_rel);
  s.queue.enqueue(RecordBatch{});  // wake the thread; an empty batch changes nothing
  s.thread.join();
}

void Reducer::Impl::drain_once(std::chrono::microseconds wait) {
  std::array<RecordBatch, 16> batches;
  const size_t n = queue.wait_dequeue_bulk_timed(batches.begin(), batches.size(), wait);
  for (size_t i = 0; i < n; ++i) core.apply(batches[i]);
  in_flight.fetch_sub(n, std::memory_order_acq_rel);
  queue_depth.set(static_cast<double>(in_flight.load(std::memory_order_relaxed)));
}

void Reducer::Impl::close_and_publish() {
  const auto t0 = std::chrono::steady_clock::now();
  const auto end = clock.wall();
  auto snapshot = std::make_shared<const Snapshot>(core.close_interval(interval_start, end));
  interval_start = end;
  published_flows.set(static_cast<double>(snapshot->flows.size()));
  sink.consume(std::move(snapshot));
  intervals.inc();
  interval_seconds.set(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
}

void Reducer::Impl::run(const std::stop_token& stop) {
  auto next_close = clock.now() + options.interval;
  while (!stop.stop_requested()) {
    const auto now = clock.now();
    if (now >= next_close) {
      close_and_publish();
      next_close += options.interval;
      if (next_close <= now) next_close = now + options.interval;  // fell behind: skip ahead
      continue;
    }
    // Wake at the boundary even when no batch arrives; cap the wait so stop is prompt.
    const auto wait = std::min<std::chrono::steady_clock::duration>(next_close - now,
                                                                    std::chrono::milliseconds(100));
    drain_once(std::chrono::duration_cast<std::chrono::microseconds>(wait));
  }
  // Shutdown: apply everything already queued and publish it, so no counted byte is lost.
  while (in_flight.load(std::memory_order_acquire) > 0) drain_once(std::chrono::microseconds(0));
  close_and_publish();
}

}  // namespace egressd::pipeline
