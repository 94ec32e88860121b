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

namespace detail {

// The counters of `count` values of T stored back to back at `bytes`, added up.
template <CounterWords T>
[[nodiscard]] T sum_counter_words(const uint8_t* bytes, size_t count) noexcept {
  constexpr size_t kWords = sizeof(T) / sizeof(uint64_t);
  std::array<uint64_t, kWords> sum{};
  for (size_t i = 0; i < count; ++i) {
    std::array<uint64_t, kWords> words;
    std::memcpy(words.data(), bytes + i * sizeof(T), sizeof(T));
    for (size_t w = 0; w < kWords; ++w) sum[w] += words[w];
  }
  T out;
  std::memcpy(&out, sum.data(), sizeof(T));
  return out;
}

}  // namespace detail

// The counters of `per_cpu` (one value per CPU) added up.
template <CounterWords T>
[[nodiscard]] T sum_per_cpu(std::span<const T> per_cpu) noexcept {
  return detail::sum_counter_words<T>(reinterpret_cast<const uint8_t*>(per_cpu.data()),
                                      per_cpu.size());
}

// The same over raw bytes (lookup_percpu()): as many whole values of T as `raw` holds.
template <CounterWords T>
[[nodiscard]] T sum_per_cpu(std::span<const uint8_t> raw) noexcept {
  return detail::sum_counter_words<T>(raw.data(), raw.size() / sizeof(T));
}

}  // namespace egressd::loader
