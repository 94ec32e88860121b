// Cilium's conntrack maps, for real: maps with Cilium's exact key/value layouts are created and
// pinned under <private bpffs>/<test>/tc/globals, filled with entries of every layout (A-D), both
// families, every flag kind and both clocks, then read by the reader the source runs. Expected
// records are written out by hand from the entries' documented field values.
#include <bpf/libbpf.h>

#include <gtest/gtest.h>

#include "cilium/cilium_source.h"
#include "cilium_test_util.h"

namespace egressd::cilium::testing {
namespace {

// Before main(): no thread exists yet, so the whole process gets its own mount namespace.
const int kUnshareErrno = unshare(CLONE_NEWNS) == 0 ? 0 : errno;
[[maybe_unused]] ::testing::Environment* const kEnv =
    ::testing::AddGlobalTestEnvironment(new BpffsEnvironment(kUnshareErrno));

constexpr uint8_t kOut = 0, kIn = 1, kRelated = 2, kService = 4;

// The scenario of every layout test: the same connections, counters per direction (rx_p, rx_b,
// tx_p, tx_b of the entry's local side). `value` lays them out in the layout under test.
struct Scenario {
  struct Row {
    MapRole map;
    Conn conn;
    uint8_t flags;
    uint64_t rx_p, rx_b, tx_p, tx_b;
    int32_t expires_in;  // seconds from now (negative: expired)
  };
  std::vector<Row> rows = {
      // ct4 (TCP): pod A to the internet; A -> B on this node (OUT and IN); internet -> B;
      // transit; a SERVICE entry; A with counters 0; the node's own; A expired, not yet GC'd.
      {MapRole::kTcp4, {"10.0.0.1", 40000, "93.184.216.34", 443, 6}, kOut, 8, 9000, 10, 1000, 3600},
      {MapRole::kTcp4, {"10.0.0.1", 41000, "10.0.0.2", 8080, 6}, kOut, 2, 2000, 3, 300, 3600},
      {MapRole::kTcp4, {"10.0.0.1", 41000, "10.0.0.2", 8080, 6}, kIn, 3, 300, 2, 2000, 3600},
      {MapRole::kTcp4, {"203.0.113.9", 50000, "10.0.0.2", 80, 6}, kIn, 5, 500, 4, 4000, 3600},
      {MapRole::kTcp4, {"198.51.100.1", 1000, "198.51.100.2", 80, 6}, kOut, 1, 60, 1, 60, 3600},
      {MapRole::kTcp4, {"10.0.0.1", 44000, "10.96.0.1", 443, 6}, kService, 0, 0, 0, 0, 3600},
      {MapRole::kTcp4, {"10.0.0.1", 42000, "1.1.1.1", 443, 6}, kOut, 0, 0, 0, 0, 3600},
      {MapRole::kTcp4, {"192.168.1.10", 5000, "1.1.1.1", 443, 6}, kOut, 6, 6000, 7, 700, 3600},
      {MapRole::kTcp4, {"10.0.0.1", 43000, "8.8.8.8", 443, 6}, kOut, 1, 60, 1, 60, -100},
      // any4: UDP to a DNS pod elsewhere; ICMP echo; a RELATED ICMP entry; nexthdr 0.
      {MapRole::kAny4, {"10.0.0.1", 5353, "10.1.2.3", 53, 17}, kOut, 1, 120, 1, 70, 60},
      {MapRole::kAny4, {"10.0.0.1", 0, "1.1.1.1", 7, 1}, kOut, 2, 168, 2, 168, 60},
      {MapRole::kAny4, {"10.0.0.1", 5353, "10.1.2.3", 53, 1}, kRelated, 0, 0, 0, 0, 60},
      {MapRole::kAny4, {"10.0.0.1", 1, "10.1.2.3", 2, 0}, kOut, 1, 1, 1, 1, 60},
      // ct6: pod C out and in.
      {MapRole::kTcp6, {"fd00::1", 40000, "2001:db8::1", 443, 6}, kOut, 9, 90000, 11, 1100, 3600},
      {MapRole::kTcp6, {"2001:db8::2", 50000, "fd00::1", 22, 6}, kIn, 12, 1200, 10, 10000, 3600},
      // any6: ICMPv6 echo; a SERVICE entry; a RELATED|IN entry.
      {MapRole::kAny6, {"fd00::1", 0, "2001:db8::1", 9, 58}, kOut, 1, 104, 1, 104, 60},
      {MapRole::kAny6, {"fd00::1", 3000, "fd00:96::a", 53, 17}, kService, 0, 0, 0, 0, 60},
      {MapRole::kAny6, {"2001:db8::1", 0, "fd00::1", 9, 58}, kIn | kRelated, 0, 0, 0, 0, 60},
  };

