// MapReader: reads every entry of a BPF hash map in chunks, with BPF_MAP_LOOKUP_BATCH (Linux 5.6+)
// or, on kernels without it, a get_next_key + lookup walk.
//
// Batch lookups walk the hash buckets (the batch token is a bucket index), so concurrent updates
// never make them restart; a bucket larger than the buffer is refused with ENOSPC and retried
// with a doubled buffer. A get_next_key walk restarts from the first key when the current key was
// deleted meanwhile (htab_map_get_next_key()): the walker remembers the keys it has handed out,
// skips them after a restart, counts restarts and gives up after kMaxRestarts (the read is then
// incomplete). Buffers are kept between reads: no allocation per read once grown.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <stop_token>
#include <vector>

#include "egressd/common/error.h"

namespace egressd::cilium {

enum class ReadMethod : uint8_t {
  kAuto,     // batch, falling back to the key walk if the kernel refuses batch ops
  kBatch,    // batch only (benchmarks, tests)
  kKeyWalk,  // get_next_key only (tests of the fallback, old kernels)
};

class ChunkVisitor {
 public:
  virtual ~ChunkVisitor() = default;
  // `count` entries: keys packed at key_size bytes each, values at value_bytes each.
  virtual void on_chunk(const uint8_t* keys, const uint8_t* values, size_t count) = 0;
};

struct ReadResult {
  size_t entries = 0;     // entries handed to the visitor
  size_t syscalls = 0;    // bpf() calls made
  size_t grows = 0;       // ENOSPC retries (batch)
  size_t restarts = 0;    // restarts of the key walk
  bool batch = false;     // read with batch lookups
  bool complete = false;  // every entry of the map was visited once
  std::optional<Error> error;
};

class MapReader {
 public:
  static constexpr size_t kMaxRestarts = 8;
  static constexpr uint32_t kWalkChunk = 256;

  MapReader(ReadMethod method, uint32_t batch_entries);

  // Reads the map `fd` (`name` for messages). `value_bytes` is the value size as the kernel copies
  // it (per-CPU maps: 8-byte-rounded size times possible CPUs). `max_entries` bounds the walk.
  ReadResult read(int fd, const char* name, size_t key_size, size_t value_bytes,
                  uint32_t max_entries, ChunkVisitor& visitor, const std::stop_token& stop);

  // True once a batch lookup was refused as unsupported (the walk is used from then on).
  [[nodiscard]] bool batch_unsupported() const noexcept { return batch_unsupported_; }

 private:
  // nullopt: the kernel refused batch ops before anything was read (fall back).
  std::optional<ReadResult> read_batch(int fd, const char* name, size_t key_size,
                                       size_t value_bytes, uint32_t max_entries,
                                       ChunkVisitor& visitor, const std::stop_token& stop);
  ReadResult read_walk(int fd, const char* name, size_t key_size, size_t value_bytes,
                       uint32_t max_entries, ChunkVisitor& visitor, const std::stop_token& stop);

  ReadMethod method_;
  uint32_t batch_entries_;
  bool batch_unsupported_ = false;
  std::vector<uint8_t> keys_;
  std::vector<uint8_t> values_;
};

}  // namespace egressd::cilium
