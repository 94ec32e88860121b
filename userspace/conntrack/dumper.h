// Dumper: one full read of the conntrack table over a dedicated netlink socket.
//
// The request is IPCTNL_MSG_CT_GET with NLM_F_DUMP; the kernel answers with multipart datagrams
// (ctnetlink_dump_table() in net/netfilter/nf_conntrack_netlink.c) until NLMSG_DONE. netlink_dump()
// sizes each datagram from the largest recv buffer the socket has seen, capped at 32 KiB
// (max_recvmsg_len in net/netlink/af_netlink.c), so the buffer is 64 KiB: the kernel fills 32 KiB
// datagrams (~100 entries each) and nothing is ever truncated.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stop_token>
#include <vector>

#include "conntrack/ct_parser.h"
#include "conntrack/nl_socket.h"
#include "egressd/common/error.h"

namespace egressd::conntrack {

inline constexpr size_t kDumpBufferBytes = size_t{64} * 1024;

struct DumpOutcome {
  WalkResult walk;  // summed over every datagram
  size_t datagrams = 0;
  size_t bytes = 0;
  bool aborted = false;          // stopped, timed out or failed before NLMSG_DONE
  std::optional<Error> failure;  // why a send/recv failed or the kernel went silent

  // A complete, consistent read: every entry of the table was seen exactly as it was.
  [[nodiscard]] bool complete() const noexcept {
    return walk.done && !aborted && !walk.interrupted && walk.error == 0 &&
           walk.parse_errors == 0 && !walk.framing_error;
  }
};

struct TableStats {
  uint32_t entries = 0;      // CTA_STATS_GLOBAL_ENTRIES
  uint32_t max_entries = 0;  // CTA_STATS_GLOBAL_MAX_ENTRIES (nf_conntrack_max)
};

class Dumper {
 public:
  [[nodiscard]] static Result<Dumper> open();

  // IPCTNL_MSG_CT_GET_STATS: one small request that proves ctnetlink answers here and that this
  // process may use it (CAP_NET_ADMIN, checked by nfnetlink_rcv_msg()).
  [[nodiscard]] Result<TableStats> table_stats(
      std::chrono::milliseconds timeout = std::chrono::seconds(2));

  // Dumps the table of `family` (AF_UNSPEC: IPv4 and IPv6 in one walk) into `visitor`. Returns
  // when the dump ends, when `stop` is requested (checked between datagrams and every 100 ms while
  // waiting), or after `idle_timeout` without a datagram.
  [[nodiscard]] DumpOutcome dump(uint8_t family, EntryVisitor& visitor, const std::stop_token& stop,
                                 std::chrono::milliseconds idle_timeout = std::chrono::seconds(10));

 private:
  explicit Dumper(NlSocket sock) : sock_(std::move(sock)), buffer_(kDumpBufferBytes) {}

  NlSocket sock_;
  std::vector<uint8_t> buffer_;  // operator new aligns it for nlmsghdr
  uint32_t seq_ = 0;
  // A dump that did not reach NLMSG_DONE leaves the kernel's dump state and datagrams on the
  // socket: the next dump starts from a fresh socket.
  bool needs_reopen_ = false;
};

}  // namespace egressd::conntrack
