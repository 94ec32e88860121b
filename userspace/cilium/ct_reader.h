// CtReader: one full read of Cilium's conntrack maps into FlowRecords — the work of one read
// interval of the Cilium source, without its thread (tests and the benchmark call it directly).
//
// At open it finds the bpffs root, opens every pin read-only, validates each map and picks its
// layout (BTF, else the setting, else one clear error). At every read it re-checks the pins (a
// Cilium restart may have recreated a map), reads each map with batch lookups, parses, orients
// and hands records to a BatchWriter. Per family, counters come from cilium_ct_stats4/6 when that
// map exists (per-direction), else from the CT maps' values (per-direction in layout A, merged in
// B-D: those are not exported, docs/cilium.md).
#pragma once

#include <array>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "cilium/layout.h"
#include "cilium/lifetime.h"
#include "cilium/map_reader.h"
#include "cilium/maps.h"
#include "cilium/orientation.h"
#include "cilium/source_metrics.h"
#include "egressd/batch_writer.h"
#include "egressd/local_endpoints.h"

namespace egressd::cilium {

struct CtReaderOptions {
  std::vector<std::string> bpf_roots;  // empty: /sys/fs/bpf, then /run/cilium/bpffs
  LayoutSetting layout;                // --cilium-layout / --cilium-version
  ClockSetting clock = ClockSetting::kAuto;
  ReadMethod read_method = ReadMethod::kAuto;
  uint32_t lookup_batch = 4096;  // entries per BPF_MAP_LOOKUP_BATCH call (grows on ENOSPC)
  bool use_stats_maps = true;    // take per-direction counters from cilium_ct_stats4/6
};

inline constexpr size_t kOutcomes = 9;
static_assert(static_cast<size_t>(Outcome::kInitiatorReports) + 1 == kOutcomes,
              "one slot per Outcome");

struct ReadSummary {
  bool complete = false;  // every present map was read to its end
  size_t entries = 0;
  size_t records = 0;
  std::array<size_t, kOutcomes> outcomes{};  // by Outcome
  std::array<size_t, kMapRoles> map_entries{};
  size_t eligible = 0;          // OUT and IN entries
  size_t eligible_counted = 0;  // ... with a non-zero counter
  size_t expired = 0;           // CT entries past their lifetime
  size_t in_entries = 0;        // IN entries read from CT values (layout plausibility)
  size_t in_implausible = 0;    // ... that the configured layout cannot have produced
  size_t restarts = 0;
  size_t grows = 0;
  std::optional<Error> error;  // the first problem of an incomplete read

  [[nodiscard]] size_t count(Outcome o) const { return outcomes[static_cast<size_t>(o)]; }
};

class CtReader {
 public:
  static Result<std::unique_ptr<CtReader>> open(const CtReaderOptions& options,
                                                SourceMetrics& metrics);
  ~CtReader();
  CtReader(const CtReader&) = delete;
  CtReader& operator=(const CtReader&) = delete;

  // Reads every map once; records carry `writer`'s generation. Updates the metrics.
  ReadSummary read(const LocalEndpoints& endpoints, BatchWriter& writer,
                   const std::stop_token& stop);

  [[nodiscard]] const std::string& root() const noexcept { return root_; }
  // The layout used for `role`'s values, if known (CT maps).
  [[nodiscard]] std::optional<LayoutChoice> layout(MapRole role) const;
  [[nodiscard]] bool has_map(MapRole role) const;
  // Whether the records of a family come from the stats map.
  [[nodiscard]] bool stats_mode(Family family) const;
  [[nodiscard]] std::optional<ClockSource> clock() const noexcept { return clock_; }
  [[nodiscard]] uint32_t hz() const noexcept { return hz_; }

 private:
  struct Slot {
    std::optional<OpenMap> map;
    std::optional<LayoutChoice> layout;  // CT maps
    std::optional<Error> layout_error;   // why the layout is unknown (used if it is needed)
    Gauge* layout_gauge = nullptr;       // egressd_cilium_layout_info{map,layout,origin}
  };
  class Visitor;

  CtReader(const CtReaderOptions& options, SourceMetrics& metrics, std::string root);
  Status open_all();
  // Opens or re-opens the pin of `role`; `changed` is set if the map is new, gone or replaced.
  Status refresh(MapRole role, bool& changed);
  Status adopt(MapRole role, std::optional<OpenMap> map);
  void update_clock(const std::vector<uint32_t>& sample, uint64_t mono_ns, uint64_t jiffies);
  void publish(const ReadSummary& s, double seconds);

  CtReaderOptions options_;
  SourceMetrics& metrics_;
  std::string root_;
  std::array<Slot, kMapRoles> slots_;
  MapReader reader_;
  unsigned cpus_ = 1;
  uint32_t hz_ = 0;  // 0: unknown
  std::optional<ClockSource> clock_;
  bool clock_logged_ = false;
  int last_accounting_ = -2;  // last logged state (-1 unknown, 0 off, 1 on)
  int last_per_direction_ = -1;
  bool last_suspect_ = false;
};

}  // namespace egressd::cilium
