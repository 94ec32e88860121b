#include "ebpf/flow_reader.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "ebpf/flow_object.h"
#include "loader/libbpf_support.h"
#include "loader/per_cpu.h"

namespace egressd::ebpf {

namespace {

// Keys per batch: large enough that the syscall cost per key is small (measured in
// bench/bpf_flow_bench.cpp), small enough to stay in cache.
constexpr uint32_t kBatchKeys = 4096;

using Clock = std::chrono::steady_clock;

}  // namespace

Result<std::unique_ptr<FlowReader>> FlowReader::create(const FlowObject& object) {
  auto cpus = loader::possible_cpus();
  if (!cpus) return std::unexpected(std::move(cpus.error()));
  std::unique_ptr<FlowReader> reader(new FlowReader(object, *cpus));
  // The ring calls back with the reader's address as context: the reader never moves.
  reader->ring_ = ring_buffer__new(
      object.overflow_map_fd(),
      [](void* ctx, void* data, size_t size) -> int {
        auto* self = static_cast<FlowReader*>(ctx);
        if (size < sizeof(egressd_flow_overflow) || self->ring_visitor_ == nullptr) return 0;
        egressd_flow_overflow rec;
        std::memcpy(&rec, data, sizeof(rec));
        egressd_flow_counters c{};
        if (rec.reply != 0) {
          c.reply_bytes = rec.bytes;
          c.reply_packets = 1;
        } else {
          c.orig_bytes = rec.bytes;
          c.orig_packets = 1;
        }
        self->ring_visitor_->flow(rec.key, c);
        ++self->ring_records_;
        return 0;
      },
      reader.get(), nullptr);
  if (reader->ring_ == nullptr) return fail_errno("opening the overflow ring buffer");
  return reader;
}

FlowReader::FlowReader(const FlowObject& object, unsigned cpus)
    : object_(&object), cpus_(cpus), keys_(kBatchKeys), values_(size_t{kBatchKeys} * cpus) {}

FlowReader::~FlowReader() {
  if (ring_ != nullptr) ring_buffer__free(ring_);
}

Status FlowReader::drain_buffer(int fd, Visitor& visitor, DrainResult& result) {
  uint32_t out_batch = 0;
  bool first = true;
  bpf_map_batch_opts opts{};
  opts.sz = sizeof(opts);
  for (;;) {
    uint32_t count = kBatchKeys;
    uint32_t in_batch = out_batch;
    const int rc = bpf_map_lookup_and_delete_batch(fd, first ? nullptr : &in_batch, &out_batch,
                                                   keys_.data(), values_.data(), &count, &opts);
    const int err = rc == 0 ? 0 : errno;
    if (rc != 0 && err != ENOENT) {
      return fail_errno("draining a flow buffer (BPF_MAP_LOOKUP_AND_DELETE_BATCH)", err);
    }
    first = false;
    for (uint32_t i = 0; i < count; ++i) {
      visitor.flow(keys_[i], loader::sum_per_cpu(std::span<const egressd_flow_counters>(
                                 &values_[size_t{i} * cpus_], cpus_)));
    }
    result.entries += count;
    if (err == ENOENT) return {};  // the last batch (possibly with entries) has been read
  }
}

Result<DrainResult> FlowReader::drain(Visitor& visitor) {
  DrainResult result;
  if (ring_ == nullptr) return fail(Errc::kResource, "the overflow ring buffer is not open");
  const int drained = active_;
  const int next = 1 - active_;
  const auto t0 = Clock::now();
  const uint32_t slot = EGRESSD_FLOW_ACTIVE_SLOT;
  const uint32_t next_fd = static_cast<uint32_t>(object_->buffer_map_fd(next));
  // Returns after synchronize_rcu(): programs that still held the old buffer have finished.
  if (bpf_map_update_elem(object_->active_map_fd(), &slot, &next_fd, BPF_ANY) != 0) {
    return fail_errno("switching the active flow buffer");
  }
  active_ = next;
  const auto t1 = Clock::now();
  if (auto st = drain_buffer(object_->buffer_map_fd(drained), visitor, result); !st) {
    return std::unexpected(st.error());
  }
  ring_visitor_ = &visitor;
  ring_records_ = 0;
  const int consumed = ring_buffer__consume(ring_);
  ring_visitor_ = nullptr;
  if (consumed < 0) return fail_errno("reading the overflow ring buffer", -consumed);
  result.overflow_records = ring_records_;
  result.switch_time = t1 - t0;
  result.read_time = Clock::now() - t1;
  return result;
}

Result<FlowStats> FlowReader::stats() const {
  const uint32_t key = 0;
  auto raw = loader::lookup_percpu(object_->stats_map_fd(), &key, sizeof(egressd_flow_stats));
  if (!raw) return std::unexpected(std::move(raw.error()));
  const auto sum = loader::sum_per_cpu<egressd_flow_stats>(*raw);
  FlowStats total{};
  std::copy(std::begin(sum.value), std::end(sum.value), total.begin());
  return total;
}

}  // namespace egressd::ebpf
