// IdTable: an open-addressing hash set of 32-bit record ids whose keys live in the records
// themselves (a pod's IPs, a pod's namespace/name). Storing 4 bytes per entry instead of the key
// is what keeps the index near 150 bytes per pod (docs/kubernetes.md); a lookup compares the key
// in the record it lands on. Linear probing with backward-shift deletion (no tombstones), load at
// most 1/2, on a CowVector so snapshots share it.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kube/cow_vector.h"

namespace egressd::kube {

class IdTable {
 public:
  static constexpr uint32_t kEmpty = UINT32_MAX;

  [[nodiscard]] size_t size() const noexcept { return size_; }

  // The id whose record `matches(id)`, probing from `hash`; kEmpty if none.
  template <typename Match>
  [[nodiscard]] uint32_t find(size_t hash, Match&& matches) const {
    if (slots_.empty()) return kEmpty;
    const size_t mask = slots_.size() - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
      const uint32_t id = slots_[i];
      if (id == kEmpty) return kEmpty;
      if (matches(id)) return id;
    }
  }

  // Adds `id` (the caller checked it is absent). `hash_of(id)` rehashes entries on growth.
  template <typename HashOf>
  void insert(size_t hash, uint32_t id, HashOf&& hash_of) {
    if ((size_ + 1) * 2 > slots_.size()) grow(hash_of);
    const size_t mask = slots_.size() - 1;
    size_t i = hash & mask;
    while (slots_[i] != kEmpty) i = (i + 1) & mask;
    slots_.mut(i) = id;
    ++size_;
  }

  // Replaces the entry matching `matches` by `id`; false if there is none.
  template <typename Match>
  bool replace(size_t hash, Match&& matches, uint32_t id) {
    const size_t i = position(hash, matches);
    if (i == kNone) return false;
    slots_.mut(i) = id;
    return true;
  }

  // Removes the entry matching `matches`; false if there is none.
  template <typename Match, typename HashOf>
  bool erase(size_t hash, Match&& matches, HashOf&& hash_of) {
    size_t hole = position(hash, matches);
    if (hole == kNone) return false;
    const size_t mask = slots_.size() - 1;
    // Backward shift: move later entries of the probe run into the hole when their home slot
    // is not between the hole and their position (Knuth 6.4, Algorithm R).
    for (size_t j = (hole + 1) & mask;; j = (j + 1) & mask) {
      const uint32_t id = slots_[j];
      if (id == kEmpty) break;
      const size_t home = hash_of(id) & mask;
      const bool stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
      if (stays) continue;
      slots_.mut(hole) = id;
      hole = j;
    }
    slots_.mut(hole) = kEmpty;
    --size_;
    return true;
  }

  void clear() noexcept {
    slots_.clear();
    size_ = 0;
  }
  [[nodiscard]] size_t bytes() const noexcept { return slots_.chunk_bytes(); }

 private:
  static constexpr size_t kNone = SIZE_MAX;

  template <typename Match>
  size_t position(size_t hash, Match&& matches) const {
    if (slots_.empty()) return kNone;
    const size_t mask = slots_.size() - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
      const uint32_t id = slots_[i];
      if (id == kEmpty) return kNone;
      if (matches(id)) return i;
    }
  }

  template <typename HashOf>
  void grow(HashOf&& hash_of) {
    CowVector<uint32_t, 12> old = std::move(slots_);
    const size_t capacity = old.empty() ? 64 : old.size() * 2;
    slots_.assign(capacity, kEmpty);
    const size_t mask = capacity - 1;
    for (size_t k = 0; k < old.size(); ++k) {
      const uint32_t id = old[k];
      if (id == kEmpty) continue;
      size_t i = hash_of(id) & mask;
      while (slots_[i] != kEmpty) i = (i + 1) & mask;
      slots_.mut(i) = id;
    }
  }

  CowVector<uint32_t, 12> slots_;
  size_t size_ = 0;
};

}  // namespace egressd::kube
