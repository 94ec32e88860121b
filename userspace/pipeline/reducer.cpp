#include "pipeline/reducer.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <span>
#include <thread>

#include <concurrentqueue/blockingconcurrentqueue.h>
#include <oneapi/tbb/info.h>

#include "egressd/common/cpu_quota.h"
#include "egressd/common/log.h"
#include "pipeline/publisher.h"
#include "pipeline/sharded_core.h"

namespace egressd::pipeline {

namespace {

// Batches taken from the queue per driver step: enough to fill the shards' routing slots (a
// netfilter batch is 4096 records), few enough that an interval boundary is never late by more
// than one step.
constexpr size_t kBulkBatches = 32;
// How often the driver looks at the clock while the queue is idle, and retries a deferred close.
constexpr auto kMaxWait = std::chrono::milliseconds(100);
// Entries idle this long are released even if their source never completes a read
// (docs/pipeline.md, "Bounds"): far beyond any dump's duration, so a slow dump never makes a live
// entry look new.
constexpr auto kEntryIdleTime = std::chrono::minutes(10);
constexpr uint32_t kMinEntryIdleIntervals = 12;
constexpr size_t kSources = 3;  // SourceKind values
// Refused reads remembered per source, by generation modulo this: a marker is applied long before
// its source has done this many more reads (the queue is bounded).
constexpr size_t kReadWindow = 64;

uint32_t idle_intervals(std::chrono::milliseconds interval) {
  const auto n =
      (std::chrono::milliseconds(kEntryIdleTime).count() + interval.count() - 1) / interval.count();
  return static_cast<uint32_t>(std::clamp<int64_t>(n, kMinEntryIdleIntervals, int64_t{1} << 30));
}

bool has_cumulative(const RecordBatch& batch) {
  return std::any_of(batch.records.begin(), batch.records.end(),
                     [](const FlowRecord& r) { return r.mode == CounterMode::kCumulative; });
}

}  // namespace

struct Reducer::Impl {
  Impl(const ReducerOptions& opts, size_t shard_count, size_t thread_count, SnapshotSink& out,
       SelfMetrics& m, const Clock& c)
      : options(opts),
        clock(c),
        core(CoreOptions{shard_count, thread_count, opts.limits, 0, opts.parallel_min_records}, m),
        queue(opts.queue_capacity),
        consumer(queue),
        publisher(out, opts.max_pending_snapshots, m),
        buffers(std::make_shared<BufferPool>(1)),
        queue_full(m.counter(metric::kRecordsDropped, metric::kRecordsDroppedHelp,
                             {{"reason", "queue_full"}})),
        incomplete_reads(m.counter("egressd_reducer_incomplete_reads_total",
                                   "Complete reads of a source not used to release entries "
                                   "because some of their batches were dropped at the queue.")),
        deferred(m.counter("egressd_reducer_publish_deferred_total",
                           "Interval closes postponed because the snapshot consumers had not "
                           "finished the previous snapshots (the interval grows instead).")),
        queue_depth(m.gauge("egressd_queue_batches", "Batches waiting in the reducer queue.")),
        interval_seconds(m.gauge("egressd_last_interval_duration_seconds",
                                 "Time the reducer spent closing the last interval and handing "
                                 "its snapshot over.")),
        intervals(m.counter("egressd_intervals_total", "Intervals closed and published.")),
        published_flows(m.gauge("egressd_last_interval_flows",
                                "Flow keys with traffic in the last interval.")) {}

  bool offer(RecordBatch&& batch, moodycamel::ProducerToken* token);
  void refused(const RecordBatch& batch);
  std::atomic<uint64_t>& refused_slot(SourceKind source, uint64_t generation) {
    return refused_reads[static_cast<size_t>(source) % kSources][generation % kReadWindow];
  }
  void run(const std::stop_token& stop) noexcept;
  void drain_once(std::chrono::microseconds wait);
  void close_and_publish();

