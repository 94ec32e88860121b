#include "dns/name_cache.h"

#include <algorithm>
#include <bit>

namespace egressd::dns {

NameCache::NameCache(const NameCacheOptions& options, const Clock& clock, SelfMetrics& metrics)
    : options_(options),
      clock_(clock),
      inserts_(metrics.counter("egressd_dns_cache_inserts_total",
                               "Answers (scope, address -> name) written to the DNS name cache.")),
      evictions_(metrics.counter("egressd_dns_cache_evictions_total",
                                 "Live entries of the DNS name cache evicted to make room "
                                 "(least recently used first; --dns-cache-size).")),
      expired_(metrics.counter("egressd_dns_cache_expired_total",
                               "Entries of the DNS name cache removed after their TTL.")),
      hits_(metrics.counter("egressd_dns_cache_lookups_total",
                            "Peer names looked up in the DNS name cache, by result.",
                            {{"result", "hit"}})),
      misses_(metrics.counter("egressd_dns_cache_lookups_total",
                              "Peer names looked up in the DNS name cache, by result.",
                              {{"result", "miss"}})),
      entries_(metrics.gauge("egressd_dns_cache_entries", "Entries in the DNS name cache.")),
      names_gauge_(
          metrics.gauge("egressd_dns_cache_names", "Distinct names held by the DNS name cache.")) {
  options_.capacity = std::max<size_t>(options_.capacity, 1);
  options_.max_ttl = std::max(options_.max_ttl, options_.min_ttl);
  slots_.resize(options_.capacity);
  free_slots_.reserve(options_.capacity);
  for (size_t i = options_.capacity; i > 0; --i)
    free_slots_.push_back(static_cast<uint32_t>(i - 1));
  const size_t buckets = std::bit_ceil(options_.capacity * 2);
  index_.assign(buckets, kNil);
  mask_ = buckets - 1;
  name_ids_.reserve(std::min<size_t>(options_.capacity, 4096));
}

size_t NameCache::bucket_of(uint64_t scope, const IpAddr& addr) const noexcept {
  uint64_t h = IpAddrHash{}(addr) ^ (scope * 0x9E3779B97F4A7C15ULL);
  h ^= h >> 29;
  h *= 0xBF58476D1CE4E5B9ULL;
  h ^= h >> 32;
  return static_cast<size_t>(h) & mask_;
}

uint32_t NameCache::find(uint64_t scope, const IpAddr& addr) const noexcept {
  for (size_t i = bucket_of(scope, addr);; i = (i + 1) & mask_) {
    const uint32_t s = index_[i];
    if (s == kNil) return kNil;
    if (slots_[s].scope == scope && slots_[s].addr == addr) return s;
  }
}

void NameCache::index_insert(uint32_t slot) noexcept {
  size_t i = bucket_of(slots_[slot].scope, slots_[slot].addr);
  while (index_[i] != kNil) i = (i + 1) & mask_;
  index_[i] = slot;
}

// Backward-shift deletion: no tombstones, so probe lengths do not grow with churn.
void NameCache::index_erase(uint32_t slot) noexcept {
  size_t i = bucket_of(slots_[slot].scope, slots_[slot].addr);
  while (index_[i] != slot) i = (i + 1) & mask_;
  for (size_t j = (i + 1) & mask_; index_[j] != kNil; j = (j + 1) & mask_) {
    const size_t k = bucket_of(slots_[index_[j]].scope, slots_[index_[j]].addr);
    // The entry at j may move to i only if its home bucket k is not in (i, j] (cyclically).
    const bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
    if (stays) continue;
    index_[i] = index_[j];
    i = j;
  }
  index_[i] = kNil;
}

void NameCache::unlink(uint32_t slot) noexcept {
  Slot& s = slots_[slot];
  if (s.prev != kNil) {
    slots_[s.prev].next = s.next;
  } else {
    head_ = s.next;
  }
  if (s.next != kNil) {
    slots_[s.next].prev = s.prev;
  } else {
    tail_ = s.prev;
  }
  s.prev = s.next = kNil;
}

void NameCache::push_front(uint32_t slot) noexcept {
  Slot& s = slots_[slot];
  s.prev = kNil;
  s.next = head_;
  if (head_ != kNil) slots_[head_].prev = slot;
  head_ = slot;
  if (tail_ == kNil) tail_ = slot;
}

void NameCache::remove(uint32_t slot) noexcept {
  index_erase(slot);
  unlink(slot);
  release(slots_[slot].name);
  slots_[slot].name = kNil;
  free_slots_.push_back(slot);
  --used_;
}

uint32_t NameCache::intern(std::string_view name) {
  if (const auto it = name_ids_.find(name); it != name_ids_.end()) {
    ++names_[it->second].refs;
    return it->second;
  }
  uint32_t id;
  if (!free_names_.empty()) {
    id = free_names_.back();
    free_names_.pop_back();
  } else {
    id = static_cast<uint32_t>(names_.size());
    names_.emplace_back();
  }
  names_[id].text.assign(name);
  names_[id].refs = 1;
  name_ids_.emplace(std::string_view(names_[id].text), id);
  return id;
}

void NameCache::release(uint32_t name) noexcept {
  if (name == kNil) return;
  Name& n = names_[name];
  if (--n.refs != 0) return;
  name_ids_.erase(std::string_view(n.text));
  std::string().swap(n.text);
  free_names_.push_back(name);
}

NameCache::TimePoint NameCache::expiry_for(uint32_t ttl_seconds, TimePoint now) const noexcept {
  const auto ttl =
      std::clamp(std::chrono::seconds(ttl_seconds), options_.min_ttl, options_.max_ttl);
  return now + ttl;
}

void NameCache::insert(uint64_t scope, const IpAddr& addr, std::string_view name,
                       uint32_t ttl_seconds) {
  std::lock_guard lock(mutex_);
  const auto now = clock_.now();
  inserts_.inc();
  if (const uint32_t e = find(scope, addr); e != kNil) {
    Slot& s = slots_[e];
    if (names_[s.name].text != name) {
      const uint32_t id = intern(name);
      release(s.name);
      s.name = id;
    }
    s.expiry = expiry_for(ttl_seconds, now);
    unlink(e);
    push_front(e);
    names_gauge_.set(static_cast<double>(name_ids_.size()));
    return;
  }
  // Expired entries at the cold end go first (a few per insert: the work stays O(1)).
  for (int i = 0; i < 4 && tail_ != kNil && slots_[tail_].expiry <= now; ++i) {
    expired_.inc();
    remove(tail_);
  }
  if (used_ == options_.capacity) {
    const uint32_t victim = tail_;
    if (slots_[victim].expiry <= now) {
      expired_.inc();
    } else {
      evictions_.inc();
    }
    remove(victim);
  }
  const uint32_t slot = free_slots_.back();
  free_slots_.pop_back();
  Slot& s = slots_[slot];
  s.scope = scope;
  s.addr = addr;
  s.expiry = expiry_for(ttl_seconds, now);
  s.name = intern(name);
  index_insert(slot);
  push_front(slot);
  ++used_;
  entries_.set(static_cast<double>(used_));
  names_gauge_.set(static_cast<double>(name_ids_.size()));
}

bool NameCache::lookup(uint64_t scope, const IpAddr& addr, std::string& out) {
  std::lock_guard lock(mutex_);
  const uint32_t e = find(scope, addr);
  if (e == kNil) {
    misses_.inc();
    return false;
  }
  const auto now = clock_.now();
  Slot& s = slots_[e];
  if (s.expiry <= now) {
    expired_.inc();
    misses_.inc();
    remove(e);
    entries_.set(static_cast<double>(used_));
    names_gauge_.set(static_cast<double>(name_ids_.size()));
    return false;
  }
  // In use: keep the name while the flow has traffic (see the header).
  s.expiry = std::max(s.expiry, now + options_.min_ttl);
  unlink(e);
  push_front(e);
  out = names_[s.name].text;
  hits_.inc();
  return true;
}

size_t NameCache::size() const {
  std::lock_guard lock(mutex_);
  return used_;
}

}  // namespace egressd::dns
