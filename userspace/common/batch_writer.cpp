#include "egressd/batch_writer.h"

#include <utility>

#include <fmt/format.h>

namespace egressd {

BatchWriter::BatchWriter(BatchSink& sink, SourceKind source, size_t batch_records)
    : sink_(sink), source_(source), batch_records_(batch_records == 0 ? 1 : batch_records) {
  fresh_batch();
}

void BatchWriter::fresh_batch() {
  batch_ = RecordBatch{};
  batch_.kind = RecordBatch::Kind::kRecords;
  batch_.source = source_;
  batch_.read_generation = generation_;
  batch_.records.reserve(batch_records_);
}

void BatchWriter::begin(uint64_t generation) {
  flush();
  generation_ = generation;
  batch_.read_generation = generation;
}

void BatchWriter::flush() {
  if (batch_.records.empty()) return;
  const size_t n = batch_.records.size();
  push(std::move(batch_), n);
  fresh_batch();
}

void BatchWriter::read_complete(uint64_t generation) {
  flush();
  RecordBatch marker;
  marker.kind = RecordBatch::Kind::kReadComplete;
  marker.source = source_;
  marker.read_generation = generation;
  push(std::move(marker), 0);
}

void BatchWriter::push(RecordBatch&& batch, size_t records) {
  const bool marker = batch.kind == RecordBatch::Kind::kReadComplete;
  if (sink_.push(std::move(batch))) {
    pushed_ += records;
    return;
  }
  lost_ += records;
  if (marker) ++markers_lost_;
  if (uint64_t suppressed = 0; lost_log_.allow(suppressed)) {
    spdlog::warn(
        "{}: record queue full, dropped {} (+{} similar since last message)", source_name(source_),
        marker ? std::string("a read-complete marker") : fmt::format("{} records", records),
        suppressed);
  }
}

}  // namespace egressd
