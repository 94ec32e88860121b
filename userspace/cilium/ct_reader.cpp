#include "cilium/ct_reader.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <chrono>

#include <fmt/format.h>

#include "egressd/common/log.h"
#include "loader/libbpf_support.h"

namespace egressd::cilium {

namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr size_t kClockSample = 1024;  // lifetimes looked at to guess the clock

size_t role_index(MapRole role) {
  return static_cast<size_t>(role);
}

MapRole stats_role(Family f) {
  return f == Family::kIpv4 ? MapRole::kStats4 : MapRole::kStats6;
}

std::array<MapRole, 2> ct_roles(Family f) {
  return f == Family::kIpv4 ? std::array{MapRole::kTcp4, MapRole::kAny4}
                            : std::array{MapRole::kTcp6, MapRole::kAny6};
}

}  // namespace

// The hot path: every entry of a chunk is parsed, oriented and, if it is one, written as a
// record. Family and counter source are fixed per map, so the loop is specialized on them.
class CtReader::Visitor final : public ChunkVisitor {
 public:
  Visitor(Family family, bool stats, Layout layout, unsigned cpus, const LocalEndpoints& endpoints,
          BatchWriter& writer, uint32_t now_units, ReadSummary& summary,
          std::vector<uint32_t>* sample)
      : family_(family),
        stats_(stats),
        layout_(layout),
        cpus_(cpus),
        endpoints_(endpoints),
        writer_(writer),
        now_units_(now_units),
        summary_(summary),
        sample_(sample) {}

  void on_chunk(const uint8_t* keys, const uint8_t* values, size_t count) override {
    if (family_ == Family::kIpv4) {
      run<Family::kIpv4>(keys, values, count);
    } else {
      run<Family::kIpv6>(keys, values, count);
    }
  }

 private:
  template <Family F>
  void run(const uint8_t* keys, const uint8_t* values, size_t count) {
    constexpr size_t kKey = key_size(F);
    const size_t value_bytes = stats_ ? kStatsSlot * cpus_ : kValueSize;
    const CounterOrigin origin = stats_ ? CounterOrigin::kStatsMap : CounterOrigin::kCtMap;
    CtTuple tuple;
    CtValue value;
    FlowRecord record;
    for (size_t i = 0; i < count; ++i) {
      const uint8_t* key = keys + i * kKey;
      const uint8_t* raw = values + i * value_bytes;
      const KeyKind kind = parse_key_unchecked(F, key, tuple);
      if (stats_) {
        parse_stats_unchecked(raw, cpus_, value.counters);
      } else {
        parse_value_unchecked(layout_, raw, value);
        // Expired: lifetime before now in Cilium's own u32 clock (wrap-safe distance).
        if (static_cast<int32_t>(value.lifetime - now_units_) < 0) ++summary_.expired;
      }
      if (kind == KeyKind::kOut || kind == KeyKind::kIn) {
        ++summary_.eligible;
        if (!value.counters.all_zero()) ++summary_.eligible_counted;
        if (!stats_ && kind == KeyKind::kIn) note_in_entry(value);
        if (!stats_ && sample_ != nullptr && sample_->size() < kClockSample) {
          sample_->push_back(value.lifetime);
        }
      }
      const Outcome o = orient(tuple, kind, value.counters, endpoints_, record);
      ++summary_.outcomes[static_cast<size_t>(o)];
      if (o == Outcome::kRecord || o == Outcome::kMerged) {
        record.entry_id = entry_id(F, key, origin);
        writer_.add(record);
        ++summary_.records;
      }
    }
  }

  // Plausibility of the layout, on IN entries (created by an ingress lookup, which counts the
  // creating packet as rx: ct_create4/6() in bpf/lib/conntrack.h). Read as layout A, a counted
  // IN entry always has rx_packets >= 1; a merged layout read as A has 0 there (reserved0).
  // Read as B-D, offset 0 of an IN entry is reserved0 (0; frozen v1.15 rx only in entries that
  // survived an upgrade) or D's nat_addr (written for CT_EGRESS entries only); an A map read as
  // B-D has rx_packets >= 1 there in every IN entry.
  void note_in_entry(const CtValue& v) {
    ++summary_.in_entries;
    const bool implausible = per_direction(layout_)
                                 ? v.counters.rx_packets == 0 && !v.counters.all_zero()
                                 : v.word0 != 0;
    if (implausible) ++summary_.in_implausible;
  }

  Family family_;
  bool stats_;
  Layout layout_;
  unsigned cpus_;
  const LocalEndpoints& endpoints_;
  BatchWriter& writer_;
  uint32_t now_units_;
  ReadSummary& summary_;
  std::vector<uint32_t>* sample_;
};

