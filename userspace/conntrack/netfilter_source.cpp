#include "conntrack/netfilter_source.h"

#include <poll.h>
#include <unistd.h>

#include <linux/netfilter/nfnetlink.h>

#include <algorithm>
#include <system_error>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include "conntrack/dumper.h"
#include "conntrack/nl_socket.h"
#include "conntrack/record_emitter.h"
#include "conntrack/source_metrics.h"
#include "egressd/common/log.h"

namespace egressd::conntrack {

namespace {

// Each DESTROY event is its own datagram (~250 bytes); bound the work of one wake-up so the dump
// schedule and stop() are never starved by an event storm.
constexpr size_t kEventBufferBytes = size_t{16} * 1024;
constexpr size_t kMaxEventDatagramsPerWakeup = 4096;

class NetfilterSource final : public Source {
 public:
  NetfilterSource(const NetfilterSourceOptions& options, const LocalEndpointsView& endpoints,
                  BatchSink& sink, SelfMetrics& metrics, Dumper dumper, NlSocket events,
                  int wake_fd)
      : options_(options),
        endpoints_(endpoints),
        metrics_(metrics),
        emitter_(sink, metrics_, options.batch_records),
        dumper_(std::move(dumper)),
        events_(std::move(events)),
        event_buffer_(kEventBufferBytes),
        wake_fd_(wake_fd) {}

  NetfilterSource(const NetfilterSource&) = delete;
  NetfilterSource& operator=(const NetfilterSource&) = delete;

  ~NetfilterSource() override {
    stop();
    ::close(wake_fd_);
  }

  [[nodiscard]] SourceKind kind() const noexcept override { return SourceKind::kNetfilter; }

  Status start() override {
    if (thread_.joinable()) return fail(Errc::kInternal, "netfilter source: already started");
    refresh_accounting();
    thread_ = std::jthread([this](const std::stop_token& stop) { run(stop); });
    return {};
  }

  void stop() override {
    if (!thread_.joinable()) return;
    thread_.request_stop();
    const uint64_t one = 1;
    (void)!::write(wake_fd_, &one, sizeof(one));
    thread_.join();
  }

 private:
  void run(const std::stop_token& stop) noexcept;
  // One full read of generation `generation_`; returns true if events overflowed meanwhile.
  bool dump_once(const std::stop_token& stop);
  // Reads queued DESTROY events as final records of `generation`; returns false on ENOBUFS.
  bool read_events(uint64_t generation);
  void refresh_accounting();

