// FlowReader: drains the flow programs' counters once per interval without racing them.
//
// The programs write the buffer in slot 0 of egressd_flow_active. drain() points that slot at the
// other buffer — the map update returns after an RCU grace period, so no program still writes the
// old one — then empties the old buffer with BPF_MAP_LOOKUP_AND_DELETE_BATCH (it has no writers
// left, so nothing can land between a copy and a delete) and the overflow ring. Counters are summed
// over CPUs; every key is visited once per drain.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include "egressd/abi/flow.h"
#include "egressd/common/error.h"

struct ring_buffer;

namespace egressd::ebpf {

class FlowObject;

// Totals of the per-CPU statistics (enum egressd_flow_stat), monotonic since load.
using FlowStats = std::array<uint64_t, EGRESSD_FLOW_STAT_MAX>;

struct DrainResult {
  uint64_t entries = 0;                     // keys read from the buffer
  uint64_t overflow_records = 0;            // packets read from the overflow ring
  std::chrono::nanoseconds switch_time{0};  // the slot update (one RCU grace period)
  std::chrono::nanoseconds read_time{0};    // batched lookup-and-delete + ring
};

class FlowReader {
 public:
  // Called once per key of the drained buffer (counters summed over CPUs), then once per overflow
  // record (one packet). Must not throw.
  class Visitor {
   public:
    virtual ~Visitor() = default;
    virtual void flow(const egressd_flow_key& key, const egressd_flow_counters& counters) = 0;
  };

  [[nodiscard]] static Result<std::unique_ptr<FlowReader>> create(const FlowObject& object);
  FlowReader(const FlowReader&) = delete;
  FlowReader& operator=(const FlowReader&) = delete;
  ~FlowReader();

  [[nodiscard]] Result<DrainResult> drain(Visitor& visitor);
  [[nodiscard]] Result<FlowStats> stats() const;
  // Index (0/1) of the buffer the programs write now.
  [[nodiscard]] int active_buffer() const noexcept { return active_; }

 private:
  FlowReader(const FlowObject& object, unsigned cpus);
  Status drain_buffer(int fd, Visitor& visitor, DrainResult& result);

  const FlowObject* object_;
  unsigned cpus_;
  int active_ = 0;
  ring_buffer* ring_ = nullptr;
  Visitor* ring_visitor_ = nullptr;
  uint64_t ring_records_ = 0;
  std::vector<egressd_flow_key> keys_;
  std::vector<egressd_flow_counters> values_;  // batch x cpus
};

}  // namespace egressd::ebpf