CtReader::CtReader(const CtReaderOptions& options, SourceMetrics& metrics, std::string root)
    : options_(options),
      metrics_(metrics),
      root_(std::move(root)),
      reader_(options.read_method, options.lookup_batch) {}

CtReader::~CtReader() = default;

Result<std::unique_ptr<CtReader>> CtReader::open(const CtReaderOptions& options,
                                                 SourceMetrics& metrics) {
  const std::vector<std::string> roots =
      options.bpf_roots.empty() ? default_bpf_roots() : options.bpf_roots;
  auto root = find_root(roots);
  if (!root) {
    std::string where;
    for (const auto& r : roots) where += (where.empty() ? "" : ", ") + r + "/tc/globals";
    return fail(Errc::kNotFound,
                fmt::format("no Cilium conntrack map (cilium_ct4_global, cilium_ct_any4_global, "
                            "cilium_ct6_global, cilium_ct_any6_global) pinned under {}",
                            where));
  }
  auto cpus = loader::possible_cpus();
  if (!cpus) return std::unexpected(std::move(cpus.error()));
  std::unique_ptr<CtReader> r(new CtReader(options, metrics, *root));
  r->cpus_ = *cpus;
  if (auto st = r->open_all(); !st) return std::unexpected(std::move(st.error()));

  if (options.clock != ClockSetting::kKtime) {
    auto hz = estimate_hz();
    if (hz) {
      r->hz_ = *hz;
    } else if (options.clock == ClockSetting::kJiffies) {
      return std::unexpected(std::move(hz.error()).wrap("--cilium-clock jiffies"));
    } else {
      spdlog::warn("cilium: cannot read jiffies ({}): lifetimes are read as ktime seconds",
                   hz.error().message());
    }
  }
  if (options.clock == ClockSetting::kKtime) r->clock_ = ClockSource::kKtime;
  if (options.clock == ClockSetting::kJiffies) r->clock_ = ClockSource::kJiffies;
  return r;
}

Status CtReader::open_all() {
  bool any_ct = false;
  for (const MapRole role : kAllRoles) {
    bool changed = false;
    if (auto st = refresh(role, changed); !st) return st;
    const Slot& slot = slots_[role_index(role)];
    if (!is_stats(role) && slot.map) any_ct = true;
  }
  if (!any_ct) {
    return fail(Errc::kNotFound, fmt::format("{}/tc/globals: the Cilium conntrack maps vanished "
                                             "while opening them",
                                             root_));
  }
  // A family whose counters come from CT values needs their layout now: refuse to start.
  for (const Family f : {Family::kIpv4, Family::kIpv6}) {
    if (stats_mode(f)) continue;
    for (const MapRole role : ct_roles(f)) {
      const Slot& slot = slots_[role_index(role)];
      if (slot.map && !slot.layout) return std::unexpected(*slot.layout_error);
    }
  }
  return {};
}

Status CtReader::adopt(MapRole role, std::optional<OpenMap> map) {
  Slot& slot = slots_[role_index(role)];
  if (slot.layout_gauge != nullptr) slot.layout_gauge->set(0);
  slot = Slot{};
  if (!map) return {};
  if (auto st = validate(*map); !st) return st;
  auto from_btf = btf_layout(*map);
  if (!from_btf) return std::unexpected(std::move(from_btf.error()));
  if (!is_stats(role)) {
    auto choice = choose_layout(*from_btf, options_.layout, map->path);
    if (choice) {
      slot.layout = *choice;
    } else {
      slot.layout_error = std::move(choice.error());
    }
  }
  spdlog::info("cilium: {} (map id {}, type {}, max_entries {}, flags {:#x}{}){}", map->path,
               map->info.id, map->info.type, map->info.max_entries, map->info.map_flags,
               map->info.btf_id != 0 ? ", BTF" : "",
               slot.layout
                   ? fmt::format(": layout {} from {}", layout_description(slot.layout->layout),
                                 origin_name(slot.layout->origin))
                   : std::string());
  metrics_.map_max[role_index(role)]->set(map->info.max_entries);
  if (slot.layout) {
    slot.layout_gauge = &metrics_.registry.gauge(
        "egressd_cilium_layout_info",
        "1 for the conntrack value layout a Cilium map is read with, and where it was learned.",
        {{"map", std::string(pin_name(role))},
         {"layout", std::string(layout_letter(slot.layout->layout))},
         {"origin", std::string(origin_name(slot.layout->origin))}});
    slot.layout_gauge->set(1);
  }
  slot.map = std::move(map);
  return {};
}

