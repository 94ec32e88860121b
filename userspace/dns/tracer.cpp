#include "dns/tracer.h"

#include <fcntl.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/magic.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <thread>

#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/statfs.h>

#include "egressd/common/mountinfo.h"
#include "egressd/common/unique_fd.h"
#include "loader/libbpf_support.h"
#include "loader/per_cpu.h"
#include "loader/skeleton.h"

#include "dns.skel.h"

namespace egressd::dns {

namespace {

using KernelStats = std::array<uint64_t, EGRESSD_DNS_STAT_MAX>;

constexpr const char* kCapturedHelp =
    "Packets from the DNS port the DNS tracer's program copied to its ring buffer, by transport.";

}  // namespace

struct DnsTracer::Impl {
  Impl(NameCache& cache, ScopeFn scope, SelfMetrics& metrics, const DnsTracerOptions& options,
       const Clock& clk)
      : handler(cache, std::move(scope), metrics, options.tcp),
        clock(clk),
        stats_interval(options.stats_interval) {
    kernel[EGRESSD_DNS_STAT_UDP] =
        &metrics.counter("egressd_dns_captured_total", kCapturedHelp, {{"transport", "udp"}});
    kernel[EGRESSD_DNS_STAT_TCP] =
        &metrics.counter("egressd_dns_captured_total", kCapturedHelp, {{"transport", "tcp"}});
    kernel[EGRESSD_DNS_STAT_CUT] =
        &metrics.counter("egressd_dns_captures_cut_total",
                         "DNS packets longer than the capture limit (2048 bytes): copied in part.");
    kernel[EGRESSD_DNS_STAT_RING_FULL] = &metrics.counter(
        "egressd_dns_ring_lost_total",
        "DNS packets the program could not copy because the ring buffer was full: lost.");
    kernel[EGRESSD_DNS_STAT_MALFORMED] = &metrics.counter(
        "egressd_dns_packets_malformed_total",
        "Packets from the DNS port with inconsistent UDP/TCP headers, skipped by the program.");
    kernel[EGRESSD_DNS_STAT_LOAD_ERROR] =
        &metrics.counter("egressd_dns_load_errors_total",
                         "DNS packets whose payload the program could not read, skipped.");
    ring_records = &metrics.counter("egressd_dns_ring_records_total",
                                    "Records read from the DNS tracer's ring buffer.");
  }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
  ~Impl() {
    if (ring != nullptr) ring_buffer__free(ring);
    if (link != nullptr) bpf_link__destroy(link);
  }

  void run(const std::stop_token& token) noexcept;
  void poll_stats();

