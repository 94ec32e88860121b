// The one 64-bit mixing function of the project: wyhash's multiply-fold (Wang Yi, public domain,
// github.com/wangyi-fudan/wyhash): one 64x64->128 multiply, the halves xored. Entry ids of the
// conntrack and Cilium sources chain it over their key words with the constants below; the
// reducer (pipeline/hashing.h) chains it over flow keys with per-process random secrets instead.
#pragma once

#include <cstdint>

namespace egressd::hash {

[[nodiscard]] constexpr uint64_t mix(uint64_t a, uint64_t b) noexcept {
  const auto r = static_cast<__uint128_t>(a) * b;
  return static_cast<uint64_t>(r) ^ static_cast<uint64_t>(r >> 64);
}

// wyhash's default secret (odd, with balanced bits): for unkeyed identities that must be stable
// across processes (an entry keeps its id between a dump and its DESTROY event).
inline constexpr uint64_t kP0 = 0xa0761d6478bd642fULL;
inline constexpr uint64_t kP1 = 0xe7037ed1a0b428dbULL;
inline constexpr uint64_t kP2 = 0x8ebc6af09c88c6e3ULL;
inline constexpr uint64_t kP3 = 0x589965cc75374cc3ULL;

}  // namespace egressd::hash
