#include "loader/links.h"

#include <unistd.h>

#include <bpf/bpf.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <string>

#include <sys/syscall.h>

namespace egressd::loader {

namespace {

// The link_create member of union bpf_attr as Linux 6.6+ lays it out (prog_fd, target, attach
// type, flags, then the per-type union at offset 16). The kernel zero-fills what we do not pass
// and refuses non-zero bytes it does not know (bpf_check_uarg_tail_zero()).
struct LinkCreateAttr {
  uint32_t prog_fd = 0;
  uint32_t target = 0;  // target_fd or target_ifindex
  uint32_t attach_type = 0;
  uint32_t flags = 0;
  union {
    struct {
      uint32_t pf;
      uint32_t hooknum;
      int32_t priority;
      uint32_t flags;
    } netfilter;
    struct {
      uint32_t relative_fd;
      uint32_t pad;
      uint64_t expected_revision;
    } tcx;
  } u{};
};
static_assert(sizeof(LinkCreateAttr) == 32, "BPF_LINK_CREATE attribute layout");

constexpr long kBpfLinkCreate = 28;  // enum bpf_cmd BPF_LINK_CREATE
constexpr long kBpfLinkDetach = 34;  // enum bpf_cmd BPF_LINK_DETACH

Result<UniqueFd> link_create(const LinkCreateAttr& attr, const std::string& what) {
  const long fd = ::syscall(__NR_bpf, kBpfLinkCreate, &attr, sizeof(attr));
  if (fd < 0) return fail_errno(what);
  return UniqueFd(static_cast<int>(fd));
}

uint32_t tcx_attach_type(TcxDirection direction) {
  return direction == TcxDirection::kEgress ? kAttachTcxEgress : kAttachTcxIngress;
}

const char* direction_name(TcxDirection direction) {
  return direction == TcxDirection::kEgress ? "egress" : "ingress";
}

}  // namespace

Result<UniqueFd> tcx_attach(int prog_fd, int ifindex, TcxDirection direction) {
  LinkCreateAttr attr;
  attr.prog_fd = static_cast<uint32_t>(prog_fd);
  attr.target = static_cast<uint32_t>(ifindex);
  attr.attach_type = tcx_attach_type(direction);
  return link_create(attr, "attaching TCX " + std::string(direction_name(direction)) +
                               " on ifindex " + std::to_string(ifindex));
}

Result<UniqueFd> netfilter_attach(int prog_fd, uint32_t pf, uint32_t hooknum, int32_t priority) {
  LinkCreateAttr attr;
  attr.prog_fd = static_cast<uint32_t>(prog_fd);
  attr.attach_type = kAttachNetfilter;
  attr.u.netfilter.pf = pf;
  attr.u.netfilter.hooknum = hooknum;
  attr.u.netfilter.priority = priority;
  return link_create(attr, "attaching a netfilter hook (pf " + std::to_string(pf) + ", hook " +
                               std::to_string(hooknum) + ")");
}

Status link_detach(int link_fd) {
  std::array<uint32_t, 2> attr{static_cast<uint32_t>(link_fd), 0};  // link_detach.link_fd
  if (::syscall(__NR_bpf, kBpfLinkDetach, attr.data(), sizeof(attr)) != 0) {
    return fail_errno("detaching a BPF link");
  }
  return {};
}

Result<std::vector<uint32_t>> tcx_query(int ifindex, TcxDirection direction) {
  std::array<uint32_t, 64> ids{};
  uint32_t count = ids.size();
  uint32_t attach_flags = 0;
  // BPF_PROG_QUERY's target_fd and target_ifindex share a field; libbpf passes it through.
  if (bpf_prog_query(ifindex, as_attach_type(tcx_attach_type(direction)), 0, &attach_flags,
                     ids.data(), &count) != 0) {
    return fail_errno("querying TCX " + std::string(direction_name(direction)) + " of ifindex " +
                      std::to_string(ifindex));
  }
  return std::vector<uint32_t>(ids.begin(), ids.begin() + std::min<size_t>(count, ids.size()));
}

}  // namespace egressd::loader