  ResponseHandler handler;
  const Clock& clock;
  std::chrono::milliseconds stats_interval;
  std::optional<loader::Skeleton<::dns>> skel;
  bpf_link* link = nullptr;
  ring_buffer* ring = nullptr;
  UniqueFd epoll;
  UniqueFd wake;
  std::string cgroup;
  std::array<Counter*, EGRESSD_DNS_STAT_MAX> kernel{};
  Counter* ring_records = nullptr;
  KernelStats last{};
  std::jthread thread;
  log::RateLimit error_limit{std::chrono::seconds(60)};
};

void DnsTracer::Impl::poll_stats() {
  const uint32_t key = 0;
  auto raw = loader::lookup_percpu(bpf_map__fd(skel->get()->maps.egressd_dns_stats), &key,
                                   sizeof(egressd_dns_stats));
  if (!raw) return;
  const auto sum = loader::sum_per_cpu<egressd_dns_stats>(*raw);
  KernelStats now{};
  std::copy(std::begin(sum.value), std::end(sum.value), now.begin());
  for (size_t i = 0; i < now.size(); ++i) {
    if (kernel[i] != nullptr && now[i] > last[i]) kernel[i]->inc(now[i] - last[i]);
  }
  if (now[EGRESSD_DNS_STAT_RING_FULL] > last[EGRESSD_DNS_STAT_RING_FULL]) {
    uint64_t suppressed = 0;
    if (error_limit.allow(suppressed)) {
      spdlog::warn("dns tracer: ring buffer full, {} responses lost (names may be missing)",
                   now[EGRESSD_DNS_STAT_RING_FULL] - last[EGRESSD_DNS_STAT_RING_FULL]);
    }
  }
  last = now;
}

void DnsTracer::Impl::run(const std::stop_token& token) noexcept {
  auto next_stats = clock.now();
  std::array<epoll_event, 2> events{};
  while (!token.stop_requested()) {
    const int n = ::epoll_wait(epoll.get(), events.data(), static_cast<int>(events.size()),
                               static_cast<int>(stats_interval.count()));
    if (n < 0 && errno != EINTR) {
      spdlog::error("dns tracer: epoll_wait: {}", fail_errno("epoll_wait").error().message());
      return;
    }
    if (const int rc = ring_buffer__consume(ring); rc < 0) {
      uint64_t suppressed = 0;
      if (error_limit.allow(suppressed)) {
        spdlog::warn("dns tracer: reading the ring buffer: {}",
                     fail_errno("ring_buffer__consume", -rc).error().message());
      }
    }
    if (const auto now = clock.now(); now >= next_stats) {
      poll_stats();
      handler.expire(now);
      next_stats = now + stats_interval;
    }
  }
  (void)ring_buffer__consume(ring);  // what arrived before the stop
  poll_stats();
}

DnsTracer::DnsTracer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

DnsTracer::~DnsTracer() {
  stop();
}

void DnsTracer::stop() {
  if (!impl_) return;
  if (impl_->thread.joinable()) {
    impl_->thread.request_stop();
    const uint64_t one = 1;
    (void)::write(impl_->wake.get(), &one, sizeof(one));
    impl_->thread.join();
  }
  impl_.reset();  // detaches (the link) and unloads
}

const std::string& DnsTracer::cgroup_path() const noexcept {
  static const std::string kNone;
  return impl_ ? impl_->cgroup : kNone;
}

int DnsTracer::program_fd() const noexcept {
  return impl_ ? bpf_program__fd(impl_->skel->get()->progs.egressd_dns_ingress) : -1;
}

Result<std::unique_ptr<DnsTracer>> DnsTracer::start(const DnsTracerOptions& options,
                                                    NameCache& cache, ScopeFn scope,
                                                    SelfMetrics& metrics, const Clock& clock) {
  loader::install_libbpf_logging();
  std::string cgroup = options.cgroup_path;
  if (cgroup.empty()) {
    auto mounts = read_mountinfo();
    if (!mounts) return std::unexpected(std::move(mounts.error()));
    auto root = find_cgroup2_root(*mounts);
    if (!root) return std::unexpected(std::move(root.error()));
    cgroup = std::move(*root);
  }
  if (options.capture_bytes == 0 || options.capture_bytes > EGRESSD_DNS_MAX_CAPTURE) {
    return fail(Errc::kInvalidArgument, "DNS capture size must be 1 to 2048 bytes");
  }
  auto impl = std::make_unique<Impl>(cache, std::move(scope), metrics, options, clock);
  impl->cgroup = cgroup;
  auto skel = loader::Skeleton<::dns>::open("dns");
  if (!skel) return std::unexpected(std::move(skel.error()));
  impl->skel.emplace(std::move(*skel));
  ::dns* s = impl->skel->get();
  s->rodata->egressd_dns_port = options.port;
  s->rodata->egressd_dns_capture = options.capture_bytes;
  if (const int err = bpf_map__set_max_entries(s->maps.egressd_dns_events, options.ring_bytes);
      err != 0) {
    return fail_errno("sizing the DNS ring buffer", -err);
  }
  if (auto st = impl->skel->load(); !st) return std::unexpected(std::move(st.error()));

  const UniqueFd cg(::open(cgroup.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!cg) return fail_errno("opening cgroup " + cgroup);
  if (struct statfs fs{}; ::fstatfs(cg.get(), &fs) != 0 || fs.f_type != CGROUP2_SUPER_MAGIC) {
    return fail(Errc::kInvalidArgument,
                cgroup +
                    " is not a cgroup v2 directory (--dns-cgroup-path: on a hybrid host the "
                    "v2 hierarchy is /sys/fs/cgroup/unified)");
  }
  errno = 0;
  impl->link = bpf_program__attach_cgroup(s->progs.egressd_dns_ingress, cg.get());
  if (impl->link == nullptr) {
    return fail_errno("attaching the DNS program to cgroup_skb ingress of " + cgroup,
                      errno != 0 ? errno : EINVAL);
  }

  impl->ring = ring_buffer__new(
      bpf_map__fd(s->maps.egressd_dns_events),
      [](void* ctx, void* data, size_t size) -> int {
        auto* self = static_cast<Impl*>(ctx);
        self->ring_records->inc();
        egressd_dns_event ev;
        if (size < sizeof(ev)) return 0;
        std::memcpy(&ev, data, sizeof(ev));
        const auto* payload = static_cast<const uint8_t*>(data) + sizeof(ev);
        const size_t avail = size - sizeof(ev);
        // The record is at least header + captured bytes (the ring rounds sizes up to 8).
        const size_t n = ev.captured <= avail ? ev.captured : avail;
        self->handler.handle(ev, std::span<const uint8_t>(payload, n), self->clock.now());
        return 0;
      },
      impl.get(), nullptr);
  if (impl->ring == nullptr) return fail_errno("opening the DNS ring buffer");
  impl->epoll.reset(::epoll_create1(EPOLL_CLOEXEC));
  impl->wake.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!impl->epoll || !impl->wake) return fail_errno("creating the DNS tracer's epoll set");
  for (const int fd : {ring_buffer__epoll_fd(impl->ring), impl->wake.get()}) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    if (::epoll_ctl(impl->epoll.get(), EPOLL_CTL_ADD, fd, &ev) != 0) {
      return fail_errno("adding to the DNS tracer's epoll set");
    }
  }
  Impl* raw = impl.get();
  raw->thread = std::jthread([raw](const std::stop_token& token) { raw->run(token); });
  return std::unique_ptr<DnsTracer>(new DnsTracer(std::move(impl)));
}

}  // namespace egressd::dns
