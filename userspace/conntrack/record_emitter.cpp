#include "conntrack/record_emitter.h"

#include <array>
#include <utility>

#include "conntrack/orientation.h"

namespace egressd::conntrack {

RecordEmitter::RecordEmitter(BatchSink& sink, SourceMetrics& metrics, size_t batch_records)
    : sink_(sink),
      metrics_(metrics),
      batch_records_(batch_records == 0 ? 1 : batch_records),
      endpoints_(std::make_shared<const LocalEndpoints>()) {
  fresh_batch();
}

void RecordEmitter::fresh_batch() {
  batch_ = RecordBatch{};
  batch_.kind = RecordBatch::Kind::kRecords;
  batch_.source = SourceKind::kNetfilter;
  batch_.read_generation = generation_;
  // One allocation per batch, none per record.
  batch_.records.reserve(batch_records_);
}

void RecordEmitter::begin(std::shared_ptr<const LocalEndpoints> endpoints, uint64_t generation) {
  flush();
  if (endpoints) endpoints_ = std::move(endpoints);
  generation_ = generation;
  batch_.read_generation = generation;
}

void RecordEmitter::on_entry(const CtEntry& entry, MessageKind kind) {
  ++pending_.read;
  const bool final = kind == MessageKind::kDelete;
  if (final) ++pending_.destroyed;
  std::array<FlowRecord, 2> out;
  const Orientation o = orient(entry, *endpoints_, final, out);
  switch (o.reason) {
    case DropReason::kTransit: ++pending_.transit; return;
    case DropReason::kNoCounters: ++pending_.no_counters; return;
    case DropReason::kNone: break;
  }
  for (uint8_t i = 0; i < o.count; ++i) {
    batch_.records.push_back(out[i]);
    if (batch_.records.size() >= batch_records_) flush();
  }
}

void RecordEmitter::publish_counts() {
  // Per-entry atomic increments cost more than the rest of the bookkeeping: add them up here.
  if (pending_.read != 0) metrics_.records_read.inc(pending_.read);
  if (pending_.destroyed != 0) metrics_.events_destroy.inc(pending_.destroyed);
  if (pending_.transit != 0) metrics_.dropped_transit.inc(pending_.transit);
  if (pending_.no_counters != 0) metrics_.dropped_no_counters.inc(pending_.no_counters);
  pending_ = {};
}

void RecordEmitter::flush() {
  publish_counts();
  if (batch_.records.empty()) return;
  const size_t n = batch_.records.size();
  push(std::move(batch_), n);
  fresh_batch();
}

void RecordEmitter::read_complete(uint64_t generation) {
  flush();
  RecordBatch marker;
  marker.kind = RecordBatch::Kind::kReadComplete;
  marker.source = SourceKind::kNetfilter;
  marker.read_generation = generation;
  push(std::move(marker), 0);
}

void RecordEmitter::push(RecordBatch&& batch, size_t records) {
  const bool marker = batch.kind == RecordBatch::Kind::kReadComplete;
  if (sink_.push(std::move(batch))) {
    pushed_ += records;
    return;
  }
  // The sink counts the drop (egressd_records_dropped_total{reason="queue_full"}); say it here.
  lost_ += records;
  if (uint64_t suppressed = 0; lost_log_.allow(suppressed)) {
    spdlog::warn("conntrack: record queue full, dropped {} (+{} similar since last message)",
                 marker ? "a read-complete marker" : fmt::format("{} records", records),
                 suppressed);
  }
}

}  // namespace egressd::conntrack
