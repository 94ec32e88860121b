// Source: a producer of FlowRecords (netfilter conntrack, eBPF maps, Cilium CT maps), and
// BatchSink: where a source hands its batches (the reducer's lock-free queue).
#pragma once

#include "egressd/common/error.h"
#include "egressd/flow.h"

namespace egressd {

class BatchSink {
 public:
  virtual ~BatchSink() = default;
  // Never blocks the caller. Returns false if the batch was dropped (the queue is full); the sink
  // counts the drop, the source may log it.
  virtual bool push(RecordBatch&& batch) = 0;
};

class Source {
 public:
  virtual ~Source() = default;
  [[nodiscard]] virtual SourceKind kind() const noexcept = 0;
  // Starts the source's own thread(s). Fails with a clear error if the source cannot run here.
  virtual Status start() = 0;
  // Stops and joins the threads; idempotent; returns within a read interval at most.
  virtual void stop() = 0;
};

}  // namespace egressd
