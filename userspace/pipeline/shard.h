// Shard: one slice of the reducer's state, owned by one task at a time (no locks inside).
//
// A shard owns the cumulative entries whose (source, entry_id) hashes to it and the flow keys
// whose (local, peer, proto) hashes to it. A cumulative record is routed to its entry's shard,
// which turns its totals into a delta (docs/pipeline.md has the rules) and then adds the delta to
// the flow key — locally when it owns the key, else through its outbox to the owner, which merges
// it in the next phase. Delta records go straight to their flow key's shard.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <unordered_set>
#include <vector>

#include "egressd/common/ip.h"
#include "egressd/flow.h"
#include "pipeline/flat_table.h"
#include "pipeline/hashing.h"
#include "pipeline/snapshot.h"

namespace egressd::pipeline {

struct ReducerLimits {
  size_t max_flows = 1'000'000;    // distinct flow keys in one interval (all shards)
  size_t max_entries = 4'000'000;  // cumulative kernel entries tracked at once (all shards)
  bool group_public_ips = false;   // public peers collapse to 0.0.0.0 / ::
  // An entry not seen for this many interval closes is released (safety net for a source whose
  // reads never complete); the Reducer derives it from the interval (docs/pipeline.md).
  uint32_t entry_idle_intervals = 120;
};

// Local addresses whose records are not aggregated (pods of --exclude-namespaces).
using LocalIpSet = std::unordered_set<IpAddr, IpAddrHash>;

struct FlowTraits {
  using Key = FlowKey;
  static uint64_t hash(const FlowDelta& f, const HashSeed& s) noexcept {
    return flow_hash(f.key, s);
  }
  static bool matches(const FlowDelta& f, const FlowKey& k) noexcept { return f.key == k; }
  static FlowDelta make(const FlowKey& k) noexcept { return FlowDelta{k, {}}; }
};

// A record's two hashes: the one that chose its shard (the entry hash for a cumulative record,
// the flow hash for a delta record) and the flow hash of its key.
struct RecordHashes {
  uint64_t route;
  uint64_t flow;
};

// A record routed to a shard, as its offset from the start of its routing slot: routing writes
// 2 bytes per record, and the shard recomputes the hashes as it reads the record anyway
// (docs/pipeline.md, "Sharding").
using RoutedOffset = uint16_t;

// A delta computed by one shard for a flow key another shard owns.
struct Outgoing {
  FlowDelta flow;
  uint64_t flow_hash;
};

// What a shard counted since the last flush to SelfMetrics (plain integers: one task at a time).
struct ShardStats {
  uint64_t resets = 0;
  uint64_t stale = 0;
  uint64_t vanished = 0;
  uint64_t expired = 0;
  uint64_t overflow = 0;
  uint64_t entries_full = 0;
  uint64_t excluded = 0;
};

// What routing needs besides the record: the rewrite and exclusion settings and the hash secret.
struct RouteContext {
  bool group_public_ips;
  const LocalIpSet* excluded;  // nullptr: none
  HashSeed seed;
};

class Shard {
 public:
  // Caps on the small per-shard overflow table (one key per local endpoint); beyond it, deltas
  // fold into the node's catch-all key (::, ::, proto 0).
  static constexpr size_t kMaxOverflowKeys = 4096;

  Shard(size_t index, size_t count, const ReducerLimits& limits, const HashSeed& seed);

  // Routing of one record: rewrites its key (group-public-ips) and returns its route hash in
  // `route_hash`; false when it needs no work (a zero delta record, or an excluded one, counted
  // in excluded_count).
  static bool prepare(FlowRecord& r, SourceKind source, const RouteContext& ctx,
                      uint64_t& route_hash, uint64_t& excluded_count);
  // The hashes of a prepared record (the route hash is the one prepare() returned).
  [[nodiscard]] static RecordHashes hashes(const FlowRecord& r, SourceKind source,
                                           const HashSeed& seed) noexcept;
  // Phase A: the records of `batch` routed here, in order: records[base + offset].
  void apply(const RecordBatch& batch, size_t base, std::span<const RoutedOffset> routed,
             const LocalIpSet* excluded);
  // Phase B: deltas that shard `from` computed for keys this shard owns.
  void merge(std::span<const Outgoing> in);
  // The source's complete read `generation`: releases its entries not seen in it.
  void read_complete(SourceKind source, uint64_t generation);

