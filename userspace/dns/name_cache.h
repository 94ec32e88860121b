// NameCache: (scope, address) -> the name a client asked for, from the DNS tracer's responses
// (docs/dns.md, "Cache").
//
// - Scope: who asked (scope.h: the pod, or the node's address for host processes), so one pod's
//   lookup never names another pod's flow.
// - Expiry: the answer's TTL (the smallest along its CNAME chain) clamped to [min_ttl, max_ttl].
//   A lookup that finds a live entry keeps it alive for at least min_ttl more: a connection that
//   outlives its answer's TTL keeps its name while it has traffic.
// - Size: at most `capacity` entries, preallocated; the least recently used entry makes room and
//   is counted (egressd_dns_cache_evictions_total). Names are interned: the many addresses of one
//   name share one string.
//
// Thread-safe: the tracer thread inserts, the enrichment (snapshot publisher) looks up; one mutex,
// held for O(1) work.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "egressd/common/clock.h"
#include "egressd/common/ip.h"
#include "egressd/common/self_metrics.h"

namespace egressd::dns {

struct NameCacheOptions {
  size_t capacity = 65536;
  std::chrono::seconds min_ttl{60};
  std::chrono::seconds max_ttl{3600};
};

class NameCache {
 public:
  NameCache(const NameCacheOptions& options, const Clock& clock, SelfMetrics& metrics);
  NameCache(const NameCache&) = delete;
  NameCache& operator=(const NameCache&) = delete;

  // Records that `scope` resolved `name` to `addr` with this TTL (seconds). A newer answer
  // replaces the name and expiry of an existing entry.
  void insert(uint64_t scope, const IpAddr& addr, std::string_view name, uint32_t ttl_seconds);

  // The name `scope` resolved `addr` from, if the entry is live: copied into `out`, true.
  [[nodiscard]] bool lookup(uint64_t scope, const IpAddr& addr, std::string& out);

  [[nodiscard]] size_t size() const;
  [[nodiscard]] size_t capacity() const noexcept { return options_.capacity; }

 private:
  static constexpr uint32_t kNil = UINT32_MAX;
  using TimePoint = std::chrono::steady_clock::time_point;

  struct Slot {
    uint64_t scope = 0;
    IpAddr addr;
    TimePoint expiry{};
    uint32_t name = kNil;  // index into names_
    uint32_t prev = kNil;  // LRU list: head is the most recently used
    uint32_t next = kNil;
  };
  struct Name {
    std::string text;
    uint32_t refs = 0;
  };

  [[nodiscard]] size_t bucket_of(uint64_t scope, const IpAddr& addr) const noexcept;
  [[nodiscard]] uint32_t find(uint64_t scope, const IpAddr& addr) const noexcept;
  void index_insert(uint32_t slot) noexcept;
  void index_erase(uint32_t slot) noexcept;
  void unlink(uint32_t slot) noexcept;
  void push_front(uint32_t slot) noexcept;
  void remove(uint32_t slot) noexcept;  // frees the slot (index, list, name)
  uint32_t intern(std::string_view name);
  void release(uint32_t name) noexcept;
  [[nodiscard]] TimePoint expiry_for(uint32_t ttl_seconds, TimePoint now) const noexcept;

  NameCacheOptions options_;
  const Clock& clock_;
  mutable std::mutex mutex_;
  std::vector<Slot> slots_;
  std::vector<uint32_t> free_slots_;
  std::vector<uint32_t> index_;  // open addressing, linear probing; kNil = empty
  size_t mask_ = 0;
  uint32_t head_ = kNil;
  uint32_t tail_ = kNil;
  size_t used_ = 0;
  std::deque<Name> names_;  // a deque: interned strings never move
  std::vector<uint32_t> free_names_;
  std::unordered_map<std::string_view, uint32_t> name_ids_;

  Counter& inserts_;
  Counter& evictions_;
  Counter& expired_;
  Counter& hits_;
  Counter& misses_;
  Gauge& entries_;
  Gauge& names_gauge_;
};

}  // namespace egressd::dns