  // The records, from the rows above: the OUT rows' originators and the IN rows' responders that
  // are on this node, with their own tx/rx.
  std::multiset<std::string> records = {
      "10.0.0.1 93.184.216.34 6 1000/10 9000/8", "10.0.0.1 10.0.0.2 6 300/3 2000/2",
      "10.0.0.2 10.0.0.1 6 2000/2 300/3",        "10.0.0.2 203.0.113.9 6 4000/4 500/5",
      "192.168.1.10 1.1.1.1 6 700/7 6000/6",     "10.0.0.1 8.8.8.8 6 60/1 60/1",
      "10.0.0.1 10.1.2.3 17 70/1 120/1",         "10.0.0.1 1.1.1.1 1 168/2 168/2",
      "fd00::1 2001:db8::1 6 1100/11 90000/9",   "fd00::1 2001:db8::2 6 10000/10 1200/12",
      "fd00::1 2001:db8::1 58 104/1 104/1",
  };
};

class CiliumLayouts : public CiliumMapsTest {
 protected:
  // Fills the four CT maps with the scenario, values in `layout` (merged layouts sum rx and tx,
  // as Cilium 1.16+ counts both directions into one pair; w0/w1 carry frozen v1.15 values).
  void fill(Layout layout, uint32_t (*lifetime)(int32_t), const BuiltBtf* btf4 = nullptr,
            const BuiltBtf* btf6 = nullptr) {
    std::map<MapRole, TestMap*> maps;
    for (const MapRole r : {MapRole::kTcp4, MapRole::kAny4, MapRole::kTcp6, MapRole::kAny6}) {
      TestMap::Spec spec;
      spec.btf = family_of(r) == Family::kIpv4 ? btf4 : btf6;
      maps[r] = &add(r, spec);
    }
    for (const auto& row : scenario_.rows) {
      const auto key = make_key(row.conn, row.flags);
      const uint32_t life = lifetime(row.expires_in);
      maps[row.map]->put(key,
                         layout == Layout::kA
                             ? value_a(row.rx_p, row.rx_b, row.tx_p, row.tx_b, life)
                             // One entry survived a 1.15 -> 1.16 upgrade: frozen rx words at 0/8.
                             : value_merged(row.rx_p + row.tx_p, row.rx_b + row.tx_b, life,
                                            &row == &scenario_.rows.front() ? 0x55 : 0,
                                            &row == &scenario_.rows.front() ? 0x66 : 0));
    }
  }
  Scenario scenario_;
};

uint32_t ktime_lifetime(int32_t in) {
  return static_cast<uint32_t>(static_cast<int64_t>(now_seconds()) + in);
}

TEST_F(CiliumLayouts, LayoutABothFamiliesAllFlagKinds) {
  fill(Layout::kA, ktime_lifetime);
  auto r = read_once(options("", "1.15.6"));
  ASSERT_FALSE(r.open_error) << r.open_error->message();
  EXPECT_TRUE(r.summary.complete);
  EXPECT_EQ(r.records, scenario_.records);
  EXPECT_EQ(r.summary.entries, scenario_.rows.size());
  EXPECT_EQ(r.summary.count(Outcome::kTransit), 1U);
  EXPECT_EQ(r.summary.count(Outcome::kService), 2U);
  EXPECT_EQ(r.summary.count(Outcome::kRelated), 2U);
  EXPECT_EQ(r.summary.count(Outcome::kNoProto), 1U);
  EXPECT_EQ(r.summary.count(Outcome::kNoCounters), 1U);
  EXPECT_EQ(r.summary.expired, 1U);
  const SelfMetrics& m = *r.registry;
  EXPECT_EQ(metric_value(m, "egressd_records_read_total", {{"source", "cilium"}}), 18);
  EXPECT_EQ(metric_value(m, "egressd_cilium_entries_skipped_total", {{"reason", "service"}}), 2);
  EXPECT_EQ(metric_value(m, "egressd_cilium_entries_skipped_total", {{"reason", "related"}}), 2);
  EXPECT_EQ(metric_value(m, "egressd_cilium_entries_skipped_total", {{"reason", "no_proto"}}), 1);
  EXPECT_EQ(metric_value(m, "egressd_records_dropped_total", {{"reason", "transit"}}), 1);
  EXPECT_EQ(metric_value(m, "egressd_records_dropped_total", {{"reason", "no_counters"}}), 1);
  EXPECT_EQ(metric_value(m, "egressd_cilium_map_entries", {{"map", "cilium_ct4_global"}}), 9);
  EXPECT_EQ(metric_value(m, "egressd_cilium_map_entries", {{"map", "cilium_ct_any6_global"}}), 3);
  EXPECT_EQ(metric_value(m, "egressd_cilium_map_max_entries", {{"map", "cilium_ct6_global"}}),
            1024);
  EXPECT_EQ(metric_value(m, "egressd_cilium_map_max_entries", {{"map", "cilium_ct_stats4"}}), 0);
  EXPECT_EQ(metric_value(m, "egressd_cilium_accounting_enabled"), 1);
  EXPECT_EQ(metric_value(m, "egressd_cilium_per_direction_counters"), 1);
  EXPECT_EQ(metric_value(m, "egressd_cilium_entries_expired"), 1);
  EXPECT_EQ(metric_value(m, "egressd_cilium_layout_suspect"), 0);
  EXPECT_EQ(metric_value(m, "egressd_cilium_layout_info",
                         {{"map", "cilium_ct4_global"}, {"layout", "A"}, {"origin", "setting"}}),
            1);
  // Same-node A -> B: one record per pod, A's tx is B's rx, and no third record.
  size_t a_to_b = 0, b_to_a = 0;
  for (const FlowRecord& rec : r.raw) {
    a_to_b += rec.key.local == ip("10.0.0.1") && rec.key.peer == ip("10.0.0.2");
    b_to_a += rec.key.local == ip("10.0.0.2") && rec.key.peer == ip("10.0.0.1");
  }
  EXPECT_EQ(a_to_b, 1U);
  EXPECT_EQ(b_to_a, 1U);
}

TEST_F(CiliumLayouts, MergedLayoutsExportNoInventedSplit) {
  // The same connections as layout A, each record carrying its entry's total of both directions
  // under kFlowMergedDirections (tx = total, rx = 0): same endpoints, same dedupe, no split.
  std::multiset<std::string> want;
  for (const auto& split : scenario_.records) want.insert(merged_of(split));
  for (const Layout l : {Layout::kB, Layout::kC, Layout::kD}) {
    SCOPED_TRACE(std::string(layout_letter(l)));
    maps_.clear();
    fill(l, ktime_lifetime);
    auto r = read_once(options(std::string(layout_letter(l))));
    ASSERT_FALSE(r.open_error) << r.open_error->message();
    EXPECT_TRUE(r.summary.complete);
    EXPECT_EQ(r.records, want);
    EXPECT_EQ(r.summary.count(Outcome::kMerged), scenario_.records.size());
    EXPECT_EQ(r.summary.count(Outcome::kRecord), 0U);
    EXPECT_EQ(r.summary.count(Outcome::kTransit), 1U);
    EXPECT_EQ(r.summary.count(Outcome::kNoCounters), 1U);
    EXPECT_EQ(r.summary.count(Outcome::kService), 2U);
    EXPECT_EQ(r.summary.count(Outcome::kRelated), 2U);
    EXPECT_EQ(metric_value(*r.registry, "egressd_cilium_merged_records_total"),
              static_cast<double>(scenario_.records.size()));
    EXPECT_EQ(metric_value(*r.registry, "egressd_cilium_accounting_enabled"), 1);
    EXPECT_EQ(metric_value(*r.registry, "egressd_cilium_per_direction_counters"), 0);
  }
}

TEST_F(CiliumLayouts, AWrongLayoutSettingIsFlagged) {
  // 20 IN entries (remote clients -> pod B), written by Cilium 1.16 (layout B: merged counters,
  // reserved0 = 0) but configured as 1.15: read as A they would say "B sent everything, received
  // nothing" — which no layout-A IN entry can say (its creating packet is an rx packet).
  auto& ct4 = add(MapRole::kTcp4);
  const auto fill_in = [&](bool merged) {
    for (uint16_t p = 1; p <= 20; ++p) {
      const auto key =
          make_key({"203.0.113.9", static_cast<uint16_t>(30000 + p), "10.0.0.2", 80, 6}, kIn);
      ct4.put(key,
              merged ? value_merged(10, 5000, 4000000000U) : value_a(4, 400, 6, 4600, 4000000000U));
    }
  };
  fill_in(true);
  auto wrong = read_once(options("", "1.15"));
  ASSERT_FALSE(wrong.open_error) << wrong.open_error->message();
  EXPECT_EQ(metric_value(*wrong.registry, "egressd_cilium_layout_suspect"), 1);
  auto right = read_once(options("", "1.16"));
  EXPECT_EQ(metric_value(*right.registry, "egressd_cilium_layout_suspect"), 0);
  // The other way round: a 1.15 map read as 1.17 has rx_packets (>= 1) where B keeps reserved0.
  fill_in(false);
  auto wrong_b = read_once(options("B"));
  EXPECT_EQ(metric_value(*wrong_b.registry, "egressd_cilium_layout_suspect"), 1);
  auto right_a = read_once(options("A"));
  EXPECT_EQ(metric_value(*right_a.registry, "egressd_cilium_layout_suspect"), 0);
  EXPECT_EQ(right_a.records.size(), 20U);
}

TEST_F(CiliumLayouts, AccountingOffIsDetected) {
  // Cilium 1.16+ default: entries exist, every counter reads 0.
  auto& ct4 = add(MapRole::kTcp4);
  for (uint16_t p = 1; p <= 20; ++p) {
    ct4.put(make_key({"10.0.0.1", p, "1.1.1.1", 443, 6}, kOut), value_merged(0, 0, 999, 0, 0));
  }
  auto r = read_once(options("", "1.17"));
  ASSERT_FALSE(r.open_error) << r.open_error->message();
  EXPECT_TRUE(r.records.empty());
  EXPECT_EQ(metric_value(*r.registry, "egressd_cilium_accounting_enabled"), 0);
  // Layout A with accounting off (counters 0): no zeros exported either.
  maps_.clear();
  auto& a4 = add(MapRole::kTcp4);
  a4.put(make_key({"10.0.0.1", 1, "1.1.1.1", 443, 6}, kOut), value_a(0, 0, 0, 0, 999));
  auto ra = read_once(options("A"));
  EXPECT_TRUE(ra.records.empty());
  EXPECT_EQ(ra.summary.count(Outcome::kNoCounters), 1U);
  EXPECT_EQ(metric_value(*ra.registry, "egressd_cilium_accounting_enabled"), 0);
}

TEST_F(CiliumLayouts, LayoutFromMapBtf) {
  const std::pair<BtfLayout, Layout> cases[] = {{BtfLayout::kA, Layout::kA},
                                                {BtfLayout::kB, Layout::kB},
                                                {BtfLayout::kC, Layout::kC},
                                                {BtfLayout::kD, Layout::kD}};
  for (const auto& [built, want] : cases) {
    SCOPED_TRACE(std::string(layout_letter(want)));
    maps_.clear();
    BuiltBtf b4 = build_btf(built, false);
    BuiltBtf b6 = build_btf(built, true);
    fill(want, ktime_lifetime, &b4, &b6);
    auto r = read_once(options());  // no setting: the BTF decides
    ASSERT_FALSE(r.open_error) << r.open_error->message();
    for (const MapRole role : {MapRole::kTcp4, MapRole::kAny6}) {
      ASSERT_TRUE(r.reader->layout(role).has_value());
      EXPECT_EQ(r.reader->layout(role)->layout, want);
      EXPECT_EQ(r.reader->layout(role)->origin, LayoutOrigin::kBtf);
    }
    EXPECT_EQ(metric_value(*r.registry, "egressd_cilium_layout_info",
                           {{"map", "cilium_ct6_global"},
                            {"layout", std::string(layout_letter(want))},
                            {"origin", "btf"}}),
              1);
    if (want == Layout::kA) {
      EXPECT_EQ(r.records, scenario_.records);
    } else {
      std::multiset<std::string> merged;
      for (const auto& split : scenario_.records) merged.insert(merged_of(split));
      EXPECT_EQ(r.records, merged);
    }
    // A setting that contradicts the BTF is refused.
    auto clash = read_once(options(want == Layout::kA ? "B" : "A"));
    ASSERT_TRUE(clash.open_error.has_value());
    EXPECT_NE(clash.open_error->message().find("BTF"), std::string::npos);
    btf__free(b4.b);
    btf__free(b6.b);
  }
}

TEST_F(CiliumLayouts, StatsMapsGivePerDirectionCounters) {
  // Cilium main with --bpf-conntrack-accounting: cilium_ct_stats4 holds per-CPU rx/tx per tuple;
  // the CT values (layout D) are merged and not read for IPv4. IPv6 has no stats map here.
  fill(Layout::kD, ktime_lifetime);
  TestMap::Spec spec;
  spec.flags = BPF_F_NO_COMMON_LRU;
  auto& stats4 = add(MapRole::kStats4, spec);
  const int cpus = libbpf_num_possible_cpus();
  ASSERT_GT(cpus, 0);
  const auto percpu = [&](std::vector<std::vector<uint8_t>> slots) {
    std::vector<uint8_t> v;
    slots.resize(static_cast<size_t>(cpus), stats_slot(0, 0, 0, 0));
    for (const auto& s : slots) v.insert(v.end(), s.begin(), s.end());
    return v;
  };
  // A -> internet: CPU0 tx 5/500 rx 4/400, CPU1 tx 1/100 (if there is a CPU1).
  stats4.put(make_key({"10.0.0.1", 40000, "93.184.216.34", 443, 6}, kOut),
             percpu({stats_slot(4, 400, 5, 500), stats_slot(0, 0, 1, 100)}));
  stats4.put(make_key({"203.0.113.9", 50000, "10.0.0.2", 80, 6}, kIn),
             percpu({stats_slot(7, 700, 3, 3000)}));
  stats4.put(make_key({"10.0.0.1", 44000, "10.96.0.1", 443, 6}, kService),
             percpu({stats_slot(1, 1, 1, 1)}));
  auto r = read_once(options("D"));
  ASSERT_FALSE(r.open_error) << r.open_error->message();
  EXPECT_TRUE(r.reader->stats_mode(Family::kIpv4));
  EXPECT_FALSE(r.reader->stats_mode(Family::kIpv6));
  std::multiset<std::string> want = {
      cpus > 1 ? "10.0.0.1 93.184.216.34 6 600/6 400/4" : "10.0.0.1 93.184.216.34 6 500/5 400/4",
      "10.0.0.2 203.0.113.9 6 3000/3 700/7",
  };
  // IPv6 has no stats map: its CT values (layout D) give merged records.
  for (const auto& split : scenario_.records) {
    if (split.find(':') != std::string::npos) want.insert(merged_of(split));
  }
  EXPECT_EQ(r.records, want);
  EXPECT_EQ(r.summary.count(Outcome::kService), 1U + 1U);  // stats4's and any6's
  EXPECT_EQ(r.summary.count(Outcome::kMerged), 3U);        // the IPv6 CT OUT/IN entries
  EXPECT_EQ(metric_value(*r.registry, "egressd_cilium_map_entries", {{"map", "cilium_ct_stats4"}}),
            3);
  EXPECT_EQ(metric_value(*r.registry, "egressd_cilium_map_entries", {{"map", "cilium_ct4_global"}}),
            0);
}

TEST_F(CiliumLayouts, EmptyStatsMapMeansAccountingOff) {
  auto& ct4 = add(MapRole::kTcp4);
  ct4.put(make_key({"10.0.0.1", 1, "1.1.1.1", 443, 6}, kOut), value_merged(0, 0, 999));
  TestMap::Spec spec;
  add(MapRole::kStats4, spec);
  auto r = read_once(options("D"));
  ASSERT_FALSE(r.open_error) << r.open_error->message();
  EXPECT_TRUE(r.records.empty());
  EXPECT_EQ(metric_value(*r.registry, "egressd_cilium_accounting_enabled"), 0);
}

TEST_F(CiliumLayouts, JiffiesLifetimesAreRecognized) {
  // Lifetimes written as Cilium does with --enable-bpf-clock-probe: (jiffies >> 8) + timeout.
  auto hz = estimate_hz();
  ASSERT_TRUE(hz.has_value()) << hz.error().message();
  auto j = read_jiffies();
  ASSERT_TRUE(j.has_value());
  static uint64_t jiffies_now = 0;
  static uint32_t hz_now = 0;
  jiffies_now = *j;
  hz_now = *hz;
  fill(Layout::kA, [](int32_t in) {
    return static_cast<uint32_t>(static_cast<int64_t>(jiffies_now >> 8) +
                                 static_cast<int64_t>(in) * hz_now / 256);
  });
  CtReaderOptions o = options("A");
  o.clock = ClockSetting::kAuto;
  auto r = read_once(o);
  ASSERT_FALSE(r.open_error) << r.open_error->message();
  EXPECT_EQ(r.reader->clock(), ClockSource::kJiffies);
  EXPECT_EQ(r.reader->hz(), hz_now);
  EXPECT_EQ(r.records, scenario_.records);
  // The expiry count of this read used ktime (the clock was not known yet); the next uses
  // jiffies: exactly the one expired entry.
  CaptureSink sink;
  BatchWriter w(sink, SourceKind::kCilium, 64);
  const ReadSummary again = r.reader->read(*test_endpoints(), w, std::stop_token{});
  EXPECT_EQ(again.expired, 1U);
}

TEST_F(CiliumLayouts, KtimeLifetimesAreRecognized) {
  fill(Layout::kA, ktime_lifetime);
  CtReaderOptions o = options("A");
  o.clock = ClockSetting::kAuto;
  auto r = read_once(o);
  ASSERT_FALSE(r.open_error) << r.open_error->message();
  EXPECT_EQ(r.reader->clock(), ClockSource::kKtime);
  EXPECT_EQ(r.summary.expired, 1U);
}

}  // namespace
}  // namespace egressd::cilium::testing
