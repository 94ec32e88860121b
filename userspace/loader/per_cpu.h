// Summing per-CPU map values: the one loop every reader of a BPF_MAP_TYPE_PERCPU_* map uses.
//
// The kernel hands a per-CPU value as one copy per possible CPU, each rounded up to 8 bytes
// (bpf_percpu_hash_copy(), kernel/bpf/hashtab.c). Every per-CPU value of egressd is a struct of
// __u64 counters (include/egressd/abi/), so the sum is the counters added word by word.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <type_traits>

namespace egressd::loader {

// A value type made of uint64 counters and nothing else.
template <typename T>
concept CounterWords = std::is_trivially_copyable_v<T> && sizeof(T) % sizeof(uint64_t) == 0;

// The counters of `per_cpu` (one value per CPU) added up.
template <CounterWords T>
[[nodiscard]] T sum_per_cpu(std::span<const T> per_cpu) noexcept {
  constexpr size_t kWords = sizeof(T) / sizeof(uint64_t);
  std::array<uint64_t, kWords> sum{};
  for (const T& value : per_cpu) {
    std::array<uint64_t, kWords> words;
    std::memcpy(words.data(), &value, sizeof(T));
    for (size_t w = 0; w < kWords; ++w) sum[w] += words[w];
  }
  T out;
  std::memcpy(&out, sum.data(), sizeof(T));
  return out;
}

// The same over raw bytes (lookup_percpu()): as many whole values of T as `raw` holds.
template <CounterWords T>
[[nodiscard]] T sum_per_cpu(std::span<const uint8_t> raw) noexcept {
  constexpr size_t kWords = sizeof(T) / sizeof(uint64_t);
  std::array<uint64_t, kWords> sum{};
  for (size_t off = 0; off + sizeof(T) <= raw.size(); off += sizeof(T)) {
    std::array<uint64_t, kWords> words;
    std::memcpy(words.data(), raw.data() + off, sizeof(T));
    for (size_t w = 0; w < kWords; ++w) sum[w] += words[w];
  }
  T out;
  std::memcpy(&out, sum.data(), sizeof(T));
  return out;
}

}  // namespace egressd::loader