Status CtReader::refresh(MapRole role, bool& changed) {
  Slot& slot = slots_[role_index(role)];
  auto opened = open_map(root_, role);
  if (!opened) return std::unexpected(std::move(opened.error()));
  const bool had = slot.map.has_value();
  const bool has = opened->has_value();
  if (had && has && (*opened)->info.id == slot.map->info.id) return {};  // the same map
  if (!had && !has) return {};
  changed = true;
  if (had && !has) {
    spdlog::warn("cilium: {} is gone (unpinned)", slot.map->path);
    metrics_.map_max[role_index(role)]->set(0);
    if (slot.layout_gauge != nullptr) slot.layout_gauge->set(0);
    slot = Slot{};
    return {};
  }
  if (had) {
    spdlog::warn("cilium: {} now names map id {} (was {}): Cilium recreated it", (*opened)->path,
                 (*opened)->info.id, slot.map->info.id);
  }
  auto st = adopt(role, std::move(*opened));
  if (!st) slot = Slot{};
  return st;
}

bool CtReader::has_map(MapRole role) const {
  return slots_[role_index(role)].map.has_value();
}

std::optional<LayoutChoice> CtReader::layout(MapRole role) const {
  return slots_[role_index(role)].layout;
}

bool CtReader::stats_mode(Family family) const {
  return options_.use_stats_maps && has_map(stats_role(family));
}

void CtReader::update_clock(const std::vector<uint32_t>& sample, uint64_t mono_ns,
                            uint64_t jiffies) {
  if (clock_ || sample.empty()) return;
  if (hz_ != 0) clock_ = guess_clock(sample, mono_ns, jiffies, hz_);
  if (clock_) {
    spdlog::info("cilium: entry lifetimes are in {} (guessed from {} entries{})",
                 clock_name(*clock_), sample.size(),
                 *clock_ == ClockSource::kJiffies ? fmt::format(", HZ {}", hz_) : "");
  } else if (!clock_logged_) {
    clock_logged_ = true;
    spdlog::warn(
        "cilium: cannot tell which clock entry lifetimes use; assuming ktime (Cilium's "
        "default). Set --cilium-clock if expiry figures look wrong");
  }
}

ReadSummary CtReader::read(const LocalEndpoints& endpoints, BatchWriter& writer,
                           const std::stop_token& stop) {
  const auto start = SteadyClock::now();
  ReadSummary s;
  bool complete = true;
  const auto note_error = [&](Error e) {
    complete = false;
    if (!s.error) s.error = std::move(e);
  };
  for (const MapRole role : kAllRoles) {
    bool changed = false;
    if (auto st = refresh(role, changed); !st) note_error(std::move(st.error()));
    if (changed) metrics_.map_changes.inc();
  }

  // "Now" in Cilium's clock, for expiry. Jiffies only when they matter (a /proc read).
  const uint64_t mono = monotonic_ns();
  uint64_t jiffies = 0;
  const bool want_jiffies = hz_ != 0 && clock_ != ClockSource::kKtime;
  if (want_jiffies) {
    if (auto j = read_jiffies()) jiffies = *j;
  }
  LifetimeClock lifetime_clock(clock_.value_or(ClockSource::kKtime), hz_);
  lifetime_clock.set_now(mono, jiffies);
  const uint32_t now_units = lifetime_clock.now_units();
  std::vector<uint32_t> sample;
  std::vector<uint32_t>* sample_ptr = clock_ ? nullptr : &sample;

  bool all_per_direction = true;
  for (const Family f : {Family::kIpv4, Family::kIpv6}) {
    const bool stats = stats_mode(f);
    std::vector<MapRole> roles;
    if (stats) {
      roles.push_back(stats_role(f));
    } else {
      for (const MapRole r : ct_roles(f)) roles.push_back(r);
    }
    for (const MapRole role : roles) {
      Slot& slot = slots_[role_index(role)];
      if (!slot.map) continue;
      if (!stats && !slot.layout) {
        note_error(*slot.layout_error);
        continue;
      }
      const Layout layout = stats ? Layout::kA : slot.layout->layout;
      if (!stats && !per_direction(layout)) all_per_direction = false;
      Visitor visitor(f, stats, layout, cpus_, endpoints, writer, now_units, s, sample_ptr);
      const size_t value_bytes = stats ? kStatsSlot * cpus_ : kValueSize;
      const std::string name(pin_name(role));
      ReadResult r = reader_.read(slot.map->fd.get(), name.c_str(), key_size(f), value_bytes,
                                  slot.map->info.max_entries, visitor, stop);
      s.entries += r.entries;
      s.map_entries[role_index(role)] = r.entries;
      s.restarts += r.restarts;
      s.grows += r.grows;
      metrics_.batch_ops.set(r.batch ? 1 : 0);
      if (r.error) note_error(std::move(*r.error));
      if (!r.complete) complete = false;
    }
    if (stats && has_map(stats_role(f)) && s.map_entries[role_index(stats_role(f))] == 0) {
      // An empty stats map beside a non-empty CT map: accounting is off (the stats maps are
      // only written with --bpf-conntrack-accounting).
      for (const MapRole r : ct_roles(f)) {
        const Slot& ct = slots_[role_index(r)];
        std::array<uint8_t, EGRESSD_CILIUM_CT_KEY6_SIZE> key{};
        if (ct.map && bpf_map_get_next_key(ct.map->fd.get(), nullptr, key.data()) == 0) {
          ++s.eligible;  // at least one entry, none counted
          break;
        }
      }
    }
  }
  writer.flush();
  if (stop.stop_requested()) complete = false;
  s.complete = complete;
  update_clock(sample, mono, jiffies);
  publish(s, std::chrono::duration<double>(SteadyClock::now() - start).count());
  last_per_direction_ = all_per_direction ? 1 : 0;
  metrics_.per_direction.set(last_per_direction_);
  return s;
}

