// The reducer's rules (docs/pipeline.md), written as plainly as possible on ordered maps, one
// record at a time, without shards, hashing, tables or limits: what the sharded reducer must agree
// with. Nothing here is shared with userspace/pipeline.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <tuple>
#include <utility>

#include "egressd/common/ip_class.h"
#include "egressd/flow.h"

namespace egressd::pipeline::testing {

using RefKey = std::tuple<IpAddr, IpAddr, uint8_t>;
using RefFlows = std::map<RefKey, Counters>;

struct RefOptions {
  bool group_public_ips = false;
  std::set<IpAddr> excluded;           // local addresses not aggregated
  uint32_t idle_intervals = 1u << 30;  // closes without a sighting before an entry is released
};

struct RefCounts {
  uint64_t resets = 0, stale = 0, vanished = 0, expired = 0, excluded = 0;
  friend bool operator==(const RefCounts&, const RefCounts&) = default;
};

class ReferenceModel {
 public:
  explicit ReferenceModel(RefOptions options) : options_(std::move(options)) {}

  void apply(const RecordBatch& batch) {
    if (batch.kind == RecordBatch::Kind::kReadComplete) {
      // Entries of this source not seen in this read (or any later one) are gone.
      for (auto it = entries_.begin(); it != entries_.end();) {
        if (it->first.first == batch.source && it->second.generation < batch.read_generation) {
          if (!it->second.tombstone) ++counts_.vanished;
          it = entries_.erase(it);
        } else {
          ++it;
        }
      }
      return;
    }
    for (const FlowRecord& r : batch.records) record(batch.source, batch.read_generation, r);
  }

  RefFlows close() {
    RefFlows out;
    for (const auto& [k, c] : open_) {
      if (!c.is_zero()) out.emplace(k, c);
    }
    open_.clear();
    ++closes_;
    for (auto it = entries_.begin(); it != entries_.end();) {
      if (closes_ - it->second.seen > options_.idle_intervals) {
        if (!it->second.tombstone) ++counts_.expired;
        it = entries_.erase(it);
      } else {
        ++it;
      }
    }
    return out;
  }

  [[nodiscard]] const RefCounts& counts() const { return counts_; }
  [[nodiscard]] size_t entries() const { return entries_.size(); }

 private:
  struct Entry {
    Counters last;
    uint64_t generation = 0;
    bool tombstone = false;
    uint32_t seen = 0;
  };

  static bool some_lower(const Counters& a, const Counters& b) {
    return a.tx_bytes < b.tx_bytes || a.tx_packets < b.tx_packets || a.rx_bytes < b.rx_bytes ||
           a.rx_packets < b.rx_packets;
  }

  void record(SourceKind source, uint64_t generation, const FlowRecord& r) {
    IpAddr peer = r.key.peer;
    if (options_.group_public_ips && !is_private(peer)) peer = unspecified_like(peer);
    const RefKey key{r.key.local, peer, r.key.proto};
    Counters delta;
    if (r.mode == CounterMode::kDelta) {
      delta = r.counters;
    } else {
      const auto id = std::make_pair(source, r.entry_id);
      auto it = entries_.find(id);
      if (it == entries_.end()) {
        entries_[id] = Entry{r.counters, generation, r.final, closes_};
        delta = r.counters;
      } else if (it->second.tombstone) {
        if (!some_lower(it->second.last, r.counters)) {
          ++counts_.stale;  // nothing newer than the final totals: a late dump record
          return;
        }
        it->second = Entry{r.counters, generation, r.final, closes_};  // identity reused
        delta = r.counters;
      } else {
        Entry& e = it->second;
        if (some_lower(r.counters, e.last)) {
          ++counts_.resets;
          delta = r.counters;
        } else {
          delta = Counters{
              r.counters.tx_bytes - e.last.tx_bytes, r.counters.tx_packets - e.last.tx_packets,
              r.counters.rx_bytes - e.last.rx_bytes, r.counters.rx_packets - e.last.rx_packets};
        }
        e.last = r.counters;
        e.generation = std::max(e.generation, generation);
        e.tombstone = r.final;
        e.seen = closes_;
      }
    }
    if (delta.is_zero()) return;
    if (options_.excluded.contains(r.key.local)) {
      ++counts_.excluded;
      return;
    }
    open_[key] += delta;
  }

  RefOptions options_;
  std::map<std::pair<SourceKind, uint64_t>, Entry> entries_;
  RefFlows open_;
  uint32_t closes_ = 0;
  RefCounts counts_;
};

}  // namespace egressd::pipeline::testing
