// Kernel feature probes for the BPF sources: each answers one question about the running kernel
// by asking it (creating a map, loading a two-instruction program, querying a hook), and says why
// when the answer is no. Probes create nothing that outlives them.
#pragma once

#include <string_view>

#include "egressd/common/error.h"

namespace egressd::loader {

// The kernel exposes its BTF (/sys/kernel/btf/vmlinux), which CO-RE relocations need.
[[nodiscard]] Status probe_vmlinux_btf();

// This process may create BPF maps and load programs (CAP_BPF + CAP_PERFMON, or CAP_SYS_ADMIN).
[[nodiscard]] Status probe_bpf_permission();

// The kernel's BTF declares kfunc `name` (e.g. bpf_cast_to_kern_ctx, Linux 6.3).
[[nodiscard]] Status probe_kfunc(std::string_view name);

// TCX hooks exist (Linux 6.6): BPF_PROG_QUERY of TCX egress on loopback succeeds.
[[nodiscard]] Status probe_tcx();

// BPF_PROG_TYPE_NETFILTER programs load (Linux 6.4, CONFIG_NETFILTER_BPF_LINK).
[[nodiscard]] Status probe_netfilter_programs();

// BPF_MAP_LOOKUP_AND_DELETE_BATCH works on per-CPU hash maps (Linux 5.6).
[[nodiscard]] Status probe_batch_ops();

}  // namespace egressd::loader
