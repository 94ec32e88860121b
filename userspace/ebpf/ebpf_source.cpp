#include "ebpf/ebpf_source.h"

#include <poll.h>

#include <array>
#include <thread>

#include <sys/eventfd.h>

#include "ebpf/features.h"
#include "ebpf/flow_object.h"
#include "ebpf/flow_reader.h"
#include "ebpf/link_monitor.h"
#include "ebpf/orientation.h"
#include "ebpf/source_metrics.h"
#include "egressd/batch_writer.h"
#include "egressd/common/log.h"
#include "loader/links.h"

namespace egressd::ebpf {

namespace {

// Orients every drained key into records and batches them.
class RecordVisitor final : public FlowReader::Visitor {
 public:
  RecordVisitor(const LocalEndpoints& local, BatchWriter& writer)
      : local_(local), writer_(writer) {}
  void flow(const egressd_flow_key& key, const egressd_flow_counters& counters) override {
    std::array<FlowRecord, 2> out;
    const uint8_t n = orient(key, counters, local_, out);
    for (uint8_t i = 0; i < n; ++i) writer_.add(out[i]);
    if (n == 0) ++transit;
    ++read;
  }
  uint64_t read = 0;
  uint64_t transit = 0;

 private:
  const LocalEndpoints& local_;
  BatchWriter& writer_;
};

double seconds(std::chrono::nanoseconds d) {
  return std::chrono::duration<double>(d).count();
}

class EbpfSource final : public Source {
 public:
  EbpfSource(const EbpfSourceOptions& options, const LocalEndpointsView& endpoints, BatchSink& sink,
             SelfMetrics& metrics, std::unique_ptr<FlowObject> object,
             std::unique_ptr<FlowReader> reader, AttachMode mode, UniqueFd stop_fd)
      : options_(options),
        endpoints_(endpoints),
        metrics_(metrics),
        object_(std::move(object)),
        reader_(std::move(reader)),
        mode_(mode),
        attacher_(mode, object_->tc_ethernet_fd(), object_->tc_l3_fd(), metrics),
        writer_(sink, SourceKind::kEbpf, options.batch_records),
        stop_fd_(std::move(stop_fd)) {
    metrics_.map_capacity.set(static_cast<double>(object_->map_entries()));
  }

  ~EbpfSource() override {
    stop();
    // Detach before the programs go: TC links, then the netfilter hooks.
    attacher_.clear();
    local_in_.clear();
  }

  Status attach(int32_t priority) {
    for (const uint32_t pf : {loader::kNfProtoIpv4, loader::kNfProtoIpv6}) {
      auto link =
          loader::netfilter_attach(object_->local_in_fd(), pf, loader::kNfInetLocalIn, priority);
      if (!link) return std::unexpected(std::move(link.error()));
      local_in_.push_back(std::move(*link));
    }
    auto monitor = LinkMonitor::open();
    if (!monitor) return std::unexpected(std::move(monitor.error()));
    monitor_ = std::move(*monitor);
    auto links = monitor_->dump();
    if (!links) return std::unexpected(std::move(links.error()));
    // One odd interface the program cannot attach to (logged and counted by the attacher) does
    // not sink the source; no permission, or no interface attached at all, does.
    if (auto st = attacher_.reconcile(*links);
        !st && (st.error().code() == Errc::kPermission || attacher_.attached() == 0)) {
      return st;
    }
    spdlog::info(
        "ebpf: flow programs on netfilter LOCAL_IN (IPv4, IPv6) and {} egress of {} "
        "of {} interfaces",
        attach_mode_name(mode_), attacher_.attached(), links->size());
    return {};
  }

  [[nodiscard]] SourceKind kind() const noexcept override { return SourceKind::kEbpf; }

  Status start() override {
    if (thread_.joinable()) return fail(Errc::kInternal, "ebpf source already running");
    uint64_t drain = 0;
    while (::read(stop_fd_.get(), &drain, sizeof(drain)) > 0) {
    }
    thread_ = std::jthread([this](const std::stop_token& token) { run(token); });
    return {};
  }

  void stop() override {
    if (!thread_.joinable()) return;
    thread_.request_stop();
    const uint64_t one = 1;
    (void)!::write(stop_fd_.get(), &one, sizeof(one));
    thread_.join();
  }

 private:
  void run(const std::stop_token& token) noexcept {
    const Clock& clock = *options_.clock;
    auto next_read = clock.now() + options_.read_interval;
    while (!token.stop_requested()) {
      const auto now = clock.now();
      if (now >= next_read) {
        read_once();
        next_read += options_.read_interval;
        if (const auto end = clock.now(); next_read <= end)
          next_read = end + options_.read_interval;
        continue;
      }
      const auto wait =
          std::chrono::duration_cast<std::chrono::milliseconds>(next_read - now).count() + 1;
      std::array<pollfd, 2> fds{{{monitor_->fd(), POLLIN, 0}, {stop_fd_.get(), POLLIN, 0}}};
      // POLLERR too: lost notifications (ENOBUFS) are reported as a socket error.
      if (::poll(fds.data(), fds.size(), static_cast<int>(wait)) > 0 &&
          (fds[0].revents & (POLLIN | POLLERR)) != 0) {
        follow_links();
      }
    }
    read_once();  // the last partial interval
  }

