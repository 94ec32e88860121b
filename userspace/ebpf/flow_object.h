// FlowObject: bpf/flow.bpf.c loaded into the kernel — programs verified, maps created — before
// anything is attached. Owns the libbpf object; destroying it unloads everything (links hold
// their own references, so they must be closed first to really detach: see EbpfSource).
#pragma once

#include <cstdint>
#include <memory>

#include "egressd/common/error.h"

namespace egressd::ebpf {

struct FlowObjectOptions {
  uint32_t map_entries = 65536;               // capacity of each of the two flow buffers
  uint32_t overflow_ring_bytes = 256 * 1024;  // power of two, at least a page
};

class FlowObject {
 public:
  [[nodiscard]] static Result<std::unique_ptr<FlowObject>> load(const FlowObjectOptions& options);
  FlowObject(const FlowObject&) = delete;
  FlowObject& operator=(const FlowObject&) = delete;
  ~FlowObject();

  // TC egress programs: for devices with an Ethernet header, and for L3 devices (tun, ipip...).
  [[nodiscard]] int tc_ethernet_fd() const noexcept;
  [[nodiscard]] int tc_l3_fd() const noexcept;
  // The netfilter LOCAL_IN program.
  [[nodiscard]] int local_in_fd() const noexcept;

  [[nodiscard]] int active_map_fd() const noexcept;           // array of maps, one slot
  [[nodiscard]] int buffer_map_fd(int index) const noexcept;  // 0 or 1; 0 is active at load
  [[nodiscard]] int stats_map_fd() const noexcept;
  [[nodiscard]] int overflow_map_fd() const noexcept;
  [[nodiscard]] uint32_t map_entries() const noexcept { return options_.map_entries; }

 private:
  struct Impl;
  FlowObject(std::unique_ptr<Impl> impl, const FlowObjectOptions& options);
  std::unique_ptr<Impl> impl_;
  FlowObjectOptions options_;
};

}  // namespace egressd::ebpf