  NetfilterSourceOptions options_;
  const LocalEndpointsView& endpoints_;
  SourceMetrics metrics_;
  RecordEmitter emitter_;
  Dumper dumper_;
  NlSocket events_;
  std::vector<uint8_t> event_buffer_;
  int wake_fd_;
  // Number of the dump in progress or next; final records carry it (flow.h).
  uint64_t generation_ = 1;
  log::RateLimit dump_log_{std::chrono::seconds(30)};
  log::RateLimit event_log_{std::chrono::seconds(10)};
  log::RateLimit acct_log_{std::chrono::minutes(5)};
  std::jthread thread_;  // last: joined before the members it uses go away
};

void NetfilterSource::run(const std::stop_token& stop) noexcept {
  auto next_dump = options_.clock->now();
  bool resync = false;
  while (!stop.stop_requested()) {
    const auto now = options_.clock->now();
    if (resync || now >= next_dump) {
      resync = dump_once(stop);
      // Keep the cadence of the deadlines; a dump longer than the interval pushes the next one
      // a full interval past its end rather than dumping back to back.
      next_dump += options_.read_interval;
      if (const auto end = options_.clock->now(); next_dump < end)
        next_dump = end + options_.read_interval;
      continue;
    }
    const auto wait = std::chrono::ceil<std::chrono::milliseconds>(next_dump - now);
    std::array<pollfd, 2> fds{{{events_.fd(), POLLIN, 0}, {wake_fd_, POLLIN, 0}}};
    const int ready =
        ::poll(fds.data(), fds.size(), static_cast<int>(std::min<int64_t>(wait.count(), 60'000)));
    metrics_.wakeups.inc();
    if (ready <= 0) continue;  // deadline, or EINTR
    if ((fds[1].revents & POLLIN) != 0) {
      // stop() woke us: the loop condition ends it. Reset the eventfd so a later start() does
      // not find it readable and spin.
      uint64_t count = 0;
      (void)!::read(wake_fd_, &count, sizeof(count));
      continue;
    }
    if ((fds[0].revents & (POLLIN | POLLERR)) != 0 && !read_events(generation_)) resync = true;
  }
}

bool NetfilterSource::dump_once(const std::stop_token& stop) {
  const uint64_t generation = generation_;
  refresh_accounting();
  emitter_.begin(endpoints_.get(), generation);
  metrics_.dumps.inc();
  const auto start = options_.clock->now();
  // AF_UNSPEC walks the table once for both families (ctnetlink_start() installs no family filter
  // for it); one dump per family walks it twice (docs/conntrack.md has the measurement).
  const DumpOutcome out = dumper_.dump(AF_UNSPEC, emitter_, stop);
  emitter_.flush();
  metrics_.dump_duration.set(std::chrono::duration<double>(options_.clock->now() - start).count());
  metrics_.dropped_parse_error.inc(out.walk.parse_errors);
  if (stop.stop_requested()) return false;

  // Events that raced with this dump (an entry destroyed before the dump reached it, or reaped
  // by the dump itself, ctnetlink_dump_table() -> nf_ct_kill()) are in the socket now: hand them
  // on with this generation, before the completion marker, so the reducer sees the final totals
  // of an entry before it would release it as vanished.
  const bool overflow = !read_events(generation);

  if (out.complete()) {
    emitter_.read_complete(generation);
    metrics_.entries.set(static_cast<double>(out.walk.entries));
    spdlog::debug("conntrack dump {}: {} entries in {} datagrams ({} bytes)", generation,
                  out.walk.entries, out.datagrams, out.bytes);
  } else {
    if (out.walk.interrupted) {
      metrics_.dumps_interrupted.inc();
    } else {
      metrics_.dump_errors.inc();
    }
    if (uint64_t suppressed = 0; dump_log_.allow(suppressed)) {
      const std::string why =
          out.failure            ? out.failure->message()
          : out.walk.interrupted ? std::string("interrupted (NLM_F_DUMP_INTR)")
          : out.walk.error != 0
              ? fmt::format("kernel error: {}", std::generic_category().message(out.walk.error))
          : out.walk.parse_errors != 0 ? fmt::format("{} unparsable entries", out.walk.parse_errors)
                                       : std::string("ended early");
      spdlog::warn("conntrack dump {} incomplete ({} entries read): {} (+{} similar)", generation,
                   out.walk.entries, why, suppressed);
    }
  }
  generation_ = generation + 1;
  return overflow;
}

bool NetfilterSource::read_events(uint64_t generation) {
  emitter_.begin(endpoints_.get(), generation);
  bool overflow = false;
  for (size_t i = 0; i < kMaxEventDatagramsPerWakeup; ++i) {
    auto got = events_.recv(event_buffer_);
    if (!got) {
      if (got.error().sys_errno() == ENOBUFS) {
        // The kernel dropped events for this socket. NETLINK_NO_ENOBUFS should keep this from
        // being reported at all; if a kernel reports it anyway: counted, and a dump
        // resynchronizes the totals. Keep draining.
        metrics_.event_overflows.inc();
        overflow = true;
        if (uint64_t suppressed = 0; event_log_.allow(suppressed)) {
          spdlog::warn(
              "conntrack events overflowed (ENOBUFS): destroy events lost, resync dump "
              "(+{} similar)",
              suppressed);
        }
        continue;
      }
      if (uint64_t suppressed = 0; event_log_.allow(suppressed)) {
        spdlog::warn("{} (+{} similar)", got.error().message(), suppressed);
      }
      break;
    }
    if (got->foreign) {
      metrics_.foreign_messages.inc();
      continue;
    }
    if (got->bytes == 0) break;
    const WalkResult w = walk_messages(std::span<const uint8_t>(event_buffer_.data(), got->bytes),
                                       WalkOptions{}, emitter_);
    metrics_.dropped_parse_error.inc(w.parse_errors);
  }
  emitter_.flush();
  return !overflow;
}

void NetfilterSource::refresh_accounting() {
  const auto enabled = accounting_enabled();
  metrics_.accounting_enabled.set(enabled && *enabled ? 1.0 : 0.0);
  if (enabled && *enabled) return;
  if (uint64_t suppressed = 0; acct_log_.allow(suppressed)) {
    if (!enabled) {
      spdlog::warn("conntrack: {}", enabled.error().message());
    } else {
      spdlog::warn(
          "net.netfilter.nf_conntrack_acct is 0: conntrack entries carry no byte "
          "counters and produce no records (run `egressd init`)");
    }
  }
}

}  // namespace

Result<std::unique_ptr<Source>> make_netfilter_source(const NetfilterSourceOptions& options,
                                                      const LocalEndpointsView& endpoints,
                                                      BatchSink& sink, SelfMetrics& metrics) {
  if (options.read_interval <= std::chrono::milliseconds(0)) {
    return fail(Errc::kInvalidArgument, "netfilter source: read interval must be positive");
  }
  if (options.batch_records == 0) {
    return fail(Errc::kInvalidArgument, "netfilter source: batch_records must be positive");
  }
  auto dumper = Dumper::open();
  if (!dumper) return std::unexpected(std::move(dumper.error()));
  auto stats = dumper->table_stats();
  if (!stats) return std::unexpected(std::move(stats.error()));

  auto events = NlSocket::open("conntrack event socket");
  if (!events) return std::unexpected(std::move(events.error()));
  // Reliable destroy events (what conntrackd does): with NETLINK_BROADCAST_ERROR a failed
  // delivery makes ctnetlink_conntrack_event() fail, and the kernel keeps the entry and
  // redelivers its DESTROY event later (nf_conntrack_ecache.c); NETLINK_NO_ENOBUFS stops the
  // socket from reporting ENOBUFS for what will be redelivered. Measured: a plain subscription
  // loses events in bursts even with a 64 MB buffer (shared/reference/conntrack-netlink.md).
  if (auto st = events->enable_netlink_option(NETLINK_BROADCAST_ERROR, "NETLINK_BROADCAST_ERROR");
      !st) {
    return std::unexpected(std::move(st.error()));
  }
  if (auto st = events->enable_netlink_option(NETLINK_NO_ENOBUFS, "NETLINK_NO_ENOBUFS"); !st) {
    return std::unexpected(std::move(st.error()));
  }
  auto rcvbuf = events->set_receive_buffer(options.event_rcvbuf_bytes);
  if (!rcvbuf) return std::unexpected(std::move(rcvbuf.error()));
  if (auto st = events->subscribe(NFNLGRP_CONNTRACK_DESTROY); !st) {
    return std::unexpected(std::move(st.error()));
  }
  const int wake_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd < 0) return fail_errno("netfilter source: eventfd");
  spdlog::info(
      "conntrack: {} entries (max {}); dump every {} ms, destroy events with a {} byte "
      "receive buffer",
      stats->entries, stats->max_entries, options.read_interval.count(), *rcvbuf);
  return std::make_unique<NetfilterSource>(options, endpoints, sink, metrics, std::move(*dumper),
                                           std::move(*events), wake_fd);
}

}  // namespace egressd::conntrack
