// Snapshot: what one closed interval produced — the per-flow deltas, immutable once published.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include "egressd/flow.h"

namespace egressd::pipeline {

struct FlowDelta {
  FlowKey key;
  Counters delta;
};

struct Snapshot {
  uint64_t sequence = 0;  // 1 for the first interval, +1 per interval
  std::chrono::system_clock::time_point start;
  std::chrono::system_clock::time_point end;
  std::vector<FlowDelta> flows;  // one entry per key with a non-zero delta
};

// Consumers of snapshots (enrichment + exporters). consume() runs on the reducer's thread and must
// not block on I/O; every snapshot is delivered exactly once, in order.
class SnapshotSink {
 public:
  virtual ~SnapshotSink() = default;
  virtual void consume(std::shared_ptr<const Snapshot> snapshot) = 0;
};

}  // namespace egressd::pipeline
