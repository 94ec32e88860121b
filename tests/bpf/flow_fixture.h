// Shared by the flow program tests: the production FlowObject loaded into this kernel, and direct
// reads of its maps (independent of the FlowReader under test elsewhere).
#pragma once

#include <bpf/bpf.h>
#include <linux/pkt_cls.h>

#include <cstring>
#include <map>
#include <memory>
#include <span>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

#include "ebpf/flow_object.h"
#include "egressd/abi/flow.h"
#include "egressd/common/ip.h"
#include "loader/libbpf_support.h"
#include "loader/per_cpu.h"

namespace egressd::testing {

// A key as tests write it: (initiator, responder, proto).
struct FlowId {
  IpAddr initiator;
  IpAddr responder;
  uint8_t proto = 0;
  friend auto operator<=>(const FlowId&, const FlowId&) = default;
};

inline FlowId flow_id(const egressd_flow_key& k) {
  return {IpAddr::from_v6_bytes(k.orig_src), IpAddr::from_v6_bytes(k.reply_src), k.proto};
}

inline std::unique_ptr<ebpf::FlowObject> load_flow_object(ebpf::FlowObjectOptions options = {}) {
  auto object = ebpf::FlowObject::load(options);
  EXPECT_TRUE(object) << object.error().message() << " (run as root)";
  return object ? std::move(*object) : nullptr;
}

// Every key of one buffer with its counters summed over CPUs.
inline std::map<FlowId, egressd_flow_counters> read_buffer(int map_fd) {
  std::map<FlowId, egressd_flow_counters> out;
  egressd_flow_key key{};
  egressd_flow_key next{};
  const void* prev = nullptr;
  while (bpf_map_get_next_key(map_fd, prev, &next) == 0) {
    key = next;
    prev = &key;
    auto raw = loader::lookup_percpu(map_fd, &key, sizeof(egressd_flow_counters));
    EXPECT_TRUE(raw) << raw.error().message();
    if (!raw) break;
    out[flow_id(key)] = loader::sum_per_cpu<egressd_flow_counters>(*raw);
  }
  return out;
}

inline void clear_buffer(int map_fd) {
  egressd_flow_key key{};
  while (bpf_map_get_next_key(map_fd, nullptr, &key) == 0) {
    ASSERT_EQ(bpf_map_delete_elem(map_fd, &key), 0);
  }
}

inline std::array<uint64_t, EGRESSD_FLOW_STAT_MAX> read_stats(int map_fd) {
  const uint32_t zero = 0;
  std::array<uint64_t, EGRESSD_FLOW_STAT_MAX> total{};
  auto raw = loader::lookup_percpu(map_fd, &zero, sizeof(egressd_flow_stats));
  EXPECT_TRUE(raw);
  if (!raw) return total;
  const auto sum = loader::sum_per_cpu<egressd_flow_stats>(*raw);
  std::copy(std::begin(sum.value), std::end(sum.value), total.begin());
  return total;
}

// The test context of a netfilter program: struct nf_hook_state begins with `u8 hook; u8 pf;`,
// and the kernel zero-fills the rest (bpf_prog_test_run_nf()).
inline std::vector<uint8_t> nf_ctx(uint8_t hook, uint8_t pf) {
  return {hook, pf};
}

}  // namespace egressd::testing
