// Keyed hashes of the reducer: which shard owns a key, and where a key sits in a shard's table.
//
// The project's mixing function (egressd/common/hash.h, wyhash's multiply-fold), with every
// operand xored with a per-process random secret, so a remote peer choosing addresses
// (an IPv6 /64 gives it 64 free bits) cannot aim keys at one slot or one shard; a plain
// multiply-shift would let it zero an operand and collapse every key into one probe chain.
#pragma once

#include <cstddef>
#include <cstdint>

#include "egressd/common/hash.h"
#include "egressd/flow.h"

namespace egressd::pipeline {

struct HashSeed {
  uint64_t s0, s1, s2, s3;
  // Four secrets spread from one value (splitmix64); the reducer draws it from std::random_device.
  static HashSeed from(uint64_t seed) noexcept {
    HashSeed out{};
    uint64_t* parts[] = {&out.s0, &out.s1, &out.s2, &out.s3};
    for (uint64_t* p : parts) {
      seed += 0x9E3779B97F4A7C15ULL;
      uint64_t z = seed;
      z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
      z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
      *p = z ^ (z >> 31);
    }
    return out;
  }
};

using hash::mix;

[[nodiscard]] inline uint64_t flow_hash(const FlowKey& k, const HashSeed& s) noexcept {
  uint64_t h = mix(k.local.hi() ^ s.s0, k.local.lo() ^ s.s1);
  h = mix(h ^ k.peer.hi() ^ s.s2, k.peer.lo() ^ s.s3);
  return mix(h ^ s.s1,
             (static_cast<uint64_t>(k.proto) | (static_cast<uint64_t>(k.flags) << 8)) ^ s.s0);
}

// Identity of a cumulative kernel entry: (source, entry_id).
[[nodiscard]] inline uint64_t entry_hash(SourceKind source, uint64_t id,
                                         const HashSeed& s) noexcept {
  const uint64_t h = mix(id ^ s.s2, (static_cast<uint64_t>(source) + 1) ^ s.s3);
  return mix(h ^ s.s0, id ^ s.s1);
}

// The shard that owns a hash: the upper 32 bits scaled to [0, shards) (Lemire's multiply-shift,
// no division). The tables index with the low bits, so the two choices stay independent.
[[nodiscard]] constexpr size_t shard_of(uint64_t hash, size_t shards) noexcept {
  return static_cast<size_t>(((hash >> 32) * static_cast<uint64_t>(shards)) >> 32);
}

}  // namespace egressd::pipeline
