// The Cilium conntrack source: on clusters whose CNI is Cilium, pod traffic bypasses netfilter
// conntrack and Cilium tracks it in pinned BPF maps. Every read interval this source reads those
// maps (batched lookups) and pushes cumulative records, then a kReadComplete marker when every
// map was read to its end (docs/cilium.md, docs/pipeline.md).
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "cilium/ct_reader.h"
#include "egressd/common/clock.h"
#include "egressd/common/error.h"
#include "egressd/common/self_metrics.h"
#include "egressd/local_endpoints.h"
#include "egressd/source.h"

namespace egressd::cilium {

struct CiliumSourceOptions {
  std::chrono::milliseconds read_interval{5000};
  size_t batch_records = 4096;  // records per RecordBatch pushed to the sink
  CtReaderOptions reader;
  const Clock* clock = &system_clock();  // the read schedule's time; must outlive the source
};

// Opens and validates every map at once, so a missing capability, an unknown layout or a foreign
// map fails at start-up with one clear error, not on the reader thread.
[[nodiscard]] Result<std::unique_ptr<Source>> make_cilium_source(
    const CiliumSourceOptions& options, const LocalEndpointsView& endpoints, BatchSink& sink,
    SelfMetrics& metrics);

// The agent's settings of this source (config::Config fields, parsed there), turned into options.
struct CiliumSettings {
  std::chrono::milliseconds read_interval{5000};
  std::string bpf_root;                      // --bpf-root; empty: the defaults
  std::string version;                       // --cilium-version
  std::optional<Layout> layout;              // --cilium-layout
  ClockSetting clock = ClockSetting::kAuto;  // --cilium-clock
};
[[nodiscard]] Result<CiliumSourceOptions> make_options(const CiliumSettings& settings);

// For --ct-mode auto: the bpffs root holding Cilium's conntrack map pins, if any
// (`roots` empty: /sys/fs/bpf, then /run/cilium/bpffs). Only looks at paths; opens nothing.
[[nodiscard]] std::optional<std::string> find_cilium_maps(const std::vector<std::string>& roots);

}  // namespace egressd::cilium
