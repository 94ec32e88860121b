// BPF links libbpf 1.1 cannot create: TCX (Linux 6.6) and netfilter hooks (Linux 6.4), made with
// a raw BPF_LINK_CREATE whose attribute layout is mirrored here (the host's UAPI headers are
// Linux 6.1's, older than both). A link is detached when its last descriptor is closed, also when
// the process dies, so nothing outlives the agent.
#pragma once

#include <linux/bpf.h>

#include <cstdint>
#include <vector>

#include "egressd/common/error.h"
#include "egressd/common/unique_fd.h"

namespace egressd::loader {

// enum bpf_prog_type / bpf_attach_type values (include/uapi/linux/bpf.h, Linux >= 6.6).
inline constexpr uint32_t kProgTypeNetfilter = 32;  // BPF_PROG_TYPE_NETFILTER
inline constexpr uint32_t kAttachNetfilter = 45;    // BPF_NETFILTER
inline constexpr uint32_t kAttachTcxIngress = 46;   // BPF_TCX_INGRESS
inline constexpr uint32_t kAttachTcxEgress = 47;    // BPF_TCX_EGRESS

// include/uapi/linux/netfilter.h
inline constexpr uint32_t kNfProtoIpv4 = 2;
inline constexpr uint32_t kNfProtoIpv6 = 10;
inline constexpr uint32_t kNfInetLocalIn = 1;

// libbpf 1.1's enums predate these values; the kernel only sees the numbers.
[[nodiscard]] inline bpf_prog_type as_prog_type(uint32_t v) noexcept {
  return static_cast<bpf_prog_type>(v);  // NOLINT(clang-analyzer-optin.core.EnumCastOutOfRange)
}
[[nodiscard]] inline bpf_attach_type as_attach_type(uint32_t v) noexcept {
  return static_cast<bpf_attach_type>(v);  // NOLINT(clang-analyzer-optin.core.EnumCastOutOfRange)
}

enum class TcxDirection : uint8_t { kIngress, kEgress };

// Appends `prog_fd` to the TCX chain of `ifindex` (in the caller's network namespace).
[[nodiscard]] Result<UniqueFd> tcx_attach(int prog_fd, int ifindex, TcxDirection direction);

// Hooks `prog_fd` (a BPF_PROG_TYPE_NETFILTER program) into `hooknum` of family `pf` in the
// caller's network namespace, at `priority` (NF_IP_PRI_*; INT_MIN and INT_MAX are refused).
[[nodiscard]] Result<UniqueFd> netfilter_attach(int prog_fd, uint32_t pf, uint32_t hooknum,
                                                int32_t priority);

// Detaches a link now (BPF_LINK_DETACH), whoever else holds its descriptor.
[[nodiscard]] Status link_detach(int link_fd);

// Ids of the programs attached to the TCX chain of `ifindex` (EINVAL: the kernel has no TCX).
[[nodiscard]] Result<std::vector<uint32_t>> tcx_query(int ifindex, TcxDirection direction);

}  // namespace egressd::loader
