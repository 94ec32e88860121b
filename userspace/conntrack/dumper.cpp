#include "conntrack/dumper.h"

#include <poll.h>

#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>

#include <array>
#include <cerrno>
#include <cstring>

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <sys/socket.h>

#include "conntrack/nl_attr.h"

namespace egressd::conntrack {

Result<Dumper> Dumper::open() {
  auto sock = NlSocket::open("conntrack dump socket");
  if (!sock) return std::unexpected(std::move(sock.error()));
  return Dumper(std::move(*sock));
}

namespace {

int stats_attr_cb(const nlattr* attr, void* data) {
  auto* stats = static_cast<TableStats*>(data);
  const uint16_t type = mnl_attr_get_type(attr);
  if (type != CTA_STATS_GLOBAL_ENTRIES && type != CTA_STATS_GLOBAL_MAX_ENTRIES) return MNL_CB_OK;
  if (mnl_attr_validate(attr, MNL_TYPE_U32) < 0) return MNL_CB_ERROR;
  const uint32_t v = ntohl(mnl_attr_get_u32(attr));
  (type == CTA_STATS_GLOBAL_ENTRIES ? stats->entries : stats->max_entries) = v;
  return MNL_CB_OK;
}

}  // namespace

Result<TableStats> Dumper::table_stats(std::chrono::milliseconds timeout) {
  std::array<uint8_t, 64> request{};
  nlmsghdr* nlh = mnl_nlmsg_put_header(request.data());
  nlh->nlmsg_type = ct_msg_type(IPCTNL_MSG_CT_GET_STATS);
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
  if (++seq_ == 0) seq_ = 1;
  nlh->nlmsg_seq = seq_;
  auto* gen = static_cast<nfgenmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(nfgenmsg)));
  gen->nfgen_family = AF_UNSPEC;
  gen->version = NFNETLINK_V0;
  if (auto st = sock_.send(std::span<const uint8_t>(request.data(), nlh->nlmsg_len)); !st) {
    return std::unexpected(std::move(st.error()));
  }
  TableStats stats;
  bool got_stats = false;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    auto got = sock_.recv(buffer_);
    if (!got) return std::unexpected(std::move(got.error()));
    if (got->bytes == 0) {
      pollfd pfd{sock_.fd(), POLLIN, 0};
      (void)poll(&pfd, 1, 50);
      continue;
    }
    int len = static_cast<int>(got->bytes);
    const auto* msg = reinterpret_cast<const nlmsghdr*>(buffer_.data());
    for (; nlmsg_fits(msg, len); msg = mnl_nlmsg_next(msg, &len)) {
      if (!mnl_nlmsg_seq_ok(msg, seq_)) continue;
      if (msg->nlmsg_type == NLMSG_ERROR) {
        if (msg->nlmsg_len < kNlmsgHdrLen + sizeof(int32_t)) break;
        int32_t status = 0;
        std::memcpy(&status, mnl_nlmsg_get_payload(msg), sizeof(status));
        if (status < 0 && status > -4096) {
          return fail_errno(
              "conntrack: IPCTNL_MSG_CT_GET_STATS (needs CAP_NET_ADMIN and "
              "nf_conntrack_netlink)",
              -status);
        }
        if (!got_stats) {
          return fail(Errc::kUnsupported, "conntrack: IPCTNL_MSG_CT_GET_STATS: no statistics");
        }
        return stats;  // the ACK after the statistics
      }
      if (msg->nlmsg_type == ct_msg_type(IPCTNL_MSG_CT_GET_STATS)) {
        const size_t hdr = nl_align(sizeof(nfgenmsg));
        if (mnl_nlmsg_get_payload_len(msg) < hdr ||
            mnl_attr_parse_payload(mnl_nlmsg_get_payload_offset(msg, hdr),
                                   mnl_nlmsg_get_payload_len(msg) - hdr, stats_attr_cb,
                                   &stats) < 0) {
          return fail(Errc::kParse, "conntrack: malformed IPCTNL_MSG_CT_GET_STATS reply");
        }
        got_stats = true;
      }
    }
  }
  return fail(Errc::kIo, "conntrack: IPCTNL_MSG_CT_GET_STATS: no reply from the kernel", ETIMEDOUT);
}

DumpOutcome Dumper::dump(uint8_t family, EntryVisitor& visitor, const std::stop_token& stop,
                         std::chrono::milliseconds idle_timeout) {
  DumpOutcome out;
  if (needs_reopen_) {
    auto fresh = NlSocket::open("conntrack dump socket");
    if (!fresh) {
      out.aborted = true;
      out.failure.emplace(std::move(fresh.error()));
      return out;
    }
    sock_ = std::move(*fresh);
    needs_reopen_ = false;
  }
  // Any value but 0 works; a new one per dump lets the walker drop stale replies.
  if (++seq_ == 0) seq_ = 1;
  std::array<uint8_t, 64> request{};
  if (auto st = sock_.send(build_dump_request(request, family, seq_)); !st) {
    out.aborted = true;
    out.failure.emplace(std::move(st.error()));
    return out;
  }
  needs_reopen_ = true;  // until NLMSG_DONE or a final error is seen
  const WalkOptions options{seq_, sock_.portid()};
  auto idle_since = std::chrono::steady_clock::now();
  while (!stop.stop_requested()) {
    auto got = sock_.recv(buffer_);
    if (!got) {
      out.aborted = true;
      out.failure.emplace(std::move(got.error()));
      return out;
    }
    if (got->bytes == 0) {
      if (got->foreign) continue;
      // Nothing queued: the kernel fills the next datagram inside our recvmsg() (netlink_recvmsg
      // calls netlink_dump()), so this only happens before the first one. Wait briefly.
      if (std::chrono::steady_clock::now() - idle_since > idle_timeout) {
        out.aborted = true;
        out.failure.emplace(Errc::kIo, "conntrack dump: no reply from the kernel", ETIMEDOUT);
        return out;
      }
      pollfd pfd{sock_.fd(), POLLIN, 0};
      (void)poll(&pfd, 1, 100);
      continue;
    }
    idle_since = std::chrono::steady_clock::now();
    ++out.datagrams;
    out.bytes += got->bytes;
    out.walk +=
        walk_messages(std::span<const uint8_t>(buffer_.data(), got->bytes), options, visitor);
    if (out.walk.done || out.walk.error != 0) {
      // NLMSG_DONE ends the dump; an NLMSG_ERROR ends it too (netlink_dump() stops the callback).
      needs_reopen_ = !out.walk.done;
      return out;
    }
    if (out.walk.framing_error) {
      out.aborted = true;
      return out;
    }
  }
  out.aborted = true;
  return out;
}

}  // namespace egressd::conntrack