void CtReader::publish(const ReadSummary& s, double seconds) {
  metrics_.reads.inc();
  if (!s.complete) metrics_.read_errors.inc();
  metrics_.entries_read.inc(s.entries);
  metrics_.dropped_transit.inc(s.count(Outcome::kTransit));
  metrics_.dropped_no_counters.inc(s.count(Outcome::kNoCounters));
  metrics_.merged_records.inc(s.count(Outcome::kMerged));
  metrics_.dropped_node_to_pod.inc(s.count(Outcome::kPodReports));
  metrics_.dropped_node_to_node.inc(s.count(Outcome::kInitiatorReports));
  metrics_.skipped_no_proto.inc(s.count(Outcome::kNoProto));
  metrics_.skipped_related.inc(s.count(Outcome::kRelated));
  metrics_.skipped_service.inc(s.count(Outcome::kService));
  metrics_.lookup_restarts.inc(s.restarts);
  metrics_.batch_grows.inc(s.grows);
  metrics_.read_duration.set(seconds);
  metrics_.entries_expired.set(static_cast<double>(s.expired));
  for (size_t i = 0; i < kMapRoles; ++i) {
    metrics_.map_entries[i]->set(static_cast<double>(s.map_entries[i]));
  }
  // Accounting: any counted entry proves it is on; entries that all read 0 say it is off.
  const int accounting = s.eligible_counted > 0 ? 1 : s.eligible > 0 ? 0 : -1;
  metrics_.accounting_enabled.set(accounting);
  if (accounting != last_accounting_ && accounting >= 0) {
    if (accounting == 0) {
      spdlog::warn(
          "cilium: all {} conntrack entries read 0 packets and bytes: Cilium's conntrack "
          "accounting is off (Cilium 1.16+: --bpf-conntrack-accounting / Helm "
          "bpf.ctAccounting); nothing is exported until it is on",
          s.eligible);
    } else {
      spdlog::info("cilium: conntrack entries carry counters ({} of {} counted)",
                   s.eligible_counted, s.eligible);
    }
  }
  if (s.count(Outcome::kMerged) > 0 && last_accounting_ != accounting && accounting == 1) {
    spdlog::warn(
        "cilium: the conntrack layout merges both directions into one packets/bytes pair "
        "(Cilium 1.16+); egressd does not invent a split: these entries ({} this read) are "
        "exported as egressd_transferred_bytes_total/egressd_transferred_packets_total, not as "
        "transmit/received. Per-direction counters need Cilium's cilium_ct_stats maps, or use "
        "--ct-mode ebpf (docs/cilium.md)",
        s.count(Outcome::kMerged));
  }
  last_accounting_ = accounting;
  // At least 16 IN entries, most of which the configured layout cannot have written.
  const bool suspect = s.in_entries >= 16 && s.in_implausible * 2 > s.in_entries;
  metrics_.layout_suspect.set(suspect ? 1 : 0);
  if (suspect && !last_suspect_) {
    spdlog::warn(
        "cilium: {} of {} IN entries do not fit the configured conntrack layout (a "
        "Cilium upgrade or a wrong --cilium-version/--cilium-layout?): counters may be "
        "misread; check the Cilium version (docs/cilium.md)",
        s.in_implausible, s.in_entries);
  }
  last_suspect_ = suspect;
}

}  // namespace egressd::cilium
