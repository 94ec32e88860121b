#include "loader/probes.h"

#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <linux/bpf.h>

#include <array>
#include <cerrno>
#include <string>
#include <vector>

#include "egressd/common/unique_fd.h"
#include "loader/links.h"

namespace egressd::loader {

namespace {

constexpr int kLoopbackIfindex = 1;  // loopback is registered first in every network namespace

}  // namespace

Status probe_vmlinux_btf() {
  if (::access("/sys/kernel/btf/vmlinux", R_OK) != 0) {
    return fail_errno(
        "reading /sys/kernel/btf/vmlinux (kernel built without CONFIG_DEBUG_INFO_BTF?)");
  }
  btf* vmlinux = btf__load_vmlinux_btf();  // libbpf 1.x: NULL and errno on failure
  if (vmlinux == nullptr) return fail_errno("parsing the kernel's BTF");
  btf__free(vmlinux);
  return {};
}

Status probe_bpf_permission() {
  const int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "egressd_probe", 4, 4, 1, nullptr);
  if (fd < 0) return fail_errno("creating a BPF map (needs CAP_BPF and CAP_PERFMON, or root)");
  ::close(fd);
  return {};
}

Status probe_kfunc(std::string_view name) {
  btf* vmlinux = btf__load_vmlinux_btf();
  if (vmlinux == nullptr) return fail_errno("parsing the kernel's BTF");
  const std::string n(name);
  const int id = btf__find_by_name_kind(vmlinux, n.c_str(), BTF_KIND_FUNC);
  btf__free(vmlinux);
  if (id <= 0) return fail(Errc::kUnsupported, "the kernel has no kfunc " + n);
  return {};
}

Status probe_tcx() {
  auto ids = tcx_query(kLoopbackIfindex, TcxDirection::kEgress);
  if (!ids) return std::unexpected(std::move(ids.error()).wrap("TCX (Linux 6.6)"));
  return {};
}

Status probe_netfilter_programs() {
  // r0 = NF_ACCEPT; exit
  const std::array<bpf_insn, 2> insns{{
      {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 1},
      {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
  }};
  bpf_prog_load_opts opts{};
  opts.sz = sizeof(opts);
  opts.expected_attach_type = as_attach_type(kAttachNetfilter);
  const int fd = bpf_prog_load(as_prog_type(kProgTypeNetfilter), "egressd_probe", "GPL",
                               insns.data(), insns.size(), &opts);
  if (fd < 0) return fail_errno("loading a netfilter BPF program (Linux 6.4)");
  ::close(fd);
  return {};
}

Status probe_batch_ops() {
  const int fd = bpf_map_create(BPF_MAP_TYPE_PERCPU_HASH, "egressd_probe", 4, 8, 4, nullptr);
  if (fd < 0) return fail_errno("creating a per-CPU hash map");
  UniqueFd map(fd);
  std::vector<uint8_t> values(size_t{8} * 4 * 1024);  // enough for any CPU count the probe may see
  std::array<uint32_t, 4> keys{};
  uint32_t count = 1;
  uint32_t out_batch = 0;
  bpf_map_batch_opts opts{};
  opts.sz = sizeof(opts);
  // An empty map answers ENOENT when the command exists, EINVAL when it does not.
  if (bpf_map_lookup_and_delete_batch(map.get(), nullptr, &out_batch, keys.data(), values.data(),
                                      &count, &opts) == 0 ||
      errno == ENOENT) {
    return {};
  }
  return fail_errno("BPF_MAP_LOOKUP_AND_DELETE_BATCH on a per-CPU hash (Linux 5.6)");
}

}  // namespace egressd::loader
