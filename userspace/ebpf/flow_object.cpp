#include "ebpf/flow_object.h"

#include <bpf/libbpf.h>

#include <string>

#include "flow.skel.h"
#include "loader/libbpf_support.h"
#include "loader/links.h"

namespace egressd::ebpf {

// The object is opened from the skeleton's embedded ELF (flow__elf_bytes) with libbpf's own API
// rather than through the generated flow__open(): clang-analyzer cannot see that the generated
// error path frees its allocation (bpf_object__destroy_skeleton) and reports a leak in the
// generated header. Programs and maps are looked up by name once, at load.
struct FlowObject::Impl {
  bpf_object* obj = nullptr;
  int tc_ethernet = -1;
  int tc_l3 = -1;
  int local_in = -1;
  int active = -1;
  int buffers[2] = {-1, -1};
  int stats = -1;
  int overflow = -1;

  Impl() = default;
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
  ~Impl() {
    if (obj != nullptr) bpf_object__close(obj);
  }
};

namespace {

Result<bpf_program*> program(bpf_object* obj, const char* name) {
  bpf_program* p = bpf_object__find_program_by_name(obj, name);
  if (p == nullptr)
    return fail(Errc::kInternal, std::string("BPF object flow has no program ") + name);
  return p;
}

Result<bpf_map*> map(bpf_object* obj, const char* name) {
  bpf_map* m = bpf_object__find_map_by_name(obj, name);
  if (m == nullptr) return fail(Errc::kInternal, std::string("BPF object flow has no map ") + name);
  return m;
}

Status set_entries(bpf_map* m, uint32_t entries, const char* what) {
  if (const int err = bpf_map__set_max_entries(m, entries); err != 0) {
    return fail_errno(std::string("sizing BPF map ") + what, -err);
  }
  return {};
}

}  // namespace

Result<std::unique_ptr<FlowObject>> FlowObject::load(const FlowObjectOptions& options) {
  loader::install_libbpf_logging();
  auto impl = std::make_unique<Impl>();
  size_t size = 0;
  const void* elf = flow__elf_bytes(&size);
  bpf_object_open_opts open_opts{};  // LIBBPF_OPTS, without its C-only compound literal
  open_opts.sz = sizeof(open_opts);
  open_opts.object_name = "flow";
  errno = 0;
  impl->obj = bpf_object__open_mem(elf, size, &open_opts);
  if (impl->obj == nullptr)
    return fail_errno("opening BPF object flow", errno != 0 ? errno : EINVAL);

  auto eth = program(impl->obj, "egressd_flow_eth");
  auto l3 = program(impl->obj, "egressd_flow_l3");
  auto local_in = program(impl->obj, "egressd_flow_local_in");
  auto active = map(impl->obj, "egressd_flow_active");
  auto buf_a = map(impl->obj, "egressd_flows_a");
  auto buf_b = map(impl->obj, "egressd_flows_b");
  auto stats = map(impl->obj, "egressd_flow_stats");
  auto overflow = map(impl->obj, "egressd_flow_overflow");
  for (const auto* r : {&eth, &l3, &local_in}) {
    if (!*r) return std::unexpected(r->error());
  }
  for (const auto* r : {&active, &buf_a, &buf_b, &stats, &overflow}) {
    if (!*r) return std::unexpected(r->error());
  }
  // libbpf 1.1 predates SEC("netfilter") (libbpf 1.2): the type is set by hand.
  if (bpf_program__set_type(*local_in, loader::as_prog_type(loader::kProgTypeNetfilter)) != 0 ||
      bpf_program__set_expected_attach_type(
          *local_in, loader::as_attach_type(loader::kAttachNetfilter)) != 0) {
    return fail(Errc::kInternal, "setting the netfilter program's type");
  }
  // The array of maps' inner template keeps the default size: for hash maps the kernel checks
  // type, key, value and flags of an inner map, not max_entries (bpf_map_meta_equal()).
  for (const auto& [m, what] :
       {std::pair{*buf_a, "egressd_flows_a"}, std::pair{*buf_b, "egressd_flows_b"}}) {
    if (auto st = set_entries(m, options.map_entries, what); !st) {
      return std::unexpected(st.error());
    }
  }
  if (auto st = set_entries(*overflow, options.overflow_ring_bytes, "egressd_flow_overflow"); !st) {
    return std::unexpected(st.error());
  }
  if (const int err = bpf_object__load(impl->obj); err != 0) {
    return fail_errno("loading BPF object flow (verifier log at debug level)", -err);
  }
  impl->tc_ethernet = bpf_program__fd(*eth);
  impl->tc_l3 = bpf_program__fd(*l3);
  impl->local_in = bpf_program__fd(*local_in);
  impl->active = bpf_map__fd(*active);
  impl->buffers[0] = bpf_map__fd(*buf_a);
  impl->buffers[1] = bpf_map__fd(*buf_b);
  impl->stats = bpf_map__fd(*stats);
  impl->overflow = bpf_map__fd(*overflow);
  return std::unique_ptr<FlowObject>(new FlowObject(std::move(impl), options));
}

FlowObject::FlowObject(std::unique_ptr<Impl> impl, const FlowObjectOptions& options)
    : impl_(std::move(impl)), options_(options) {}

FlowObject::~FlowObject() = default;

int FlowObject::tc_ethernet_fd() const noexcept {
  return impl_->tc_ethernet;
}
int FlowObject::tc_l3_fd() const noexcept {
  return impl_->tc_l3;
}
int FlowObject::local_in_fd() const noexcept {
  return impl_->local_in;
}
int FlowObject::active_map_fd() const noexcept {
  return impl_->active;
}
int FlowObject::buffer_map_fd(int index) const noexcept {
  return impl_->buffers[index == 0 ? 0 : 1];
}
int FlowObject::stats_map_fd() const noexcept {
  return impl_->stats;
}
int FlowObject::overflow_map_fd() const noexcept {
  return impl_->overflow;
}

}  // namespace egressd::ebpf
