#include "ebpf/features.h"

#include "egressd/common/log.h"
#include "loader/probes.h"

namespace egressd::ebpf {

namespace {

Status require(Status st, const char* what) {
  if (!st) {
    spdlog::info("ebpf probe: {}: no ({})", what, st.error().message());
    return std::unexpected(std::move(st.error()).wrap(what));
  }
  spdlog::info("ebpf probe: {}: yes", what);
  return {};
}

}  // namespace

Result<EbpfMode> probe_mode() {
  for (const auto& [st, what] : {
           std::pair{loader::probe_vmlinux_btf(), "kernel BTF for CO-RE"},
           std::pair{loader::probe_bpf_permission(), "permission to load BPF"},
           std::pair{loader::probe_kfunc("bpf_cast_to_kern_ctx"),
                     "kfunc bpf_cast_to_kern_ctx (reads a packet's conntrack entry)"},
           std::pair{loader::probe_kfunc("bpf_rdonly_cast"), "kfunc bpf_rdonly_cast"},
           std::pair{loader::probe_netfilter_programs(),
                     "netfilter BPF programs (counts traffic delivered to the node)"},
           std::pair{loader::probe_batch_ops(), "batched lookup-and-delete on per-CPU hashes"},
       }) {
    if (auto r = require(st, what); !r) return std::unexpected(std::move(r.error()));
  }
  EbpfMode mode;
  if (auto tcx = loader::probe_tcx(); tcx) {
    mode.attach = AttachMode::kTcx;
    spdlog::info("ebpf probe: TCX: yes, TC egress programs attach as BPF links");
  } else {
    mode.attach = AttachMode::kClsact;
    spdlog::info("ebpf probe: TCX: no ({}), TC egress programs attach as clsact filters",
                 tcx.error().message());
  }
  return mode;
}

}  // namespace egressd::ebpf
