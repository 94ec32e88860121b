// FlatTable: the reducer's hash table — dense entries in fixed-size chunks plus an open-addressing
// index of 8-byte slots (linear probing, load ≤ 3/4).
//
// Why this shape (docs/pipeline.md, "Tables"): the dense chunks hold exactly one entry per key, so
// an interval's flows are copied into a snapshot with plain chunk copies and memory grows in
// chunk steps, never by doubling a vector; the index is small (8 bytes a slot) so a 1M-key table
// costs ~72 + 11..21 bytes per key. A slot packs the upper 32 hash bits (a tag compared before
// the key) and the entry's position + 1 (0 = empty). Entries are trivially copyable and are never
// erased one by one: the reducer clears a whole table at an interval boundary, or compacts it
// (retain_if) once per complete read, rebuilding the index in one pass.
//
// Not thread-safe: each table belongs to one shard, and a shard runs on one thread at a time.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>
#include <vector>

#include "pipeline/hashing.h"

namespace egressd::pipeline {

// Traits: `using Key`; static uint64_t hash(const Entry&, const HashSeed&);
// static bool matches(const Entry&, const Key&); static Entry make(const Key&).
template <typename Entry, typename Traits>
class FlatTable {
  static_assert(std::is_trivially_copyable_v<Entry> && std::is_trivially_destructible_v<Entry>);

 public:
  using Key = typename Traits::Key;
  static constexpr size_t kChunkShift = 12;  // 4096 entries a chunk (~288 KiB of flows)
  static constexpr size_t kChunk = size_t{1} << kChunkShift;

  // `max_size`: the most entries the table accepts (inserts beyond it fail). `seed` keys the hash
  // used to rebuild the index (the same seed the caller hashes keys with).
  FlatTable(size_t max_size, const HashSeed& seed)
      : max_size_(std::min<size_t>(max_size, kMaxPositions)), seed_(seed), index_(kMinSlots) {}

  FlatTable(const FlatTable&) = delete;
  FlatTable& operator=(const FlatTable&) = delete;
  FlatTable(FlatTable&&) noexcept = default;
  FlatTable& operator=(FlatTable&&) noexcept = default;
  ~FlatTable() = default;

