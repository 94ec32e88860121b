// libbpf glue shared by every program family: logging into spdlog, per-CPU map reads, and
// BPF_PROG_TEST_RUN (used by tests/bpf and the ns/packet benchmarks).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "egressd/common/error.h"

namespace egressd::loader {

// Routes libbpf's messages to spdlog (libbpf warnings -> warn, info/debug -> debug). Idempotent.
void install_libbpf_logging();

// Number of possible CPUs as libbpf sizes per-CPU values (cached).
[[nodiscard]] Result<unsigned> possible_cpus();

// Reads one per-CPU map value as raw bytes: `value_size` bytes for each possible CPU.
[[nodiscard]] Result<std::vector<uint8_t>> lookup_percpu(int map_fd, const void* key,
                                                         size_t value_size);

struct TestRunResult {
  uint32_t retval = 0;
  uint32_t duration_ns = 0;  // average per repetition, as the kernel reports it
  std::vector<uint8_t> data_out;
};

// Runs a program on a packet with BPF_PROG_TEST_RUN. `repeat` > 1 measures ns/packet. `ctx_in`
// is the program type's test context (e.g. the hook and family of a netfilter program); the
// kernel zero-fills what it does not cover.
[[nodiscard]] Result<TestRunResult> test_run(int prog_fd, std::span<const uint8_t> packet,
                                             uint32_t repeat = 1,
                                             std::span<const uint8_t> ctx_in = {});

}  // namespace egressd::loader
