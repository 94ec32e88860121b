// CowVector<T>: a vector in fixed-size chunks shared copy-on-write between copies.
//
// The cluster index is updated by the watch thread and read by the exporter and the sources. A
// copy of a CowVector copies only the chunk pointers, so publishing an immutable snapshot costs
// O(size / kChunk); the writer's next change to a chunk still shared with a snapshot clones that
// chunk first. Steady-state memory is one copy of the data plus the chunks changed since the
// oldest snapshot a reader still holds (docs/kubernetes.md, "Index layout").
//
// Thread safety: one writer owns a CowVector and mutates it; other threads only read copies
// (snapshots) that nobody mutates. A chunk whose use_count() is 1 is owned by the writer alone:
// only the writer can create new references to it, so that answer cannot become stale.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace egressd::kube {

template <typename T, unsigned kShift = 10>
class CowVector {
 public:
  static constexpr size_t kChunk = size_t{1} << kShift;

  [[nodiscard]] size_t size() const noexcept { return size_; }
  [[nodiscard]] bool empty() const noexcept { return size_ == 0; }

  [[nodiscard]] const T& operator[](size_t i) const noexcept {
    return (*chunks_[i >> kShift])[i & (kChunk - 1)];
  }

  // A writable reference; clones the chunk if a snapshot shares it.
  T& mut(size_t i) {
    auto& chunk = chunks_[i >> kShift];
    if (chunk.use_count() != 1) {
      chunk = std::make_shared<std::vector<T>>(*chunk);
    } else {
      // use_count() is a relaxed load: pair it with the release decrement of the last reader
      // that dropped its reference, so its reads happen before our writes.
      std::atomic_thread_fence(std::memory_order_acquire);
    }
    return (*chunk)[i & (kChunk - 1)];
  }

  void push_back(T value) {
    if (size_ == chunks_.size() * kChunk) {
      chunks_.push_back(std::make_shared<std::vector<T>>(kChunk));
    }
    mut(size_++) = std::move(value);
  }

  // `n` default-constructed elements (a fresh table), none shared.
  void assign(size_t n, const T& value) {
    chunks_.clear();
    size_ = n;
    for (size_t done = 0; done < n; done += kChunk) {
      chunks_.push_back(std::make_shared<std::vector<T>>(kChunk, value));
    }
  }

  void clear() noexcept {
    chunks_.clear();
    size_ = 0;
  }

  // Bytes held by the chunks (element storage only), for the memory self-metric.
  [[nodiscard]] size_t chunk_bytes() const noexcept {
    return chunks_.size() * (kChunk * sizeof(T) + sizeof(std::vector<T>) + 32);
  }
  [[nodiscard]] size_t chunks() const noexcept { return chunks_.size(); }

 private:
  std::vector<std::shared_ptr<std::vector<T>>> chunks_;
  size_t size_ = 0;
};

}  // namespace egressd::kube