  void follow_links() {
    auto events = monitor_->read_events();
    if (!events) {
      if (events.error().code() == Errc::kResource) {
        metrics_.link_resyncs.inc();
        spdlog::warn("ebpf: {}; re-reading the interfaces", events.error().message());
        if (auto links = monitor_->dump(); links) {
          // A lost DELLINK may hide a reused ifindex: start over from the dump.
          attacher_.clear();
          if (auto st = attacher_.reconcile(*links); !st) {
            // Counted and logged (rate-limited) by the attacher; the next event retries.
          }
        }
        return;
      }
      uint64_t suppressed = 0;
      if (link_log_.allow(suppressed)) {
        spdlog::warn("ebpf: reading link notifications: {}", events.error().message());
      }
      return;
    }
    for (const auto& ev : *events) {
      if (ev.removed) {
        attacher_.remove(ev.link.ifindex);
      } else {
        if (auto st = attacher_.add(ev.link); !st) {
          // Counted and logged (rate-limited) by the attacher.
        }
      }
    }
  }

  void read_once() {
    const auto local = endpoints_.get();
    writer_.begin(++generation_);
    RecordVisitor visitor(*local, writer_);
    auto result = reader_->drain(visitor);
    writer_.flush();
    metrics_.reads.inc();
    metrics_.records_read.inc(visitor.read);
    metrics_.dropped_transit.inc(visitor.transit);
    if (!result) {
      metrics_.read_errors.inc();
      uint64_t suppressed = 0;
      if (read_log_.allow(suppressed)) {
        spdlog::error("ebpf: {} ({} similar suppressed)", result.error().message(), suppressed);
      }
    } else {
      metrics_.map_entries.set(static_cast<double>(result->entries));
      metrics_.read_duration.set(seconds(result->read_time));
      metrics_.switch_duration.set(seconds(result->switch_time));
    }
    if (auto stats = reader_->stats(); stats) {
      const uint64_t lost_before = metrics_.kernel[EGRESSD_FLOW_STAT_LOST_PACKETS]->value();
      const uint64_t full_before = metrics_.kernel[EGRESSD_FLOW_STAT_MAP_FULL]->value();
      metrics_.add_kernel_stats(*stats);
      const uint64_t lost = metrics_.kernel[EGRESSD_FLOW_STAT_LOST_PACKETS]->value() - lost_before;
      const uint64_t full = metrics_.kernel[EGRESSD_FLOW_STAT_MAP_FULL]->value() - full_before;
      uint64_t suppressed = 0;
      if ((lost > 0 || full > 0) && full_log_.allow(suppressed)) {
        spdlog::warn(
            "ebpf: flow buffer full ({} keys): {} packets via the overflow ring, {} "
            "lost (ring full); raise --ebpf-map-entries",
            object_->map_entries(), full, lost);
      }
    }
  }

  EbpfSourceOptions options_;
  const LocalEndpointsView& endpoints_;
  SourceMetrics metrics_;
  std::unique_ptr<FlowObject> object_;
  std::unique_ptr<FlowReader> reader_;
  AttachMode mode_ = AttachMode::kTcx;
  InterfaceAttacher attacher_;
  std::vector<UniqueFd> local_in_;
  std::optional<LinkMonitor> monitor_;
  BatchWriter writer_;
  UniqueFd stop_fd_;
  uint64_t generation_ = 0;
  log::RateLimit read_log_{std::chrono::seconds(10)};
  log::RateLimit link_log_{std::chrono::seconds(10)};
  log::RateLimit full_log_{std::chrono::seconds(10)};
  std::jthread thread_;
};

}  // namespace

Result<std::unique_ptr<Source>> make_ebpf_source(const EbpfSourceOptions& options,
                                                 const LocalEndpointsView& endpoints,
                                                 BatchSink& sink, SelfMetrics& metrics) {
  auto mode = probe_mode();
  if (!mode) return std::unexpected(std::move(mode.error()));
  const AttachMode attach = options.attach_mode.value_or(mode->attach);
  FlowObjectOptions object_options;
  object_options.map_entries = options.map_entries;
  auto object = FlowObject::load(object_options);
  if (!object) return std::unexpected(std::move(object.error()));
  auto reader = FlowReader::create(**object);
  if (!reader) return std::unexpected(std::move(reader.error()));
  UniqueFd stop_fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!stop_fd) return fail_errno("creating the ebpf source's eventfd");
  auto source = std::make_unique<EbpfSource>(options, endpoints, sink, metrics, std::move(*object),
                                             std::move(*reader), attach, std::move(stop_fd));
  if (auto st = source->attach(options.local_in_priority); !st) {
    return std::unexpected(std::move(st.error()).wrap("attaching the flow programs"));
  }
  metrics
      .gauge("egressd_ebpf_mode_info",
             "The eBPF source's hooks (value 1): TC egress attachment, input hook, NAT view.",
             {{"attach", std::string(attach_mode_name(attach))},
              {"input", "netfilter_local_in"},
              {"nat", "skb_conntrack"}})
      .set(1);
  return std::unique_ptr<Source>(std::move(source));
}

}  // namespace egressd::ebpf
