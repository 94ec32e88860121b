// Random record streams for the reducer's property tests: per source, the batches it would push.
//
// Two cumulative sources (netfilter- and Cilium-like: kernel entries with running totals, read
// once per generation, destroyed with final records, identities reused) and one delta source
// (eBPF-like). In clean mode every rule's precondition holds (a reset lowers tx_bytes, a reused
// identity starts above its final totals, every read is complete and sees every live entry), so
// the generator's own count of the traffic it invented is the exact expected total. Chaos mode
// adds what real sources do wrong — skipped entries, lost markers, duplicated and late records,
// arbitrary totals — where only the reference model knows the answer.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <random>
#include <set>
#include <vector>

#include "egressd/common/ip_class.h"
#include "egressd/flow.h"
#include "reference_model.h"

namespace egressd::pipeline::testing {

struct StreamOptions {
  bool chaos = false;
  bool group_public_ips = false;
  size_t reads = 8;
  size_t entries = 50;     // live entries per cumulative source at the start
  size_t delta_keys = 30;  // records per read of the delta source
  size_t max_batch = 40;
};

struct SourceStream {
  SourceKind source;
  std::vector<RecordBatch> batches;
};

struct Streams {
  std::vector<SourceStream> sources;
  RefFlows truth;  // what the records carry, per output key (exact in clean mode)
};

inline const std::vector<IpAddr>& locals() {
  static const std::vector<IpAddr> v = [] {
    std::vector<IpAddr> out;
    for (uint32_t i = 1; i <= 6; ++i) out.push_back(IpAddr::v4(0x0AF40100 + i));  // 10.244.1.i
    out.push_back(IpAddr::parse("fd00:10:244:1::5").value());
    out.push_back(IpAddr::parse("192.168.1.10").value());  // the node
    return out;
  }();
  return v;
}

inline const std::vector<IpAddr>& peers() {
  static const std::vector<IpAddr> v = [] {
    std::vector<IpAddr> out;
    for (const char* s :
         {"10.244.2.10", "10.244.2.11", "10.96.0.10", "203.0.113.7", "198.51.100.9", "8.8.8.8",
          "fd00:10:244:2::7", "2001:db8::1", "2001:db8::2", "0.0.0.0", "::"}) {
      out.push_back(IpAddr::parse(s).value());
    }
    return out;
  }();
  return v;
}

class StreamGenerator {
 public:
  StreamGenerator(uint64_t seed, StreamOptions options, std::set<IpAddr> excluded)
      : rng_(seed), o_(options), excluded_(std::move(excluded)) {}

  Streams generate() {
    Streams s;
    s.sources.push_back(cumulative(SourceKind::kNetfilter, s.truth));
    s.sources.push_back(cumulative(SourceKind::kCilium, s.truth));
    s.sources.push_back(delta(s.truth));
    return s;
  }

  // One interleaving of the sources that keeps each source's own order.
  std::vector<RecordBatch> interleave(const Streams& s) {
    std::vector<size_t> next(s.sources.size(), 0);
    std::vector<RecordBatch> out;
    while (true) {
      std::vector<size_t> open;
      for (size_t i = 0; i < next.size(); ++i) {
        if (next[i] < s.sources[i].batches.size()) open.push_back(i);
      }
      if (open.empty()) return out;
      const size_t pick = open[below(open.size())];
      out.push_back(s.sources[pick].batches[next[pick]++]);
    }
  }

  bool chance(double p) { return std::uniform_real_distribution<double>(0, 1)(rng_) < p; }
  size_t below(size_t n) { return static_cast<size_t>(rng_() % n); }

 private:
  struct Ent {
    uint64_t id;
    FlowKey key;
    Counters total;
  };

  Counters some(uint64_t scale) {
    return Counters{rng_() % scale, rng_() % 8, rng_() % scale, rng_() % 8};
  }
  FlowKey random_key() {
    return FlowKey{locals()[below(locals().size())], peers()[below(peers().size())],
                   std::array<uint8_t, 3>{kProtoTcp, kProtoUdp, kProtoIcmp}[below(3)]};
  }
  void count(RefFlows& truth, const FlowKey& k, const Counters& c) {
    if (c.is_zero() || excluded_.contains(k.local)) return;
    IpAddr peer = k.peer;
    if (o_.group_public_ips && !is_private(peer)) peer = unspecified_like(peer);
    truth[RefKey{k.local, peer, k.proto}] += c;
  }
  static FlowRecord record(const Ent& e, const Counters& c, bool final) {
    FlowRecord r;
    r.key = e.key;
    r.counters = c;
    r.entry_id = e.id;
    r.mode = CounterMode::kCumulative;
    r.final = final;
    return r;
  }
  void split(SourceKind source, uint64_t generation, std::vector<FlowRecord>& records,
             std::vector<RecordBatch>& out) {
    size_t i = 0;
    while (i < records.size()) {
      const size_t n = std::min(records.size() - i, 1 + below(o_.max_batch));
      RecordBatch b;
      b.source = source;
      b.read_generation = generation;
      b.records.assign(records.begin() + static_cast<ptrdiff_t>(i),
                       records.begin() + static_cast<ptrdiff_t>(i + n));
      out.push_back(std::move(b));
      i += n;
    }
  }