  // Interval close, in this order: fold_into(), copy_flows(), end_interval().
  [[nodiscard]] FlatTable<FlowDelta, FlowTraits>& flows() noexcept { return flows_; }
  // Calls fn(key, delta) for each folded (overflow) key and the catch-all bucket.
  template <typename Fn>
  void for_each_folded(Fn&& fn) {
    overflow_.for_each([&](const FlowDelta& f) { fn(f.key, f.delta); });
    if (!other_.is_zero()) fn(catch_all_key(0), other_);
    if (!other_merged_.is_zero()) fn(catch_all_key(kFlowMergedDirections), other_merged_);
  }
  // Clears the interval's flows and releases idle entries (every few closes).
  void end_interval();

  [[nodiscard]] std::vector<Outgoing>& outbox(size_t to) noexcept { return outbox_[to]; }
  // Whether phase A left deltas for another shard (cumulative records only).
  [[nodiscard]] bool has_outgoing() const noexcept {
    return std::any_of(outbox_.begin(), outbox_.end(),
                       [](const auto& box) { return !box.empty(); });
  }
  [[nodiscard]] ShardStats take_stats() noexcept {
    const ShardStats s = stats_;
    stats_ = {};
    return s;
  }
  [[nodiscard]] size_t tracked_entries() const noexcept { return entries_.size(); }
  [[nodiscard]] size_t open_flows() const noexcept { return flows_.size(); }
  [[nodiscard]] size_t memory_bytes() const noexcept;

  // The node's catch-all key, once even the overflow table is full (one per kind of counters:
  // per-direction, and kFlowMergedDirections).
  [[nodiscard]] static FlowKey catch_all_key(uint8_t flags) noexcept;

 private:
  struct EntryState {
    uint64_t id;
    uint64_t generation;  // newest read that saw the entry
    Counters last;        // totals at the last sighting (the final totals for a tombstone)
    uint32_t seen;        // interval number of the last sighting (idle expiry)
    SourceKind source;
    bool tombstone;  // a final record was seen
  };
  struct EntryKey {
    uint64_t id;
    SourceKind source;
  };
  struct EntryTraits {
    using Key = EntryKey;
    static uint64_t hash(const EntryState& e, const HashSeed& s) noexcept {
      return entry_hash(e.source, e.id, s);
    }
    static bool matches(const EntryState& e, const EntryKey& k) noexcept {
      return e.id == k.id && e.source == k.source;
    }
    static EntryState make(const EntryKey& k) noexcept {
      return EntryState{k.id, 0, {}, 0, k.source, false};
    }
  };

  [[gnu::always_inline]] void process(const FlowRecord& rec, SourceKind source, uint64_t generation,
                                      const RecordHashes& h, const LocalIpSet* excluded);
  // Prefetches the index slots (entry = false) or the entries (true) a record will touch.
  [[gnu::always_inline]] void prefetch(bool cumulative, const RecordHashes& h, bool entry) const;
  Counters cumulative_delta(SourceKind source, uint64_t generation, const FlowRecord& record,
                            uint64_t hash);
  void add(const FlowKey& key, uint64_t flow_hash, const Counters& delta);
  [[gnu::always_inline]] void add_local(const FlowKey& key, uint64_t flow_hash,
                                        const Counters& delta);

  size_t index_;
  size_t count_;
  ReducerLimits limits_;
  HashSeed seed_;
  uint32_t interval_ = 0;
  FlatTable<EntryState, EntryTraits> entries_;
  FlatTable<FlowDelta, FlowTraits> flows_;
  FlatTable<FlowDelta, FlowTraits> overflow_;
  Counters other_;
  Counters other_merged_;  // catch-all of kFlowMergedDirections keys
  std::vector<std::vector<Outgoing>> outbox_;
  ShardStats stats_;
};

}  // namespace egressd::pipeline