  [[nodiscard]] size_t size() const noexcept { return size_; }
  [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
  [[nodiscard]] size_t max_size() const noexcept { return max_size_; }
  [[nodiscard]] Entry& at(size_t pos) noexcept { return chunks_[pos >> kChunkShift][pos & kMask]; }
  [[nodiscard]] const Entry& at(size_t pos) const noexcept {
    return chunks_[pos >> kChunkShift][pos & kMask];
  }

  [[nodiscard]] Entry* find(const Key& key, uint64_t hash) noexcept {
    const auto tag = static_cast<uint32_t>(hash >> 32);
    for (size_t i = hash & mask();; i = (i + 1) & mask()) {
      const uint64_t slot = index_[i];
      if (slot == 0) return nullptr;
      if (static_cast<uint32_t>(slot >> 32) == tag) {
        Entry& e = at(position(slot));
        if (Traits::matches(e, key)) return &e;
      }
    }
  }

  // The entry of `key`, inserted as Traits::make(key) if absent; nullptr if absent and the table
  // already holds max_size() entries. `inserted` tells which happened.
  [[nodiscard, gnu::always_inline]] Entry* find_or_insert(const Key& key, uint64_t hash,
                                                          bool& inserted) {
    inserted = false;
    const auto tag = static_cast<uint32_t>(hash >> 32);
    size_t i = hash & mask();
    for (;; i = (i + 1) & mask()) {
      const uint64_t slot = index_[i];
      if (slot == 0) break;
      if (static_cast<uint32_t>(slot >> 32) == tag) {
        Entry& e = at(position(slot));
        if (Traits::matches(e, key)) return &e;
      }
    }
    if (size_ >= max_size_) return nullptr;
    if ((size_ + 1) * 4 > index_.size() * 3) {
      rebuild_index(index_.size() * 2);
      for (i = hash & mask(); index_[i] != 0; i = (i + 1) & mask()) {
      }
    }
    const size_t pos = size_++;
    if ((pos >> kChunkShift) == chunks_.size()) chunks_.push_back(new_chunk());
    Entry* e = std::construct_at(&at(pos), Traits::make(key));
    index_[i] = slot_of(tag, pos);
    inserted = true;
    return e;
  }

  // Memory-level parallelism: callers prefetch the slot of a key a few records ahead, then its
  // entry (which reads the slot, so only once the slot's line has arrived).
  [[gnu::always_inline]] void prefetch_slot(uint64_t hash) const noexcept {
    __builtin_prefetch(&index_[hash & mask()]);
  }
  // Follows the probe chain (a key is often a few slots past its home at load 1/2..3/4) until the
  // tag matches or a slot is empty; bounded, as a prefetch must stay cheap.
  [[gnu::always_inline]] void prefetch_entry(uint64_t hash) const noexcept {
    const auto tag = static_cast<uint32_t>(hash >> 32);
    size_t i = hash & mask();
    for (int probes = 0; probes < 8; ++probes, i = (i + 1) & mask()) {
      const uint64_t slot = index_[i];
      if (slot == 0) return;
      if (static_cast<uint32_t>(slot >> 32) == tag) {
        __builtin_prefetch(&at(position(slot)), 1);
        return;
      }
    }
  }

  // Calls fn(entry) for every entry, in insertion order.
  template <typename Fn>
  void for_each(Fn&& fn) {
    for (size_t c = 0, left = size_; left > 0; ++c) {
      const size_t n = std::min(left, kChunk);
      for (size_t j = 0; j < n; ++j) fn(chunks_[c][j]);
      left -= n;
    }
  }

  // Appends every entry, in insertion order, to `out`: one block copy per chunk.
  void append_to(std::vector<Entry>& out) const {
    for (size_t c = 0, left = size_; left > 0; ++c) {
      const size_t n = std::min(left, kChunk);
      out.insert(out.end(), chunks_[c].get(), chunks_[c].get() + n);
      left -= n;
    }
  }

  // Empties the table. Memory follows the load with one interval of lag: chunks and index slots
  // beyond what the entries just removed needed are released.
  void clear() {
    const size_t had = size_;
    size_ = 0;
    chunks_.resize(std::min(chunks_.size(), (had + kChunk - 1) >> kChunkShift));
    const size_t want = slots_for(had);
    if (want < index_.size() / 4) {
      index_.assign(want, 0);
      index_.shrink_to_fit();
    } else {
      std::fill(index_.begin(), index_.end(), 0);
    }
  }

  // Keeps the entries for which keep(entry) is true (in order) and rebuilds the index; returns
  // how many were removed. O(size()), for once-per-read sweeps, not for the record path.
  template <typename Keep>
  size_t retain_if(Keep&& keep) {
    size_t kept = 0;
    for (size_t pos = 0; pos < size_; ++pos) {
      Entry& e = at(pos);
      if (!keep(e)) continue;
      if (kept != pos) at(kept) = e;
      ++kept;
    }
    const size_t removed = size_ - kept;
    if (removed == 0) return 0;
    size_ = kept;
    chunks_.resize((size_ + kChunk - 1) >> kChunkShift);
    rebuild_index(std::max(slots_for(size_), kMinSlots));
    return removed;
  }

  // Bytes held by the table (chunks and index), for the memory-per-key figure.
  [[nodiscard]] size_t memory_bytes() const noexcept {
    return chunks_.size() * kChunk * sizeof(Entry) + index_.size() * sizeof(uint64_t);
  }

 private:
  struct ChunkDeleter {
    void operator()(Entry* p) const noexcept { ::operator delete(p); }
  };
  using Chunk = std::unique_ptr<Entry[], ChunkDeleter>;

  static constexpr size_t kMask = kChunk - 1;
  static constexpr size_t kMinSlots = 16;
  static constexpr size_t kMaxPositions = (size_t{1} << 32) - 2;  // position + 1 fits 32 bits

  // Raw storage: entries are constructed on insert, so untouched capacity is never written.
  static Chunk new_chunk() {
    return Chunk(static_cast<Entry*>(::operator new(sizeof(Entry) * kChunk)));
  }
  static uint64_t slot_of(uint32_t tag, size_t pos) noexcept {
    return (static_cast<uint64_t>(tag) << 32) | static_cast<uint64_t>(pos + 1);
  }
  static size_t position(uint64_t slot) noexcept {
    return static_cast<size_t>(static_cast<uint32_t>(slot)) - 1;
  }
  // Smallest power of two holding n entries at load ≤ 3/4.
  static size_t slots_for(size_t n) noexcept {
    size_t s = kMinSlots;
    while (n * 4 > s * 3) s *= 2;
    return s;
  }
  [[nodiscard]] size_t mask() const noexcept { return index_.size() - 1; }

  void rebuild_index(size_t slots) {
    index_.assign(slots, 0);
    for (size_t pos = 0; pos < size_; ++pos) {
      const uint64_t h = Traits::hash(at(pos), seed_);
      size_t i = h & mask();
      while (index_[i] != 0) i = (i + 1) & mask();
      index_[i] = slot_of(static_cast<uint32_t>(h >> 32), pos);
    }
  }

  size_t max_size_;
  HashSeed seed_;
  size_t size_ = 0;
  std::vector<Chunk> chunks_;
  std::vector<uint64_t> index_;
};

}  // namespace egressd::pipeline
