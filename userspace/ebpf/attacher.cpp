#include "ebpf/attacher.h"

#include <bpf/libbpf.h>

#include <cerrno>
#include <set>
#include <utility>

#include "loader/links.h"

namespace egressd::ebpf {

std::string_view attach_mode_name(AttachMode mode) noexcept {
  return mode == AttachMode::kTcx ? "tcx" : "clsact";
}

namespace {

bpf_tc_hook egress_hook(int ifindex) {
  bpf_tc_hook hook{};
  hook.sz = sizeof(hook);
  hook.ifindex = ifindex;
  hook.attach_point = BPF_TC_EGRESS;
  return hook;
}

bool vanished(const Error& e) {
  return e.sys_errno() == ENODEV || e.sys_errno() == ENXIO;
}

}  // namespace

Result<TcAttachment> TcAttachment::attach(AttachMode mode, int prog_fd, int ifindex) {
  TcAttachment a(mode, ifindex);
  if (mode == AttachMode::kTcx) {
    auto link = loader::tcx_attach(prog_fd, ifindex, loader::TcxDirection::kEgress);
    if (!link) return std::unexpected(std::move(link.error()));
    a.link_ = std::move(*link);
    return a;
  }
  bpf_tc_hook hook = egress_hook(ifindex);
  const int created = bpf_tc_hook_create(&hook);
  if (created != 0 && created != -EEXIST) {
    return fail_errno("creating the clsact qdisc of ifindex " + std::to_string(ifindex), -created);
  }
  a.created_qdisc_ = created == 0;
  bpf_tc_opts opts{};
  opts.sz = sizeof(opts);
  opts.prog_fd = prog_fd;
  opts.handle = kClsactHandle;
  opts.priority = kClsactPriority;
  opts.flags = BPF_TC_F_REPLACE;
  if (const int err = bpf_tc_attach(&hook, &opts); err != 0) {
    a.detach();
    return fail_errno("adding the cls_bpf egress filter of ifindex " + std::to_string(ifindex),
                      -err);
  }
  a.attached_ = true;
  return a;
}

TcAttachment::TcAttachment(TcAttachment&& o) noexcept
    : mode_(o.mode_),
      ifindex_(o.ifindex_),
      link_(std::move(o.link_)),
      attached_(std::exchange(o.attached_, false)),
      created_qdisc_(std::exchange(o.created_qdisc_, false)) {}

TcAttachment& TcAttachment::operator=(TcAttachment&& o) noexcept {
  if (this != &o) {
    detach();
    mode_ = o.mode_;
    ifindex_ = o.ifindex_;
    link_ = std::move(o.link_);
    attached_ = std::exchange(o.attached_, false);
    created_qdisc_ = std::exchange(o.created_qdisc_, false);
  }
  return *this;
}

void TcAttachment::detach() noexcept {
  link_.reset();  // TCX: closing the only descriptor of the link detaches it
  if (mode_ != AttachMode::kClsact) return;
  bpf_tc_hook hook = egress_hook(ifindex_);
  if (attached_) {
    bpf_tc_opts opts{};
    opts.sz = sizeof(opts);
    opts.handle = kClsactHandle;
    opts.priority = kClsactPriority;
    (void)bpf_tc_detach(&hook, &opts);  // ENOENT/ENODEV: the device took the filter with it
    attached_ = false;
  }
  if (created_qdisc_) {
    // libbpf's documented way to remove the qdisc itself: both attach points at once.
    hook.attach_point =
        static_cast<bpf_tc_attach_point>(  // NOLINT(clang-analyzer-optin.core.EnumCastOutOfRange)
            BPF_TC_INGRESS | BPF_TC_EGRESS);
    (void)bpf_tc_hook_destroy(&hook);
    created_qdisc_ = false;
  }
}

InterfaceAttacher::InterfaceAttacher(AttachMode mode, int ethernet_prog_fd, int l3_prog_fd,
                                     SelfMetrics& metrics)
    : mode_(mode),
      ethernet_fd_(ethernet_prog_fd),
      l3_fd_(l3_prog_fd),
      interfaces_(metrics.gauge("egressd_ebpf_interfaces",
                                "Interfaces whose egress the flow program is attached to.")),
      attach_ok_(metrics.counter("egressd_ebpf_attach_total",
                                 "Attachments of the flow program to an interface's egress.",
                                 {{"result", "ok"}})),
      attach_errors_(metrics.counter("egressd_ebpf_attach_total",
                                     "Attachments of the flow program to an interface's egress.",
                                     {{"result", "error"}})),
      detaches_(metrics.counter("egressd_ebpf_detach_total",
                                "Interfaces the flow program was detached from (interface gone "
                                "or moved to another namespace).")) {}

Status InterfaceAttacher::add(const LinkInfo& link) {
  if (attached_.contains(link.ifindex)) return {};
  const InterfaceDecision decision = decide_interface(link);
  if (decision.program == TcProgram::kNone) {
    spdlog::debug("ebpf: not attaching to {} (ifindex {}, kind \"{}\", type {}): {}", link.name,
                  link.ifindex, link.kind, link.type, decision.reason);
    return {};
  }
  const int fd = decision.program == TcProgram::kEthernet ? ethernet_fd_ : l3_fd_;
  auto a = TcAttachment::attach(mode_, fd, link.ifindex);
  if (!a) {
    if (vanished(a.error())) return {};  // gone between the notification and now
    attach_errors_.inc();
    uint64_t suppressed = 0;
    if (error_log_.allow(suppressed)) {
      spdlog::warn("ebpf: cannot attach to {}: {} ({} similar suppressed)", link.name,
                   a.error().message(), suppressed);
    }
    return std::unexpected(std::move(a.error()));
  }
  spdlog::debug("ebpf: attached {} egress to {} (ifindex {}, {})", attach_mode_name(mode_),
                link.name, link.ifindex,
                decision.program == TcProgram::kEthernet ? "ethernet" : "l3");
  attached_.emplace(link.ifindex, std::move(*a));
  attach_ok_.inc();
  update_gauge();
  return {};
}

void InterfaceAttacher::remove(int ifindex) {
  if (attached_.erase(ifindex) > 0) {
    detaches_.inc();
    spdlog::debug("ebpf: detached from ifindex {}", ifindex);
    update_gauge();
  }
}

Status InterfaceAttacher::reconcile(const std::vector<LinkInfo>& links) {
  std::set<int> present;
  for (const auto& l : links) present.insert(l.ifindex);
  for (const int ifindex : attached_ifindexes()) {
    if (!present.contains(ifindex)) remove(ifindex);
  }
  Status first_error;
  for (const auto& l : links) {
    if (auto st = add(l); !st && first_error) first_error = std::move(st);
  }
  return first_error;
}

void InterfaceAttacher::clear() {
  attached_.clear();
  update_gauge();
}

std::vector<int> InterfaceAttacher::attached_ifindexes() const {
  std::vector<int> out;
  out.reserve(attached_.size());
  for (const auto& [ifindex, a] : attached_) out.push_back(ifindex);
  return out;
}

void InterfaceAttacher::update_gauge() {
  interfaces_.set(static_cast<double>(attached_.size()));
}

}  // namespace egressd::ebpf
