// Shared by the Cilium map tests: a per-test directory in the private bpffs, map creation by
// role, a capturing sink, one synchronous read, and metric lookups.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>

#include "bpf/cilium_bpffs.h"
#include "cilium/ct_reader.h"
#include "common/self_metrics_reader.h"
#include "egressd/batch_writer.h"

namespace egressd::cilium::testing {

class CaptureSink final : public BatchSink {
 public:
  bool push(RecordBatch&& batch) override {
    const std::lock_guard lock(mutex);
    batches.push_back(std::move(batch));
    return true;
  }
  std::mutex mutex;
  std::vector<RecordBatch> batches;
};

// "local peer proto tx_bytes/tx_packets rx_bytes/rx_packets[ merged]": records as comparable
// text ("merged": kFlowMergedDirections, the total of both directions in tx).
inline std::string describe(const FlowRecord& r) {
  std::ostringstream s;
  s << r.key.local.to_string() << " " << r.key.peer.to_string() << " " << int{r.key.proto} << " "
    << r.counters.tx_bytes << "/" << r.counters.tx_packets << " " << r.counters.rx_bytes << "/"
    << r.counters.rx_packets;
  if (r.key.merged_directions()) s << " merged";
  return s.str();
}

// The record a merged layout gives for the per-direction record `split` (describe() text): the
// same endpoints, tx = both directions summed, rx = 0.
inline std::string merged_of(const std::string& split) {
  std::istringstream in(split);
  std::string local, peer, proto, tx, rx;
  in >> local >> peer >> proto >> tx >> rx;
  const auto part = [](const std::string& bp, bool bytes) {
    const auto slash = bp.find('/');
    return std::stoull(bytes ? bp.substr(0, slash) : bp.substr(slash + 1));
  };
  std::ostringstream s;
  s << local << " " << peer << " " << proto << " " << part(tx, true) + part(rx, true) << "/"
    << part(tx, false) + part(rx, false) << " 0/0 merged";
  return s.str();
}

inline IpAddr ip(const char* text) {
  return *IpAddr::parse(text);
}

// Pods A=10.0.0.1, B=10.0.0.2, C=fd00::1; node addresses 192.168.1.10 and fd00::ff.
inline std::shared_ptr<const LocalEndpoints> test_endpoints() {
  return std::make_shared<const LocalEndpoints>(
      std::vector<IpAddr>{ip("10.0.0.1"), ip("10.0.0.2"), ip("fd00::1")},
      std::vector<IpAddr>{ip("192.168.1.10"), ip("fd00::ff")});
}

inline uint32_t now_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint32_t>(ts.tv_sec);
}

// The tests' name for the shared reader (tests/common/self_metrics_reader.h).
using egressd::testing::metric_value;

struct ReadOnce {
  std::unique_ptr<SelfMetrics> registry = std::make_unique<SelfMetrics>();
  std::unique_ptr<SourceMetrics> metrics = std::make_unique<SourceMetrics>(*registry);
  std::unique_ptr<CtReader> reader;
  ReadSummary summary;
  std::multiset<std::string> records;
  std::vector<FlowRecord> raw;
  std::optional<Error> open_error;
};

inline ReadOnce read_once(const CtReaderOptions& options,
                          std::shared_ptr<const LocalEndpoints> endpoints = test_endpoints()) {
  ReadOnce out;
  auto reader = CtReader::open(options, *out.metrics);
  if (!reader) {
    out.open_error = reader.error();
    return out;
  }
  out.reader = std::move(*reader);
  CaptureSink sink;
  BatchWriter writer(sink, SourceKind::kCilium, 64);
  writer.begin(1);
  out.summary = out.reader->read(*endpoints, writer, std::stop_token{});
  writer.flush();
  for (const RecordBatch& b : sink.batches) {
    for (const FlowRecord& r : b.records) {
      out.records.insert(describe(r));
      out.raw.push_back(r);
    }
  }
  return out;
}

// A fresh directory per test inside the private bpffs; removed with its pins afterwards.
class CiliumMapsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(bpffs_root().empty());
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    root_ = bpffs_root() + "/" + info->name();
    make_dirs(root_);
  }
  void TearDown() override {
    maps_.clear();
    remove_tree(root_);
  }

  TestMap& add(MapRole role, TestMap::Spec spec = {}, const std::string& root = "") {
    if (is_stats(role)) {
      if (spec.type == BPF_MAP_TYPE_LRU_HASH) spec.type = BPF_MAP_TYPE_LRU_PERCPU_HASH;
      if (spec.value_size == 56) spec.value_size = 32;
    }
    if (family_of(role) == Family::kIpv6 && spec.key_size == 14) spec.key_size = 38;
    maps_.push_back(std::make_unique<TestMap>(pin_path(root.empty() ? root_ : root, role), spec));
    EXPECT_TRUE(maps_.back()->ok()) << maps_.back()->error();
    return *maps_.back();
  }

  [[nodiscard]] CtReaderOptions options(const std::string& layout = "",
                                        const std::string& version = "") const {
    CtReaderOptions o;
    o.bpf_roots = {root_};
    std::optional<Layout> l;  // "A".."D" as --cilium-layout says it (config/ parses the flag)
    if (layout.size() == 1 && layout[0] >= 'A' && layout[0] <= 'D') {
      l = static_cast<Layout>(layout[0] - 'A');
    }
    o.layout = LayoutSetting{l, version};
    o.clock = ClockSetting::kKtime;
    return o;
  }

  std::string root_;
  std::vector<std::unique_ptr<TestMap>> maps_;
};

}  // namespace egressd::cilium::testing
