// FlatTable: the reducer's hash table — dense entries in one mapped region plus an open-addressing
// index of 8-byte slots (linear probing, load ≤ 3/4).
//
// Why this shape (docs/pipeline.md, "Tables"): the dense array holds exactly one entry per key, so
// an interval's flows are copied into a snapshot with one block copy, and the region reserves room
// for max_size entries up front (committed by the kernel as they are touched), so the table grows
// without moving an entry; the index is small (8 bytes a slot) so a 1M-key table costs ~72 +
// 11..21 bytes per key. The index region too is reserved for max_size up front and grows and
// shrinks within it, so once constructed the table never asks for memory: nothing on the record
// path can throw or fail for address space (a full table is the one refusal, returned as nullptr
// and counted by the caller). Both move to huge pages once they outgrow one (mapped_region.h). A
// slot packs the upper 32 hash bits (a tag compared before the key) and the entry's position + 1 (0
// = empty). Entries are trivially copyable and are never erased one by one: the reducer clears a
// whole table at an interval boundary, or compacts it (retain_if) once per complete read,
// rebuilding the index in one pass.
//
// Not thread-safe: each table belongs to one shard, and a shard runs on one thread at a time.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <type_traits>
#include <vector>

#include "pipeline/hashing.h"
#include "pipeline/mapped_region.h"

namespace egressd::pipeline {

// Traits: `using Key`; static uint64_t hash(const Entry&, const HashSeed&);
// static bool matches(const Entry&, const Key&); static Entry make(const Key&).
template <typename Entry, typename Traits>
class FlatTable {
  static_assert(std::is_trivially_copyable_v<Entry> && std::is_trivially_destructible_v<Entry>);

 public:
  using Key = typename Traits::Key;

  // `max_size`: the most entries the table accepts (inserts beyond it fail); the regions reserve
  // address space for that many entries and their largest index. `seed` keys the hash used to
  // rebuild the index (the same seed the caller hashes keys with). Throws std::system_error if
  // the kernel refuses the address space: at start-up, where the reducer makes its tables.
  FlatTable(size_t max_size, const HashSeed& seed)
      : max_size_(std::min<size_t>(max_size, kMaxPositions)),
        seed_(seed),
        entries_(std::max<size_t>(max_size_, 1) * sizeof(Entry)),
        index_(slots_for(max_size_) * sizeof(uint64_t)),
        slots_(kMinSlots) {}

  FlatTable(const FlatTable&) = delete;
  FlatTable& operator=(const FlatTable&) = delete;
  FlatTable(FlatTable&&) noexcept = default;
  FlatTable& operator=(FlatTable&&) noexcept = default;
  ~FlatTable() = default;

