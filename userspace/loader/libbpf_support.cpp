#include "loader/libbpf_support.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <array>
#include <cstdarg>
#include <cstdio>
#include <mutex>
#include <string>

#include "egressd/common/log.h"

namespace egressd::loader {

namespace {

int print_to_spdlog(enum libbpf_print_level level, const char* format, va_list args) {
  std::array<char, 1024> line{};
  // libbpf hands us its own printf format; it is not a literal by construction.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
  const int n = std::vsnprintf(line.data(), line.size(), format, args);
#pragma GCC diagnostic pop
  if (n <= 0) return n;
  std::string_view text(line.data(), std::min(static_cast<size_t>(n), line.size() - 1));
  while (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  if (level == LIBBPF_WARN) {
    spdlog::warn("libbpf: {}", text);
  } else {
    spdlog::debug("libbpf: {}", text);
  }
  return n;
}

}  // namespace

void install_libbpf_logging() {
  static std::once_flag once;
  std::call_once(once, [] { libbpf_set_print(print_to_spdlog); });
}

Result<unsigned> possible_cpus() {
  const int n = libbpf_num_possible_cpus();
  if (n <= 0) return fail_errno("reading the number of possible CPUs", -n);
  return static_cast<unsigned>(n);
}

Result<std::vector<uint8_t>> lookup_percpu(int map_fd, const void* key, size_t value_size) {
  auto cpus = possible_cpus();
  if (!cpus) return std::unexpected(std::move(cpus.error()));
  // The kernel copies per-CPU values with each slot rounded up to 8 bytes.
  const size_t slot = (value_size + 7) / 8 * 8;
  std::vector<uint8_t> out(slot * *cpus);
  if (bpf_map_lookup_elem(map_fd, key, out.data()) != 0) {
    return fail_errno("looking up a per-CPU map element");
  }
  return out;
}

Result<TestRunResult> test_run(int prog_fd, std::span<const uint8_t> packet, uint32_t repeat,
                               std::span<const uint8_t> ctx_in) {
  TestRunResult result;
  result.data_out.resize(packet.size() + 256);
  bpf_test_run_opts opts{};  // LIBBPF_OPTS, without its C-only compound literal
  opts.sz = sizeof(opts);
  opts.data_in = packet.data();
  opts.data_size_in = static_cast<uint32_t>(packet.size());
  opts.data_out = result.data_out.data();
  opts.data_size_out = static_cast<uint32_t>(result.data_out.size());
  opts.repeat = static_cast<int>(repeat);
  if (!ctx_in.empty()) {
    opts.ctx_in = ctx_in.data();
    opts.ctx_size_in = static_cast<uint32_t>(ctx_in.size());
  }
  if (bpf_prog_test_run_opts(prog_fd, &opts) != 0) {
    return fail_errno("BPF_PROG_TEST_RUN");
  }
  result.retval = opts.retval;
  result.duration_ns = opts.duration;
  result.data_out.resize(opts.data_size_out);
  return result;
}

}  // namespace egressd::loader