  ReducerOptions options;
  const Clock& clock;
  ShardedCore core;
  moodycamel::BlockingConcurrentQueue<RecordBatch> queue;
  moodycamel::ConsumerToken consumer;  // driver thread only
  std::array<RecordBatch, kBulkBatches> bulk;
  std::atomic<size_t> in_flight{0};
  // Per source, slot g % kReadWindow holds g + 1 once a batch of cumulative records of read g was
  // refused. The complete-read marker of g must not release entries: those in the lost batch
  // were seen by the source but not by the reducer, and would be counted whole again.
  std::array<std::array<std::atomic<uint64_t>, kReadWindow>, kSources> refused_reads{};
  Publisher publisher;
  std::shared_ptr<BufferPool> buffers;  // outlives the reducer while readers hold snapshots
  std::chrono::system_clock::time_point interval_start;
  // The first boundary, taken in start() (not on the driver thread) so that the intervals are
  // anchored at the moment start() returns, whenever the thread gets to run.
  std::chrono::steady_clock::time_point first_close;
  Counter& queue_full;
  Counter& incomplete_reads;
  Counter& deferred;
  Gauge& queue_depth;
  Gauge& interval_seconds;
  Counter& intervals;
  Gauge& published_flows;
  log::RateLimit full_log{std::chrono::seconds(10)};
  log::RateLimit defer_log{std::chrono::seconds(60)};
  std::jthread thread;
};

// One source thread's handle: its own moodycamel producer (FIFO for its batches, and enqueues
// without the implicit producer's thread-local lookup).
class Reducer::TokenProducer final : public BatchSink {
 public:
  explicit TokenProducer(Impl& impl) : impl_(impl), token_(impl.queue) {}
  bool push(RecordBatch&& batch) override { return impl_.offer(std::move(batch), &token_); }

