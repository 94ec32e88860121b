// Cilium map reading mechanics against real maps: discovery and its fallback root, validation
// errors (one clear message each), read-only pins, batch lookups growing on ENOSPC, the
// get_next_key walk across deletions, counters that go backwards, a recreated map, and the
// source's thread (generations, completion markers, stop).
#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "cilium/cilium_source.h"
#include "cilium_test_util.h"
#include "common/wait.h"

namespace egressd::cilium::testing {
namespace {

using namespace std::chrono_literals;

// The private bpffs is set up once for the binary, in cilium_maps_test.cpp.

std::vector<uint8_t> key_n(uint32_t i) {
  // Distinct TCP OUT keys from pod A to 172.16.x.y.
  const std::string peer =
      "172.16." + std::to_string(i >> 8 & 0xff) + "." + std::to_string(i & 0xff);
  return make_key({"10.0.0.1", static_cast<uint16_t>(1024 + (i >> 16)), peer, 443, 6}, 0);
}

void fill_n(TestMap& m, uint32_t n) {
  for (uint32_t i = 0; i < n; ++i) m.put(key_n(i), value_a(1, 100, i + 1, 1000 + i, 4000000000U));
}

using CiliumReader = CiliumMapsTest;

TEST_F(CiliumReader, FindsMapsUnderTheFallbackRoot) {
  const std::string empty = root_ + "/sysfs";
  const std::string fallback = root_ + "/run-cilium";
  make_dirs(empty + "/tc/globals");
  auto& m = add(MapRole::kTcp4, {}, fallback);
  m.put(key_n(1), value_a(1, 2, 3, 4, 5));
  EXPECT_EQ(find_cilium_maps({empty, fallback}), fallback);
  CtReaderOptions o = options("A");
  o.bpf_roots = {empty, fallback};
  auto r = read_once(o);
  ASSERT_FALSE(r.open_error) << r.open_error->message();
  EXPECT_EQ(r.reader->root(), fallback);
  EXPECT_EQ(r.records.size(), 1U);
  EXPECT_FALSE(find_cilium_maps({empty}).has_value());
  o.bpf_roots = {empty};
  auto none = read_once(o);
  ASSERT_TRUE(none.open_error.has_value());
  EXPECT_EQ(none.open_error->code(), Errc::kNotFound);
  EXPECT_NE(none.open_error->message().find(empty + "/tc/globals"), std::string::npos);
}

TEST_F(CiliumReader, RefusesWhatItCannotRead) {
  struct Case {
    const char* what;
    TestMap::Spec spec;
    std::string layout;
    std::string version;
    std::string expect;  // in the message
  };
  const Case cases[] = {
      {"no BTF, no setting", {}, "", "", "--cilium-version"},
      {"value size", {BPF_MAP_TYPE_LRU_HASH, 14, 48, 64, 0, nullptr}, "A", "", "value size 48"},
      {"key size", {BPF_MAP_TYPE_LRU_HASH, 16, 56, 64, 0, nullptr}, "A", "", "key size 16"},
      {"map type", {BPF_MAP_TYPE_ARRAY, 4, 56, 64, 0, nullptr}, "A", "", "map type 2"},
      // (Unknown map flags: the kernel refuses every flag outside the allowed set for hash maps,
      // so that check is a unit test, maps_test.cpp.)
      {"newer Cilium", {}, "", "1.20.1", "1.20.1"},
      {"older Cilium", {}, "", "1.10", "1.10"},
      // (A bad --cilium-layout never gets here: config/ refuses it, config_errors_test.cpp.)
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    maps_.clear();
    add(MapRole::kTcp4, c.spec);
    auto r = read_once(options(c.layout, c.version));
    ASSERT_TRUE(r.open_error.has_value());
    const std::string msg = r.open_error->message();
    EXPECT_NE(msg.find(c.expect), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;  // one line
  }
  // A BTF describing a struct this build does not know is refused too.
  maps_.clear();
  BuiltBtf b = build_btf(BtfLayout::kUnknown40);
  TestMap::Spec spec;
  spec.btf = &b;
  add(MapRole::kTcp4, spec);
  auto r = read_once(options());
  ASSERT_TRUE(r.open_error.has_value());
  EXPECT_NE(r.open_error->message().find("future_field@40"), std::string::npos);
  btf__free(b.b);
}

TEST_F(CiliumReader, PinsAreOpenedReadOnly) {
  add(MapRole::kTcp6).put(make_key({"fd00::1", 1, "fd00::2", 2, 6}, 0), value_a(1, 1, 1, 1, 1));
  auto m = open_map(root_, MapRole::kTcp6);
  ASSERT_TRUE(m.has_value() && m->has_value());
  const auto key = make_key({"fd00::1", 1, "fd00::2", 2, 6}, 0);
  const auto value = value_a(9, 9, 9, 9, 9);
  EXPECT_NE(bpf_map_update_elem((*m)->fd.get(), key.data(), value.data(), BPF_ANY), 0);
  EXPECT_EQ(errno, EPERM);
  EXPECT_EQ((*m)->info.max_entries, 1024U);  // from BPF_OBJ_GET_INFO_BY_FD
  EXPECT_FALSE(open_map(root_, MapRole::kAny6).value().has_value());
}

class CollectKeys final : public ChunkVisitor {
 public:
  explicit CollectKeys(size_t key_size) : key_size_(key_size) {}
  void on_chunk(const uint8_t* keys, const uint8_t*, size_t count) override {
    for (size_t i = 0; i < count; ++i) {
      const std::string k(reinterpret_cast<const char*>(keys + i * key_size_), key_size_);
      ++visits;
      if (!seen.insert(k).second) ++duplicates;
      last = k;
    }
    if (after_chunk) after_chunk(last);
  }
  size_t key_size_;
  std::set<std::string> seen;
  size_t visits = 0;
  size_t duplicates = 0;
  std::string last;
  std::function<void(const std::string&)> after_chunk;
};

TEST_F(CiliumReader, BatchGrowsOnEnospcAndMatchesTheKeyWalk) {
  TestMap::Spec spec;
  spec.type = BPF_MAP_TYPE_HASH;
  spec.max_entries = 4096;
  auto& m = add(MapRole::kTcp4, spec);
  fill_n(m, 3000);  // 3000 keys in 4096 buckets: many buckets hold two or more
  MapReader batch(ReadMethod::kBatch, 1);
  CollectKeys a(14);
  const ReadResult ra = batch.read(m.fd(), "t", 14, 56, 4096, a, {});
  EXPECT_TRUE(ra.complete);
  EXPECT_TRUE(ra.batch);
  EXPECT_FALSE(ra.error.has_value());
  EXPECT_GT(ra.grows, 0U);
  EXPECT_EQ(ra.entries, 3000U);
  EXPECT_EQ(a.seen.size(), 3000U);
  EXPECT_EQ(a.duplicates, 0U);
  MapReader walk(ReadMethod::kKeyWalk, 1);
  CollectKeys b(14);
  const ReadResult rb = walk.read(m.fd(), "t", 14, 56, 4096, b, {});
  EXPECT_TRUE(rb.complete);
  EXPECT_FALSE(rb.batch);
  EXPECT_EQ(rb.restarts, 0U);
  EXPECT_EQ(b.seen, a.seen);
  // The reader over the same pins gives the same records both ways.
  CtReaderOptions o = options("A");
  auto rec_batch = read_once(o);
  o.read_method = ReadMethod::kKeyWalk;
  auto rec_walk = read_once(o);
  EXPECT_EQ(rec_batch.records.size(), 3000U);
  EXPECT_EQ(rec_batch.records, rec_walk.records);
  EXPECT_EQ(metric_value(*rec_walk.registry, "egressd_cilium_batch_lookup"), 0);
  EXPECT_EQ(metric_value(*rec_batch.registry, "egressd_cilium_batch_lookup"), 1);
}

TEST_F(CiliumReader, KeyWalkSurvivesDeletedKeys) {
  TestMap::Spec spec;
  spec.type = BPF_MAP_TYPE_HASH;
  spec.max_entries = 4096;
  auto& m = add(MapRole::kTcp4, spec);
  fill_n(m, 2000);
  // After each chunk of 256, delete the chunk's last key: the next get_next_key() on it goes back
  // to the first key of the map (htab_map_get_next_key()).
  CollectKeys v(14);
  size_t deleted = 0;
  v.after_chunk = [&](const std::string& last) {
    if (bpf_map_delete_elem(m.fd(), last.data()) == 0) ++deleted;
  };
  MapReader walk(ReadMethod::kKeyWalk, 1);
  const ReadResult r = walk.read(m.fd(), "t", 14, 56, 4096, v, {});
  EXPECT_TRUE(r.complete) << (r.error ? r.error->message() : "");
  EXPECT_EQ(deleted, 2000U / MapReader::kWalkChunk + 1);  // the last partial chunk too
  EXPECT_EQ(r.restarts, 2000U / MapReader::kWalkChunk);   // each but the last sent it back
  EXPECT_EQ(v.duplicates, 0U);
  EXPECT_EQ(v.seen.size(), 2000U);  // every key once, the deleted ones before their deletion
  // Restarts beyond the cap make the read incomplete instead of looping.
  fill_n(m, 4000);
  CollectKeys w(14);
  w.after_chunk = [&](const std::string& last) { bpf_map_delete_elem(m.fd(), last.data()); };
  const ReadResult capped = walk.read(m.fd(), "t", 14, 56, 4096, w, {});
  EXPECT_FALSE(capped.complete);
  ASSERT_TRUE(capped.error.has_value());
  EXPECT_EQ(w.duplicates, 0U);
  EXPECT_GT(capped.restarts, MapReader::kMaxRestarts);
}

TEST_F(CiliumReader, CountersGoingBackwardsKeepTheEntryId) {
  auto& m = add(MapRole::kTcp4);
  const auto key = make_key({"10.0.0.1", 40000, "93.184.216.34", 443, 6}, 0);
  m.put(key, value_a(8, 9000, 10, 1000, 4000000000U));
  auto first = read_once(options("A"));
  ASSERT_EQ(first.raw.size(), 1U);
  // The entry was replaced by a new connection on the same tuple (or Cilium was upgraded):
  // lower counters under the same identity, which the reducer treats as a reset.
  m.put(key, value_a(1, 60, 2, 120, 4000000000U));
  CaptureSink sink;
  BatchWriter w(sink, SourceKind::kCilium, 8);
  w.begin(2);
  first.reader->read(*test_endpoints(), w, {});
  w.flush();
  ASSERT_EQ(sink.batches.size(), 1U);
  ASSERT_EQ(sink.batches[0].records.size(), 1U);
  const FlowRecord& again = sink.batches[0].records[0];
  EXPECT_EQ(again.entry_id, first.raw[0].entry_id);
  EXPECT_EQ(again.counters, (Counters{120, 2, 60, 1}));
  EXPECT_LT(again.counters.tx_bytes, first.raw[0].counters.tx_bytes);
  EXPECT_EQ(again.mode, CounterMode::kCumulative);
}

TEST_F(CiliumReader, FollowsARecreatedMap) {
  auto* m = &add(MapRole::kTcp4);
  m->put(key_n(1), value_a(1, 1, 1, 1, 4000000000U));
  auto r = read_once(options("A"));
  ASSERT_EQ(r.records.size(), 1U);
  // Cilium restarts and recreates the map (new id, other size) at the same pin.
  maps_.clear();
  TestMap::Spec spec;
  spec.max_entries = 2048;
  m = &add(MapRole::kTcp4, spec);
  fill_n(*m, 5);
  CaptureSink sink;
  BatchWriter w(sink, SourceKind::kCilium, 64);
  const ReadSummary s = r.reader->read(*test_endpoints(), w, {});
  w.flush();
  EXPECT_TRUE(s.complete);
  EXPECT_EQ(s.records, 5U);
  EXPECT_EQ(metric_value(*r.registry, "egressd_cilium_map_changes_total"), 1);
  EXPECT_EQ(
      metric_value(*r.registry, "egressd_cilium_map_max_entries", {{"map", "cilium_ct4_global"}}),
      2048);
}

TEST_F(CiliumReader, SourceThreadPublishesGenerations) {
  auto& m = add(MapRole::kTcp4);
  fill_n(m, 10);
  add(MapRole::kAny6);
  LocalEndpointsView view;
  view.set(test_endpoints());
  CaptureSink sink;
  SelfMetrics registry;
  CiliumSourceOptions o;
  o.read_interval = 100ms;
  o.reader = options("A");
  auto source = make_cilium_source(o, view, sink, registry);
  ASSERT_TRUE(source.has_value()) << source.error().message();
  EXPECT_EQ((*source)->kind(), SourceKind::kCilium);
  ASSERT_TRUE((*source)->start().has_value());
  EXPECT_FALSE((*source)->start().has_value());  // already running
  const auto markers = [&] {
    const std::lock_guard lock(sink.mutex);
    size_t n = 0;
    for (const auto& b : sink.batches) n += b.kind == RecordBatch::Kind::kReadComplete ? 1 : 0;
    return n;
  };
  EXPECT_TRUE(egressd::testing::eventually([&] { return markers() >= 3; }));
  (*source)->stop();
  (*source)->stop();  // idempotent
  ASSERT_GE(markers(), 3U);
  // Each read: its 10 records with generation g, then the marker of g; g = 1, 2, 3, ...
  uint64_t g = 1;
  size_t records = 0;
  for (const auto& b : sink.batches) {
    EXPECT_EQ(b.source, SourceKind::kCilium);
    EXPECT_EQ(b.read_generation, g);
    if (b.kind == RecordBatch::Kind::kReadComplete) {
      EXPECT_EQ(records, 10U) << "generation " << g;
      records = 0;
      ++g;
    } else {
      records += b.records.size();
    }
  }
  EXPECT_GE(metric_value(registry, "egressd_cilium_reads_total"), 3);
}

// stop() wakes the source's thread: it does not wait for the next read deadline.
TEST_F(CiliumReader, StopDoesNotWaitForTheReadInterval) {
  fill_n(add(MapRole::kTcp4), 1);
  add(MapRole::kAny6);
  LocalEndpointsView view;
  view.set(test_endpoints());
  CaptureSink sink;
  SelfMetrics registry;
  CiliumSourceOptions o;
  constexpr auto kInterval = std::chrono::seconds(600);
  o.read_interval = kInterval;
  o.reader = options("A");
  auto source = make_cilium_source(o, view, sink, registry);
  ASSERT_TRUE(source.has_value()) << source.error().message();
  ASSERT_TRUE((*source)->start().has_value());
  EXPECT_TRUE(egressd::testing::eventually([&] {
    return metric_value(registry, "egressd_cilium_reads_total") >= 1;
  })) << "no first read";
  const auto t0 = std::chrono::steady_clock::now();
  (*source)->stop();
  // Not a speed budget: a stop that waited for the deadline would take 600 s.
  EXPECT_LT(std::chrono::steady_clock::now() - t0, kInterval / 2);
  EXPECT_EQ(metric_value(registry, "egressd_cilium_reads_total"), 1);
}

}  // namespace
}  // namespace egressd::cilium::testing