  SourceStream cumulative(SourceKind source, RefFlows& truth) {
    SourceStream out{source, {}};
    std::vector<Ent> live;
    std::vector<Ent> dead;  // final totals of destroyed entries (identities to reuse)
    uint64_t next_id = 1;
    const auto born = [&] {
      Ent e{next_id++, random_key(), some(5000)};
      e.total.tx_bytes += 1;  // a reset can always go below it
      if (!dead.empty() && chance(0.3)) {
        const size_t k = below(dead.size());
        e.id = dead[k].id;
        // Clean: above the final totals, as a new kernel entry with a recycled identity must be
        // for the reducer to tell it from a late dump record.
        if (!o_.chaos) e.total.tx_bytes += dead[k].total.tx_bytes;
        dead.erase(dead.begin() + static_cast<ptrdiff_t>(k));
      }
      return e;
    };
    for (size_t i = 0; i < o_.entries; ++i) {
      live.push_back(born());
      count(truth, live.back().key, live.back().total);
    }
    std::vector<FlowRecord> late;  // chaos: records held back into the next read
    for (uint64_t g = 1; g <= o_.reads; ++g) {
      std::vector<FlowRecord> read = std::move(late);
      late.clear();
      std::vector<FlowRecord> after;  // finals seen after the read's marker: generation g + 1
      std::vector<Ent> still;
      std::vector<Ent> died;  // reusable from the next read on, once their finals are pushed
      for (Ent& e : live) {
        // Clean: only entries the reducer has seen (read 2 on) restart, strictly below.
        const bool reset = chance(0.05) && (o_.chaos || (g >= 2 && e.total.tx_bytes >= 2));
        if (reset) {
          // Replaced kernel entry: counters restart lower. Its whole new totals are traffic.
          Counters fresh = some(100);
          fresh.tx_bytes = o_.chaos ? rng_() % 6000 : 1 + rng_() % (e.total.tx_bytes - 1);
          e.total = fresh;
          count(truth, e.key, fresh);
        } else {
          const Counters inc = chance(0.3) ? Counters{} : some(3000);
          e.total += inc;
          count(truth, e.key, inc);
        }
        if (o_.chaos && chance(0.05)) {
          still.push_back(e);  // an incomplete dump missed it
          continue;
        }
        FlowRecord seen = record(e, e.total, false);
        // Clean: not in the read of a reset, where a final record first would hide the reset.
        if (chance(0.1) && (o_.chaos || !reset)) {
          const Counters inc = some(2000);
          e.total += inc;
          count(truth, e.key, inc);
          FlowRecord fin = record(e, e.total, true);
          if (chance(0.5)) {
            // Destroyed during the dump: the final record arrives first, the dump record holding
            // older totals after it (stale).
            const size_t at = below(read.size() + 1);
            read.insert(read.begin() + static_cast<ptrdiff_t>(at), fin);
            read.insert(read.begin() + static_cast<ptrdiff_t>(at + 1 + below(read.size() - at)),
                        seen);
          } else {
            read.push_back(seen);
            after.push_back(fin);
          }
          died.push_back(e);
          continue;
        }
        if (o_.chaos && chance(0.03)) read.push_back(seen);  // duplicated
        if (o_.chaos && chance(0.03)) {
          late.push_back(seen);  // reordered into the next read
          still.push_back(e);
          continue;
        }
        read.push_back(seen);
        still.push_back(e);
      }
      live = std::move(still);
      // Dump order is a hash-table walk: shuffle, but keep each entry's own records in order.
      std::vector<std::pair<uint64_t, size_t>> order;
      for (size_t i = 0; i < read.size(); ++i) {
        order.emplace_back(read[i].entry_id * 0x9E3779B97F4A7C15ULL, i);
      }
      std::sort(order.begin(), order.end());
      std::vector<FlowRecord> shuffled;
      for (const auto& [h, i] : order) shuffled.push_back(read[i]);
      read = std::move(shuffled);
      for (size_t i = below(4); i > 0; --i) {
        Ent e = born();
        count(truth, e.key, e.total);
        read.push_back(record(e, e.total, false));
        live.push_back(e);
      }
      for (size_t i = below(3); i > 0; --i) {  // opened and closed between two reads
        Ent e = born();
        count(truth, e.key, e.total);
        after.push_back(record(e, e.total, true));
        died.push_back(e);
      }
      split(source, g, read, out.batches);
      if (!o_.chaos || chance(0.7)) {
        RecordBatch marker;
        marker.kind = RecordBatch::Kind::kReadComplete;
        marker.source = source;
        marker.read_generation = g;
        out.batches.push_back(std::move(marker));
      }
      split(source, g + 1, after, out.batches);
      dead.insert(dead.end(), died.begin(), died.end());
    }
    return out;
  }

  SourceStream delta(RefFlows& truth) {
    SourceStream out{SourceKind::kEbpf, {}};
    for (uint64_t g = 1; g <= o_.reads; ++g) {
      std::vector<FlowRecord> read;
      for (size_t i = 0; i < o_.delta_keys; ++i) {
        FlowRecord r;
        r.key = random_key();
        r.counters = chance(0.1) ? Counters{} : some(4000);
        r.mode = CounterMode::kDelta;
        count(truth, r.key, r.counters);
        read.push_back(r);
      }
      split(SourceKind::kEbpf, 0, read, out.batches);
    }
    return out;
  }

  std::mt19937_64 rng_;
  StreamOptions o_;
  std::set<IpAddr> excluded_;
};

}  // namespace egressd::pipeline::testing
