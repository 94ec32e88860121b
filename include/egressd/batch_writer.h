// BatchWriter: what every source does between "I have a record" and the BatchSink — collect
// records into RecordBatches of up to `batch_records` (one allocation per batch, none per
// record), stamp them with the source and read generation, push them without blocking, send the
// kReadComplete marker, and count and log (rate-limited) what a full queue refused. The sink
// counts the drop itself (egressd_records_dropped_total{reason="queue_full"}).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

#include "egressd/common/log.h"
#include "egressd/flow.h"
#include "egressd/source.h"

namespace egressd {

class BatchWriter {
 public:
  BatchWriter(BatchSink& sink, SourceKind source, size_t batch_records);

  // Flushes what is pending, then stamps the following records with `generation`.
  void begin(uint64_t generation);
  void add(const FlowRecord& record) {
    batch_.records.push_back(record);
    if (batch_.records.size() >= batch_records_) flush();
  }
  // Pushes the records collected so far, if any.
  void flush();
  // Flushes, then pushes the marker that read `generation` was complete.
  void read_complete(uint64_t generation);

  [[nodiscard]] uint64_t generation() const noexcept { return generation_; }
  [[nodiscard]] uint64_t records_pushed() const noexcept { return pushed_; }
  [[nodiscard]] uint64_t records_lost() const noexcept { return lost_; }
  [[nodiscard]] uint64_t markers_lost() const noexcept { return markers_lost_; }

 private:
  void fresh_batch();
  void push(RecordBatch&& batch, size_t records);

  BatchSink& sink_;
  SourceKind source_;
  size_t batch_records_;
  uint64_t generation_ = 0;
  RecordBatch batch_;
  uint64_t pushed_ = 0;
  uint64_t lost_ = 0;
  uint64_t markers_lost_ = 0;
  log::RateLimit lost_log_{std::chrono::seconds(10)};
};

}  // namespace egressd
