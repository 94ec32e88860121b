// Start-up feature probing of the eBPF source: what the kernel must offer, what it may offer, and
// the mode chosen from that. Every decision is logged; a missing requirement is an error that
// names it, so the agent can fall back to the netfilter source with a clear message.
#pragma once

#include <string>

#include "ebpf/attacher.h"
#include "egressd/common/error.h"

namespace egressd::ebpf {

struct EbpfMode {
  AttachMode attach = AttachMode::kTcx;  // TC egress: TCX links, else clsact filters
};

// Requires: kernel BTF, permission to load programs, the kfuncs bpf_cast_to_kern_ctx and
// bpf_rdonly_cast (Linux 6.3), netfilter BPF programs (Linux 6.4) and batched map operations.
// Prefers TCX (Linux 6.6) over clsact.
[[nodiscard]] Result<EbpfMode> probe_mode();

}  // namespace egressd::ebpf
