#include "cilium/cilium_source.h"

#include <condition_variable>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "egressd/batch_writer.h"
#include "egressd/common/log.h"

namespace egressd::cilium {

namespace {

class CiliumSource final : public Source {
 public:
  CiliumSource(const CiliumSourceOptions& options, const LocalEndpointsView& endpoints,
               BatchSink& sink, std::unique_ptr<SourceMetrics> metrics,
               std::unique_ptr<CtReader> reader)
      : options_(options),
        endpoints_(endpoints),
        metrics_(std::move(metrics)),
        reader_(std::move(reader)),
        writer_(sink, SourceKind::kCilium, options.batch_records) {}

  CiliumSource(const CiliumSource&) = delete;
  CiliumSource& operator=(const CiliumSource&) = delete;
  ~CiliumSource() override { stop(); }

  [[nodiscard]] SourceKind kind() const noexcept override { return SourceKind::kCilium; }

  Status start() override {
    if (thread_.joinable()) return fail(Errc::kInternal, "cilium source: already started");
    thread_ = std::jthread([this](const std::stop_token& stop) { run(stop); });
    return {};
  }

  void stop() override {
    if (!thread_.joinable()) return;
    thread_.request_stop();
    {
      const std::lock_guard lock(mutex_);  // no lost wake-up between the check and the wait
    }
    wake_.notify_all();
    thread_.join();
  }

 private:
  void run(const std::stop_token& stop) noexcept {
    const Clock& clock = *options_.clock;
    auto next = clock.now();
    while (!stop.stop_requested()) {
      read_once(stop);
      // Keep the cadence; a read longer than the interval pushes the next one a full interval
      // past its end rather than reading back to back.
      next += options_.read_interval;
      if (const auto end = clock.now(); next < end) next = end + options_.read_interval;
      std::unique_lock lock(mutex_);
      wake_.wait_for(lock, stop, next - clock.now(), [] { return false; });
    }
  }

  void read_once(const std::stop_token& stop) {
    const uint64_t generation = generation_;
    writer_.begin(generation);
    const auto endpoints = endpoints_.get();
    const ReadSummary s = reader_->read(*endpoints, writer_, stop);
    if (stop.stop_requested()) return;
    if (s.complete) {
      writer_.read_complete(generation);
      spdlog::debug("cilium read {}: {} entries, {} records", generation, s.entries, s.records);
    } else if (uint64_t suppressed = 0; read_log_.allow(suppressed)) {
      spdlog::warn("cilium read {} incomplete ({} entries read): {} (+{} similar)", generation,
                   s.entries, s.error ? s.error->message() : std::string("stopped"), suppressed);
    }
    generation_ = generation + 1;
  }

  CiliumSourceOptions options_;
  const LocalEndpointsView& endpoints_;
  std::unique_ptr<SourceMetrics> metrics_;
  std::unique_ptr<CtReader> reader_;
  BatchWriter writer_;
  uint64_t generation_ = 1;
  log::RateLimit read_log_{std::chrono::seconds(30)};
  std::mutex mutex_;
  std::condition_variable_any wake_;
  std::jthread thread_;  // last: joined before the members it uses go away
};

}  // namespace

Result<CiliumSourceOptions> make_options(const CiliumSettings& settings) {
  CiliumSourceOptions o;
  o.read_interval = settings.read_interval;
  if (!settings.bpf_root.empty()) o.reader.bpf_roots = {settings.bpf_root};
  o.reader.layout = LayoutSetting{settings.layout, settings.version};
  o.reader.clock = settings.clock;
  return o;
}

std::optional<std::string> find_cilium_maps(const std::vector<std::string>& roots) {
  return find_root(roots.empty() ? default_bpf_roots() : roots);
}

Result<std::unique_ptr<Source>> make_cilium_source(const CiliumSourceOptions& options,
                                                   const LocalEndpointsView& endpoints,
                                                   BatchSink& sink, SelfMetrics& metrics) {
  if (options.read_interval <= std::chrono::milliseconds(0)) {
    return fail(Errc::kInvalidArgument, "cilium source: read interval must be positive");
  }
  if (options.batch_records == 0) {
    return fail(Errc::kInvalidArgument, "cilium source: batch_records must be positive");
  }
  auto own_metrics = std::make_unique<SourceMetrics>(metrics);
  auto reader = CtReader::open(options.reader, *own_metrics);
  if (!reader) return std::unexpected(std::move(reader.error()).wrap("cilium source"));
  std::string families;
  for (const Family f : {Family::kIpv4, Family::kIpv6}) {
    const bool any = f == Family::kIpv4
                         ? (*reader)->has_map(MapRole::kTcp4) || (*reader)->has_map(MapRole::kAny4)
                         : (*reader)->has_map(MapRole::kTcp6) || (*reader)->has_map(MapRole::kAny6);
    if (!any) continue;
    families += fmt::format(
        "{}{} ({})", families.empty() ? "" : ", ", f == Family::kIpv4 ? "IPv4" : "IPv6",
        (*reader)->stats_mode(f) ? "counters from the stats map" : "counters from the CT entries");
  }
  spdlog::info("cilium: reading conntrack maps under {}/tc/globals every {} ms: {}",
               (*reader)->root(), options.read_interval.count(), families);
  return std::make_unique<CiliumSource>(options, endpoints, sink, std::move(own_metrics),
                                        std::move(*reader));
}

}  // namespace egressd::cilium
