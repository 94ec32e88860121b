#include "conntrack/record_emitter.h"

#include <array>
#include <utility>

#include "conntrack/orientation.h"

namespace egressd::conntrack {

RecordEmitter::RecordEmitter(BatchSink& sink, SourceMetrics& metrics, size_t batch_records)
    : metrics_(metrics),
      endpoints_(std::make_shared<const LocalEndpoints>()),
      writer_(sink, SourceKind::kNetfilter, batch_records) {}

void RecordEmitter::begin(std::shared_ptr<const LocalEndpoints> endpoints, uint64_t generation) {
  flush();
  if (endpoints) endpoints_ = std::move(endpoints);
  writer_.begin(generation);
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
  for (uint8_t i = 0; i < o.count; ++i) writer_.add(out[i]);
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
  writer_.flush();
}

void RecordEmitter::read_complete(uint64_t generation) {
  publish_counts();
  writer_.read_complete(generation);
}

}  // namespace egressd::conntrack