  [[nodiscard]] size_t size() const noexcept { return size_; }
  [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
  [[nodiscard]] size_t max_size() const noexcept { return max_size_; }
  [[nodiscard]] Entry& at(size_t pos) noexcept { return entries()[pos]; }
  [[nodiscard]] const Entry& at(size_t pos) const noexcept { return entries()[pos]; }

  [[nodiscard]] Entry* find(const Key& key, uint64_t hash) noexcept {
    const auto tag = static_cast<uint32_t>(hash >> 32);
    const uint64_t* index = slots();
    for (size_t i = hash & mask();; i = (i + 1) & mask()) {
      const uint64_t slot = index[i];
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
                                                          bool& inserted) noexcept {
    inserted = false;
    const auto tag = static_cast<uint32_t>(hash >> 32);
    uint64_t* index = slots();
    size_t i = hash & mask();
    for (;; i = (i + 1) & mask()) {
      const uint64_t slot = index[i];
      if (slot == 0) break;
      if (static_cast<uint32_t>(slot >> 32) == tag) {
        Entry& e = at(position(slot));
        if (Traits::matches(e, key)) return &e;
      }
    }
    if (size_ >= max_size_) return nullptr;
    if ((size_ + 1) * 4 > slots_ * 3) {
      rebuild_index(slots_ * 2);
      index = slots();
      for (i = hash & mask(); index[i] != 0; i = (i + 1) & mask()) {
      }
    }
    const size_t pos = size_++;
    if (size_ > high_) {
      high_ = size_;
      if (high_ == kHugeAfter) entries_.advise_huge();
    }
    Entry* e = std::construct_at(&at(pos), Traits::make(key));
    index[i] = slot_of(tag, pos);
    inserted = true;
    return e;
  }

  // Memory-level parallelism: callers prefetch the slot of a key a few records ahead, then its
  // entry (which reads the slot, so only once the slot's line has arrived).
  [[gnu::always_inline]] void prefetch_slot(uint64_t hash) const noexcept {
    __builtin_prefetch(&slots()[hash & mask()]);
  }
  // Follows the probe chain (a key is often a few slots past its home at load 1/2..3/4) until the
  // tag matches or a slot is empty; bounded, as a prefetch must stay cheap.
  [[gnu::always_inline]] void prefetch_entry(uint64_t hash) const noexcept {
    const auto tag = static_cast<uint32_t>(hash >> 32);
    const uint64_t* index = slots();
    size_t i = hash & mask();
    for (int probes = 0; probes < 8; ++probes, i = (i + 1) & mask()) {
      const uint64_t slot = index[i];
      if (slot == 0) return;
      if (static_cast<uint32_t>(slot >> 32) == tag) {
        // Both ends: an entry wider than a cache line (a flow's is 72 B) always spans two.
        const auto* e = reinterpret_cast<const char*>(&at(position(slot)));
        __builtin_prefetch(e, 1);
        if constexpr (sizeof(Entry) > 1) __builtin_prefetch(e + sizeof(Entry) - 1, 1);
        return;
      }
    }
  }

  // Calls fn(entry) for every entry, in insertion order.
  template <typename Fn>
  void for_each(Fn&& fn) {
    Entry* e = entries();
    for (size_t pos = 0; pos < size_; ++pos) fn(e[pos]);
  }

  // Appends every entry, in insertion order, to `out`: one block copy.
  void append_to(std::vector<Entry>& out) const {
    const Entry* e = entries();
    out.insert(out.end(), e, e + size_);
  }

  // Empties the table. Memory follows the load with one interval of lag: the pages of entries and
  // index slots beyond what the entries just removed needed go back to the kernel.
  void clear() noexcept {
    const size_t had = size_;
    size_ = 0;
    release_entries_beyond(had);
    const size_t want = slots_for(had);
    if (want < slots_ / 4) {
      resize_index(want);
    } else {
      std::memset(slots(), 0, slots_ * sizeof(uint64_t));
    }
  }

  // Keeps the entries for which keep(entry) is true (in order) and rebuilds the index; returns
  // how many were removed. O(size()), for once-per-read sweeps, not for the record path.
  template <typename Keep>
  size_t retain_if(Keep&& keep) noexcept {
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
    release_entries_beyond(size_);
    rebuild_index(slots_for(size_));
    return removed;
  }

  // Bytes of memory the table holds (entry pages touched and not released, and the index), for
  // the memory-per-key figure.
  [[nodiscard]] size_t memory_bytes() const noexcept {
    return entries_.round_up(high_ * sizeof(Entry)) + index_.round_up(slots_ * sizeof(uint64_t));
  }

 private:
  static constexpr size_t kMinSlots = 16;
  // Entries that fill one huge page: from then on the entry region asks for huge pages.
  static constexpr size_t kHugeAfter = MappedRegion::kHugePage / sizeof(Entry);
  static constexpr size_t kMaxPositions = (size_t{1} << 32) - 2;  // position + 1 fits 32 bits

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
  [[nodiscard]] size_t mask() const noexcept { return slots_ - 1; }
  [[nodiscard]] Entry* entries() const noexcept { return static_cast<Entry*>(entries_.data()); }
  [[nodiscard]] uint64_t* slots() const noexcept { return static_cast<uint64_t*>(index_.data()); }

  // Returns the entry pages past the first `n` entries to the kernel.
  void release_entries_beyond(size_t n) noexcept {
    if (entries_.round_up(n * sizeof(Entry)) < entries_.round_up(high_ * sizeof(Entry))) {
      entries_.discard_from(n * sizeof(Entry));
    }
    high_ = n;
  }

  // Makes the index `slots` empty slots (within the reserved region: slots_for(max_size_) is the
  // most any size up to max_size needs), returning the pages past them to the kernel. Every
  // slot is used, so the index asks for huge pages once it spans one.
  void resize_index(size_t count) noexcept {
    const size_t bytes = count * sizeof(uint64_t);
    if (count < slots_) {
      // A small index goes back to 4 KiB pages, as a fresh small table has (an idle shard must
      // not keep a 2 MiB page per table it once grew).
      if (bytes < MappedRegion::kHugePage) index_.advise_small();
      index_.discard_from(bytes);
    }
    std::memset(slots(), 0, bytes);
    slots_ = count;
    if (bytes >= MappedRegion::kHugePage) index_.advise_huge();
  }

  // Rebuilds the index from the dense entries (it never reads the old index), in place.
  void rebuild_index(size_t count) noexcept {
    resize_index(count);
    uint64_t* index = slots();
    const size_t m = count - 1;
    for (size_t pos = 0; pos < size_; ++pos) {
      const uint64_t h = Traits::hash(at(pos), seed_);
      size_t i = h & m;
      while (index[i] != 0) i = (i + 1) & m;
      index[i] = slot_of(static_cast<uint32_t>(h >> 32), pos);
    }
  }

  size_t max_size_;
  HashSeed seed_;
  size_t size_ = 0;
  size_t high_ = 0;  // most entries since the last release: the entry pages touched
  MappedRegion entries_;
  MappedRegion index_;
  size_t slots_;
};

}  // namespace egressd::pipeline
