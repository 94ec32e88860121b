#include "pipeline/sharded_core.h"

#include <algorithm>
#include <limits>
#include <random>
#include <unordered_map>

#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/partitioner.h>

namespace egressd::pipeline {

namespace {

// A routing slot covers at most this many records of one batch, so a huge batch still spreads
// over the arena; a run of slots is reduced in one go, small enough to stay in cache between the
// routing pass and the apply pass (64 x 8192 x 88 B = 46 MB at most, usually far less).
constexpr size_t kSlotRecords = 8192;
constexpr size_t kMaxSlots = 64;
static_assert(kSlotRecords - 1 <= std::numeric_limits<RoutedOffset>::max());

uint64_t draw_seed() {
  std::random_device rd;
  return (static_cast<uint64_t>(rd()) << 32) ^ rd() ^ 0x6A09E667F3BCC909ULL;
}

}  // namespace

ShardedCore::ShardedCore(const CoreOptions& options, SelfMetrics& metrics)
    : threads_(std::max<size_t>(1, options.threads)),
      parallel_min_(std::max<size_t>(1, options.parallel_min_records)),
      limits_(options.limits),
      seed_(HashSeed::from(options.seed != 0 ? options.seed : draw_seed())),
      slots_(kMaxSlots),
      arena_(static_cast<int>(std::max<size_t>(1, options.threads)), 1),
      records_(metrics.counter("egressd_reducer_records_total", "Records applied by the reducer.")),
      resets_(metrics.counter("egressd_reducer_resets_total",
                              "Cumulative counters that went backwards and were treated as a "
                              "reset (entry replaced or evicted).")),
      stale_(metrics.counter("egressd_reducer_stale_records_total",
                             "Records of an entry already finalized by a destroy event, ignored "
                             "(a dump that raced with the destroy).")),
      vanished_(metrics.counter("egressd_reducer_entries_vanished_total",
                                "Entries that disappeared between two complete reads without a "
                                "final record: traffic after their last read is not counted.")),
      expired_(metrics.counter("egressd_reducer_entries_expired_total",
                               "Entries released because no record of them arrived for the idle "
                               "limit (their source never completed a read meanwhile).")),
      overflow_(metrics.counter("egressd_reducer_overflow_records_total",
                                "Records folded into the per-endpoint overflow key because the "
                                "interval reached --max-flows keys (totals stay exact).")),
      entries_full_(metrics.counter(metric::kRecordsDropped, metric::kRecordsDroppedHelp,
                                    {{"reason", "entry_table_full"}})),
      excluded_records_(metrics.counter("egressd_reducer_excluded_records_total",
                                        "Records of local pods in --exclude-namespaces, not "
                                        "aggregated.")),
      entries_gauge_(metrics.gauge("egressd_reducer_tracked_entries",
                                   "Cumulative kernel entries whose last totals the reducer "
                                   "keeps.")) {
  const size_t n = std::max<size_t>(1, options.shards);
  shards_.reserve(n);
  for (size_t i = 0; i < n; ++i) shards_.push_back(std::make_unique<Shard>(i, n, limits_, seed_));
  for (Slot& slot : slots_) slot.routed.resize(n);
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
  if (threads_ > 1) tsan_pool_ = std::make_unique<ForkJoinPool>(threads_);
#endif
#endif
  metrics.gauge("egressd_reducer_shards", "Shards of the reducer (--reducer-shards).")
      .set(static_cast<double>(n));
  metrics.gauge("egressd_reducer_threads", "Threads reducing in parallel.")
      .set(static_cast<double>(threads_));
}

ShardedCore::~ShardedCore() = default;

template <typename Fn>
void ShardedCore::run(bool parallel, size_t n, const Fn& fn) {
  if (!parallel || n < 2) {
    for (size_t i = 0; i < n; ++i) fn(i);
    return;
  }
  if (tsan_pool_) {
    tsan_pool_->run(n, [&fn](size_t i) { fn(i); });
    return;
  }
  // One task per index: shards are few and of similar weight, and stealing evens them out.
  arena_.execute([&] {
    tbb::parallel_for(
        tbb::blocked_range<size_t>(0, n, 1),
        [&](const tbb::blocked_range<size_t>& range) {
          for (size_t i = range.begin(); i != range.end(); ++i) fn(i);
        },
        tbb::simple_partitioner());
  });
}

void ShardedCore::apply(std::span<RecordBatch> batches) {
  size_t i = 0;
  while (i < batches.size()) {
    if (batches[i].kind == RecordBatch::Kind::kReadComplete) {
      read_complete(batches[i]);
      ++i;
      continue;
    }
    size_t j = i;
    while (j < batches.size() && batches[j].kind == RecordBatch::Kind::kRecords) ++j;
    apply_records(batches.subspan(i, j - i));
    i = j;
  }
  flush_stats();
}

void ShardedCore::apply_records(std::span<RecordBatch> batches) {
  size_t used = 0;
  size_t records = 0;
  for (RecordBatch& batch : batches) {
    const size_t size = batch.records.size();
    records_.inc(size);
    for (size_t begin = 0; begin < size; begin += kSlotRecords) {
      if (used == slots_.size()) {
        run_slots(used, records);
        used = 0;
        records = 0;
      }
      Slot& slot = slots_[used++];
      slot.batch = &batch;
      slot.begin = begin;
      slot.end = std::min(size, begin + kSlotRecords);
      records += slot.end - slot.begin;
    }
  }
  if (used > 0) run_slots(used, records);
}

void ShardedCore::run_slots(size_t used, size_t records) {
  const LocalIpSet* excluded = excluded_ && !excluded_->empty() ? excluded_.get() : nullptr;
  const RouteContext ctx{limits_.group_public_ips, excluded, seed_};
  const size_t n = shards_.size();
  const bool parallel = threads_ > 1 && records >= parallel_min_;
  run(parallel, used, [&](size_t i) { route(slots_[i], ctx); });
  run(parallel, n, [&](size_t s) {
    Shard& shard = *shards_[s];
    for (size_t to = 0; to < n; ++to) shard.outbox(to).clear();
    for (size_t i = 0; i < used; ++i) {
      shard.apply(*slots_[i].batch, slots_[i].begin, slots_[i].routed[s], excluded);
    }
  });
  // Phase B only when some shard computed a delta for another's key (delta records never do).
  if (n > 1 && std::any_of(shards_.begin(), shards_.end(),
                           [](const auto& shard) { return shard->has_outgoing(); })) {
    run(parallel, n, [&](size_t owner) {
      for (size_t from = 0; from < n; ++from) {
        if (from != owner) shards_[owner]->merge(shards_[from]->outbox(owner));
      }
    });
  }
  for (size_t i = 0; i < used; ++i) {
    excluded_records_.inc(slots_[i].excluded);
    slots_[i].excluded = 0;
  }
}

void ShardedCore::route(Slot& slot, const RouteContext& ctx) const {
  for (auto& list : slot.routed) list.clear();
  const size_t n = shards_.size();
  const SourceKind source = slot.batch->source;
  std::vector<FlowRecord>& records = slot.batch->records;
  for (size_t i = slot.begin; i < slot.end; ++i) {
    uint64_t rh = 0;
    if (!Shard::prepare(records[i], source, ctx, rh, slot.excluded)) continue;
    slot.routed[shard_of(rh, n)].push_back(static_cast<RoutedOffset>(i - slot.begin));
  }
}

void ShardedCore::read_complete(const RecordBatch& marker) {
  const bool parallel = threads_ > 1 && tracked_entries() >= parallel_min_;
  run(parallel, shards_.size(),
      [&](size_t s) { shards_[s]->read_complete(marker.source, marker.read_generation); });
}

Snapshot ShardedCore::close_interval(std::chrono::system_clock::time_point start,
                                     std::chrono::system_clock::time_point end,
                                     std::vector<FlowDelta> buffer) {
  Snapshot snap;
  snap.sequence = ++sequence_;
  snap.start = start;
  snap.end = end;
  const size_t n = shards_.size();

  // Overflow keys are kept per shard (any shard may fold into any local's key): sum them, and
  // into the owner's regular key when the same key also exists there, so each key is one entry.
  std::unordered_map<FlowKey, Counters, FlowKeyHash> folded;
  for (auto& shard : shards_) {
    shard->for_each_folded([&](const FlowKey& k, const Counters& c) { folded[k] += c; });
  }
  std::vector<FlowDelta> extra;
  for (const auto& [key, delta] : folded) {
    const uint64_t h = flow_hash(key, seed_);
    if (FlowDelta* f = shards_[shard_of(h, n)]->flows().find(key, h); f != nullptr) {
      f->delta += delta;
    } else {
      extra.push_back(FlowDelta{key, delta});
    }
  }

  // One block copy per table: memory bandwidth, not worth a parallel phase. Clearing the
  // tables (an index fill per shard) and the idle-entry sweep are spread over the arena.
  buffer.clear();
  buffer.reserve(open_flows() + extra.size());
  for (auto& shard : shards_) shard->flows().append_to(buffer);
  buffer.insert(buffer.end(), extra.begin(), extra.end());
  snap.flows = std::move(buffer);
  const bool parallel = threads_ > 1 && snap.flows.size() >= parallel_min_;
  run(parallel, n, [&](size_t s) { shards_[s]->end_interval(); });
  flush_stats();
  return snap;
}

void ShardedCore::flush_stats() {
  ShardStats sum;
  for (auto& shard : shards_) {
    const ShardStats s = shard->take_stats();
    sum.resets += s.resets;
    sum.stale += s.stale;
    sum.vanished += s.vanished;
    sum.expired += s.expired;
    sum.overflow += s.overflow;
    sum.entries_full += s.entries_full;
    sum.excluded += s.excluded;
  }
  // Zero increments are skipped: each is an atomic read-modify-write on a shared cache line.
  const auto add = [](Counter& c, uint64_t v) {
    if (v != 0) c.inc(v);
  };
  add(resets_, sum.resets);
  add(stale_, sum.stale);
  add(vanished_, sum.vanished);
  add(expired_, sum.expired);
  add(overflow_, sum.overflow);
  add(entries_full_, sum.entries_full);
  add(excluded_records_, sum.excluded);
  entries_gauge_.set(static_cast<double>(tracked_entries()));
}

size_t ShardedCore::tracked_entries() const noexcept {
  size_t n = 0;
  for (const auto& shard : shards_) n += shard->tracked_entries();
  return n;
}

size_t ShardedCore::open_flows() const noexcept {
  size_t n = 0;
  for (const auto& shard : shards_) n += shard->open_flows();
  return n;
}

size_t ShardedCore::memory_bytes() const noexcept {
  size_t bytes = 0;
  for (const auto& shard : shards_) bytes += shard->memory_bytes();
  for (const Slot& slot : slots_) {
    for (const auto& list : slot.routed) bytes += list.capacity() * sizeof(RoutedOffset);
  }
  return bytes;
}

}  // namespace egressd::pipeline
