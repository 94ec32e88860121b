#include "ebpf/flow_object.h"

#include <bpf/libbpf.h>

#include <string>

#include "loader/libbpf_support.h"
#include "loader/links.h"
#include "loader/skeleton.h"

#include "flow.skel.h"

namespace egressd::ebpf {

// The generated skeleton of bpf/flow.bpf.c, through the project's one loader
// (loader::Skeleton): open -> set program types and map sizes -> load. Programs and maps are the
// skeleton's typed members, so a renamed program is a compile error, not a run-time lookup.
struct FlowObject::Impl {
  explicit Impl(loader::Skeleton<flow> s) : skel(std::move(s)) {}
  loader::Skeleton<flow> skel;
};

namespace {

Status set_entries(bpf_map* m, uint32_t entries) {
  if (const int err = bpf_map__set_max_entries(m, entries); err != 0) {
    return fail_errno(std::string("sizing BPF map ") + bpf_map__name(m), -err);
  }
  return {};
}

}  // namespace

Result<std::unique_ptr<FlowObject>> FlowObject::load(const FlowObjectOptions& options) {
  loader::install_libbpf_logging();
  auto skel = loader::Skeleton<flow>::open("flow");
  if (!skel) return std::unexpected(std::move(skel.error()));
  flow* s = skel->get();
  // libbpf 1.1 predates SEC("netfilter") (libbpf 1.2): the type is set by hand.
  if (bpf_program__set_type(s->progs.egressd_flow_local_in,
                            loader::as_prog_type(loader::kProgTypeNetfilter)) != 0 ||
      bpf_program__set_expected_attach_type(
          s->progs.egressd_flow_local_in, loader::as_attach_type(loader::kAttachNetfilter)) != 0) {
    return fail(Errc::kInternal, "setting the netfilter program's type");
  }
  // The array of maps' inner template keeps the default size: for hash maps the kernel checks
  // type, key, value and flags of an inner map, not max_entries (bpf_map_meta_equal()).
  for (bpf_map* m : {s->maps.egressd_flows_a, s->maps.egressd_flows_b}) {
    if (auto st = set_entries(m, options.map_entries); !st) return std::unexpected(st.error());
  }
  if (auto st = set_entries(s->maps.egressd_flow_overflow, options.overflow_ring_bytes); !st) {
    return std::unexpected(st.error());
  }
  if (auto st = skel->load(); !st) return std::unexpected(std::move(st.error()));
  return std::unique_ptr<FlowObject>(
      new FlowObject(std::make_unique<Impl>(std::move(*skel)), options));
}

FlowObject::FlowObject(std::unique_ptr<Impl> impl, const FlowObjectOptions& options)
    : impl_(std::move(impl)), options_(options) {}

FlowObject::~FlowObject() = default;

int FlowObject::tc_ethernet_fd() const noexcept {
  return bpf_program__fd(impl_->skel->progs.egressd_flow_eth);
}
int FlowObject::tc_l3_fd() const noexcept {
  return bpf_program__fd(impl_->skel->progs.egressd_flow_l3);
}
int FlowObject::local_in_fd() const noexcept {
  return bpf_program__fd(impl_->skel->progs.egressd_flow_local_in);
}
int FlowObject::active_map_fd() const noexcept {
  return bpf_map__fd(impl_->skel->maps.egressd_flow_active);
}
int FlowObject::buffer_map_fd(int index) const noexcept {
  return bpf_map__fd(index == 0 ? impl_->skel->maps.egressd_flows_a
                                : impl_->skel->maps.egressd_flows_b);
}
int FlowObject::stats_map_fd() const noexcept {
  return bpf_map__fd(impl_->skel->maps.egressd_flow_stats);
}
int FlowObject::overflow_map_fd() const noexcept {
  return bpf_map__fd(impl_->skel->maps.egressd_flow_overflow);
}

}  // namespace egressd::ebpf
