// RecordEmitter: the EntryVisitor that turns parsed conntrack entries into oriented FlowRecords
// and hands them to the BatchSink in batches of `batch_records`.
//
// One LocalEndpoints snapshot serves a whole dump or event wake-up (begin()), so an inventory
// update never splits a read. Drops (transit, no counters) and lost batches are counted here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "conntrack/ct_parser.h"
#include "conntrack/source_metrics.h"
#include "egressd/batch_writer.h"
#include "egressd/common/log.h"
#include "egressd/flow.h"
#include "egressd/local_endpoints.h"
#include "egressd/source.h"

namespace egressd::conntrack {

class RecordEmitter final : public EntryVisitor {
 public:
  RecordEmitter(BatchSink& sink, SourceMetrics& metrics, size_t batch_records);

  // Starts a read: records carry `generation` until the next begin().
  void begin(std::shared_ptr<const LocalEndpoints> endpoints, uint64_t generation);
  void on_entry(const CtEntry& entry, MessageKind kind) override;
  // Pushes the records collected so far (if any) and publishes the counts to the metrics.
  void flush();
  // Pushes the marker that read `generation` was complete and consistent.
  void read_complete(uint64_t generation);

  [[nodiscard]] uint64_t records_pushed() const noexcept { return writer_.records_pushed(); }
  [[nodiscard]] uint64_t records_lost() const noexcept { return writer_.records_lost(); }

 private:
  void publish_counts();

  struct Pending {
    uint64_t read = 0;
    uint64_t destroyed = 0;
    uint64_t transit = 0;
    uint64_t no_counters = 0;
  };

  SourceMetrics& metrics_;
  std::shared_ptr<const LocalEndpoints> endpoints_;
  Pending pending_;
  BatchWriter writer_;  // batching, generations, queue-full accounting (shared with other sources)
};

}  // namespace egressd::conntrack
