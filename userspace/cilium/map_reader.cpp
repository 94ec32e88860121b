#include "cilium/map_reader.h"

#include <bpf/bpf.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <unordered_set>

#include <fmt/format.h>

namespace egressd::cilium {

namespace {

// ENOTSUPP (524) is the kernel-internal "not supported" that leaks to userspace from
// bpf_map_do_batch() when a map type has no batch ops; EINVAL comes from kernels older than 5.6
// that do not know the command.
constexpr int kEnotsupp = 524;

bool batch_unsupported_errno(int err) {
  return err == EINVAL || err == kEnotsupp || err == EOPNOTSUPP || err == ENOSYS;
}

}  // namespace

MapReader::MapReader(ReadMethod method, uint32_t batch_entries)
    : method_(method), batch_entries_(std::max<uint32_t>(batch_entries, 1)) {}

ReadResult MapReader::read(int fd, const char* name, size_t key_size, size_t value_bytes,
                           uint32_t max_entries, ChunkVisitor& visitor,
                           const std::stop_token& stop) {
  const bool try_batch =
      method_ == ReadMethod::kBatch || (method_ == ReadMethod::kAuto && !batch_unsupported_);
  if (try_batch) {
    if (auto r = read_batch(fd, name, key_size, value_bytes, max_entries, visitor, stop)) {
      return std::move(*r);
    }
    if (method_ == ReadMethod::kBatch) {
      ReadResult r;
      r.error.emplace(Errc::kUnsupported,
                      fmt::format("{}: BPF_MAP_LOOKUP_BATCH is not supported", name));
      return r;
    }
    batch_unsupported_ = true;
  }
  return read_walk(fd, name, key_size, value_bytes, max_entries, visitor, stop);
}

std::optional<ReadResult> MapReader::read_batch(int fd, const char* name, size_t key_size,
                                                size_t value_bytes, uint32_t max_entries,
                                                ChunkVisitor& visitor,
                                                const std::stop_token& stop) {
  ReadResult r;
  r.batch = true;
  uint32_t capacity = std::min(batch_entries_, std::max<uint32_t>(max_entries, 1));
  const auto fit = [&] {
    if (keys_.size() < size_t{capacity} * key_size) keys_.resize(size_t{capacity} * key_size);
    if (values_.size() < size_t{capacity} * value_bytes) {
      values_.resize(size_t{capacity} * value_bytes);
    }
  };
  fit();
  // The batch token of hash maps is a u32 bucket index; 8 bytes leave room.
  uint64_t in_token = 0;
  uint64_t out_token = 0;
  bool first = true;
  bpf_map_batch_opts opts{};  // LIBBPF_OPTS without its C-only compound literal
  opts.sz = sizeof(opts);
  while (true) {
    if (stop.stop_requested()) return r;  // not complete
    uint32_t count = capacity;
    const int rc = bpf_map_lookup_batch(fd, first ? nullptr : &in_token, &out_token, keys_.data(),
                                        values_.data(), &count, &opts);
    const int err = rc == 0 ? 0 : errno;
    ++r.syscalls;
    if (rc != 0 && err != ENOENT) {
      if (err == ENOSPC && capacity < max_entries) {
        // One bucket holds more entries than the buffer: the kernel copied nothing; retry the
        // same bucket with a doubled buffer (htab's __htab_map_lookup_and_delete_batch()).
        capacity = std::min<uint32_t>(capacity * 2, max_entries);
        fit();
        ++r.grows;
        continue;
      }
      if (first && r.entries == 0 && batch_unsupported_errno(err)) return std::nullopt;
      r.error.emplace(Errc::kIo, fmt::format("{}: BPF_MAP_LOOKUP_BATCH", name), err);
      return r;
    }
    if (count > 0) {
      visitor.on_chunk(keys_.data(), values_.data(), count);
      r.entries += count;
    }
    if (err == ENOENT) break;  // the last buckets were in this call (count may be > 0)
    in_token = out_token;
    first = false;
  }
  // Remember a grown buffer for the next read.
  batch_entries_ = std::max(batch_entries_, capacity);
  r.complete = true;
  return r;
}

ReadResult MapReader::read_walk(int fd, const char* name, size_t key_size, size_t value_bytes,
                                uint32_t max_entries, ChunkVisitor& visitor,
                                const std::stop_token& stop) {
  ReadResult r;
  const size_t chunk = kWalkChunk;
  if (keys_.size() < chunk * key_size) keys_.resize(chunk * key_size);
  if (values_.size() < chunk * value_bytes) values_.resize(chunk * value_bytes);
  std::vector<uint8_t> cur(key_size);
  std::vector<uint8_t> next(key_size);
  // Keys handed out (or looked at) in this walk: after a restart, they are skipped.
  std::unordered_set<std::string> seen;
  seen.reserve(max_entries);
  size_t pending = 0;
  const auto flush = [&] {
    if (pending == 0) return;
    visitor.on_chunk(keys_.data(), values_.data(), pending);
    r.entries += pending;
    pending = 0;
  };
  // Every key is visited at most once per pass, and there are at most kMaxRestarts + 1 passes.
  const uint64_t step_limit = (uint64_t{max_entries} + 1) * (kMaxRestarts + 2);
  bool in_seen_run = false;
  const void* prev = nullptr;
  for (uint64_t steps = 0;; ++steps) {
    if (stop.stop_requested() || steps > step_limit) {
      flush();
      return r;
    }
    ++r.syscalls;
    if (bpf_map_get_next_key(fd, prev, next.data()) != 0) {
      const int err = errno;
      flush();
      if (err == ENOENT) {
        r.complete = true;  // past the last key
      } else {
        r.error.emplace(Errc::kIo, fmt::format("{}: BPF_MAP_GET_NEXT_KEY", name), err);
      }
      return r;
    }
    cur.swap(next);
    prev = cur.data();
    auto [it, fresh] = seen.emplace(reinterpret_cast<const char*>(cur.data()), key_size);
    if (!fresh) {
      // A key handed out before: the walk went back to the start (its current key was deleted).
      if (!in_seen_run) {
        in_seen_run = true;
        if (++r.restarts > kMaxRestarts) {
          flush();
          r.error.emplace(Errc::kResource,
                          fmt::format("{}: key walk restarted more than {} times (entries deleted "
                                      "faster than they are read)",
                                      name, kMaxRestarts));
          return r;
        }
      }
      continue;
    }
    in_seen_run = false;
    uint8_t* value = values_.data() + pending * value_bytes;
    ++r.syscalls;
    if (bpf_map_lookup_elem(fd, cur.data(), value) != 0) {
      if (errno == ENOENT) continue;  // deleted since get_next_key: gone, nothing to read
      const int err = errno;
      flush();
      r.error.emplace(Errc::kIo, fmt::format("{}: BPF_MAP_LOOKUP_ELEM", name), err);
      return r;
    }
    std::copy(cur.begin(), cur.end(), keys_.begin() + static_cast<ptrdiff_t>(pending * key_size));
    if (++pending == chunk) flush();
  }
}

}  // namespace egressd::cilium