 private:
  Impl& impl_;
  moodycamel::ProducerToken token_;
};

size_t available_cpus(const std::string& cgroup_root) {
  return cpus_within_quota(static_cast<size_t>(std::max(1, tbb::info::default_concurrency())),
                           cgroup_root);
}

Result<std::unique_ptr<Reducer>> Reducer::create(const ReducerOptions& options, SnapshotSink& sink,
                                                 SelfMetrics& metrics, const Clock& clock) {
  if (options.interval <= std::chrono::milliseconds::zero()) {
    return fail(Errc::kInvalidArgument, "reducer interval must be positive");
  }
  if (options.queue_capacity == 0) {
    return fail(Errc::kInvalidArgument, "reducer queue capacity must be positive");
  }
  if (options.limits.max_flows == 0 || options.limits.max_entries == 0) {
    return fail(Errc::kInvalidArgument, "reducer key bounds must be positive");
  }
  const size_t cpus = available_cpus();
  const size_t shards = options.shards != 0 ? options.shards : cpus;
  const size_t threads = std::min(shards, cpus);
  ReducerOptions effective = options;
  effective.limits.entry_idle_intervals = idle_intervals(options.interval);
  spdlog::info(
      "reducer: {} shards on {} threads ({} CPUs available), at most {} flow keys an interval",
      shards, threads, cpus, options.limits.max_flows);
  return std::unique_ptr<Reducer>(
      new Reducer(std::make_unique<Impl>(effective, shards, threads, sink, metrics, clock)));
}

Reducer::Reducer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Reducer::~Reducer() {
  stop();
}

bool Reducer::push(RecordBatch&& batch) {
  return impl_->offer(std::move(batch), nullptr);
}

std::unique_ptr<BatchSink> Reducer::producer() {
  return std::make_unique<TokenProducer>(*impl_);
}

size_t Reducer::shards() const noexcept {
  return impl_->core.shards();
}

size_t Reducer::threads() const noexcept {
  return impl_->core.threads();
}

bool Reducer::Impl::offer(RecordBatch&& batch, moodycamel::ProducerToken* token) {
  // Reserve a slot first so concurrent producers cannot overshoot the bound.
  if (in_flight.fetch_add(1, std::memory_order_acq_rel) < options.queue_capacity) {
    const bool ok = token != nullptr ? queue.enqueue(*token, std::move(batch))
                                     : queue.enqueue(std::move(batch));
    if (ok) return true;
    // moodycamel could not allocate a block. It fails before moving the element, so the batch
    // is intact; counted like a full queue.
  }
  in_flight.fetch_sub(1, std::memory_order_acq_rel);
  // NOLINTNEXTLINE(bugprone-use-after-move): not moved from when refused or enqueue failed
  refused(batch);
  return false;
}

void Reducer::Impl::refused(const RecordBatch& batch) {
  queue_full.inc(batch.records.size());
  if (batch.kind == RecordBatch::Kind::kRecords && has_cumulative(batch)) {
    // Relaxed: ordered before this producer's later marker by the queue's release/acquire.
    refused_slot(batch.source, batch.read_generation)
        .store(batch.read_generation + 1, std::memory_order_relaxed);
  }
  uint64_t suppressed = 0;
  if (full_log.allow(suppressed)) {
    spdlog::warn(
        "reducer queue full ({} batches): dropped a {} of {} records from {} "
        "({} more drops suppressed)",
        options.queue_capacity,
        batch.kind == RecordBatch::Kind::kReadComplete ? "read-complete marker" : "batch",
        batch.records.size(), source_name(batch.source), suppressed);
  }
}

void Reducer::start() {
  Impl& s = *impl_;
  if (s.thread.joinable()) return;
  s.interval_start = s.clock.wall();
  s.first_close = s.clock.now() + s.options.interval;
  s.publisher.start();
  s.thread = std::jthread([&s](const std::stop_token& st) { s.run(st); });
}

void Reducer::stop() {
  Impl& s = *impl_;
  if (s.thread.joinable()) {
    s.thread.request_stop();
    s.in_flight.fetch_add(1, std::memory_order_acq_rel);
    s.queue.enqueue(RecordBatch{});  // wake the driver; an empty batch changes nothing
    s.thread.join();
  }
  s.publisher.stop();
}

void Reducer::Impl::drain_once(std::chrono::microseconds wait) {
  const size_t n = queue.wait_dequeue_bulk_timed(consumer, bulk.begin(), bulk.size(), wait.count());
  if (n == 0) return;
  for (size_t i = 0; i < n; ++i) {
    RecordBatch& b = bulk[i];
    if (b.kind != RecordBatch::Kind::kReadComplete) continue;
    if (refused_slot(b.source, b.read_generation).load(std::memory_order_relaxed) ==
        b.read_generation + 1) {
      incomplete_reads.inc();
      b.kind = RecordBatch::Kind::kRecords;  // applied as an empty batch: releases nothing
    }
  }
  if (options.excluded_locals) core.set_excluded(options.excluded_locals());
  core.apply(std::span<RecordBatch>(bulk.data(), n));
  // Free the batches here, on the driver, rather than when the slot is next overwritten.
  for (size_t i = 0; i < n; ++i) bulk[i] = RecordBatch{};
  in_flight.fetch_sub(n, std::memory_order_acq_rel);
  queue_depth.set(static_cast<double>(in_flight.load(std::memory_order_relaxed)));
}

void Reducer::Impl::close_and_publish() {
  const auto t0 = std::chrono::steady_clock::now();
  const auto end = clock.wall();
  auto snapshot =
      BufferPool::share(core.close_interval(interval_start, end, buffers->take()), buffers);
  interval_start = end;
  published_flows.set(static_cast<double>(snapshot->flows.size()));
  // Counted before the consumers can see it: whoever observes a published snapshot (a sink, or
  // egressd_snapshots_consumed_total) finds it in egressd_intervals_total already.
  intervals.inc();
  publisher.offer(std::move(snapshot));  // returns at once unless called without room (shutdown)
  interval_seconds.set(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
}

void Reducer::Impl::run(const std::stop_token& stop) noexcept {
  auto next_close = first_close;
  while (!stop.stop_requested()) {
    const auto now = clock.now();
    if (now >= next_close) {
      if (publisher.has_room()) {
        close_and_publish();
        next_close += options.interval;
        if (next_close <= now) next_close = now + options.interval;  // fell behind: skip ahead
      } else {
        // The consumers still hold the previous snapshots: keep reducing into the open interval
        // (bounded by the key limits) and retry shortly; nothing is dropped.
        deferred.inc();
        if (uint64_t suppressed = 0; defer_log.allow(suppressed)) {
          spdlog::warn("snapshot consumers are behind: interval close postponed (+{} similar)",
                       suppressed);
        }
        next_close =
            now + std::min<std::chrono::steady_clock::duration>(kMaxWait, options.interval);
      }
      continue;
    }
    // Wake at the boundary even when no batch arrives; cap the wait so stop is prompt.
    const auto wait = std::min<std::chrono::steady_clock::duration>(next_close - now, kMaxWait);
    drain_once(std::chrono::duration_cast<std::chrono::microseconds>(wait));
  }
  // Shutdown: apply everything already queued and publish it, so no counted byte is lost.
  while (in_flight.load(std::memory_order_acquire) > 0) drain_once(std::chrono::microseconds(0));
  close_and_publish();
}

}  // namespace egressd::pipeline
