#include "ebpf/link_monitor.h"

#include <poll.h>

#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>

#include <libmnl/libmnl.h>
#include <net/if.h>
#include <sys/socket.h>

namespace egressd::ebpf {

namespace {

constexpr int kRecvTimeoutMs = 2000;

Result<UniqueFd> open_socket(unsigned groups) {
  UniqueFd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE));
  if (!fd) return fail_errno("opening an rtnetlink socket");
  sockaddr_nl addr{};
  addr.nl_family = AF_NETLINK;
  addr.nl_groups = groups;
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
    return fail_errno("binding an rtnetlink socket");
  }
  return fd;
}

// The string of an attribute: it must hold a NUL within its payload.
bool attr_string(const nlattr* attr, std::string& out) {
  const auto len = mnl_attr_get_payload_len(attr);
  const auto* p = static_cast<const char*>(mnl_attr_get_payload(attr));
  const void* nul = std::memchr(p, '\0', len);
  if (nul == nullptr) return false;
  out.assign(p, static_cast<const char*>(nul));
  return true;
}

// Every attribute of [begin, end) must be whole; libmnl's iterator stops silently otherwise.
template <typename Fn>
bool for_each_attr(const uint8_t* begin, const uint8_t* end, Fn&& fn) {
  const uint8_t* p = begin;
  while (p < end) {
    const auto* a = reinterpret_cast<const nlattr*>(p);
    if (static_cast<size_t>(end - p) < sizeof(nlattr) || a->nla_len < sizeof(nlattr) ||
        a->nla_len > static_cast<size_t>(end - p)) {
      return false;
    }
    if (!fn(a)) return false;
    p += MNL_ALIGN(a->nla_len);
  }
  return true;
}

bool parse_linkinfo(const nlattr* nest, LinkInfo& link) {
  const auto* begin = static_cast<const uint8_t*>(mnl_attr_get_payload(nest));
  return for_each_attr(begin, begin + mnl_attr_get_payload_len(nest), [&](const nlattr* a) {
    if (mnl_attr_get_type(a) == IFLA_INFO_KIND) return attr_string(a, link.kind);
    return true;
  });
}

Result<LinkEvent> parse_link(const nlmsghdr* nlh) {
  LinkEvent ev;
  ev.removed = nlh->nlmsg_type == RTM_DELLINK;
  if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(ifinfomsg))) {
    return fail(Errc::kParse, "rtnetlink link message shorter than ifinfomsg");
  }
  const auto* ifi = static_cast<const ifinfomsg*>(mnl_nlmsg_get_payload(nlh));
  ev.link.ifindex = ifi->ifi_index;
  ev.link.type = ifi->ifi_type;
  ev.link.flags = ifi->ifi_flags;
  const auto* begin = static_cast<const uint8_t*>(mnl_nlmsg_get_payload_offset(nlh, sizeof(*ifi)));
  const auto* end = reinterpret_cast<const uint8_t*>(nlh) + nlh->nlmsg_len;
  const bool ok = for_each_attr(begin, end, [&](const nlattr* a) {
    switch (mnl_attr_get_type(a)) {
      // The kernel's names fit IFNAMSIZ with their NUL (dev_valid_name()); a longer one is not a
      // link message from the kernel.
      case IFLA_IFNAME: return attr_string(a, ev.link.name) && ev.link.name.size() < IFNAMSIZ;
      case IFLA_LINKINFO: return parse_linkinfo(a, ev.link);
      default: return true;
    }
  });
  if (!ok) return fail(Errc::kParse, "malformed attributes in an rtnetlink link message");
  return ev;
}

}  // namespace

Result<bool> parse_link_datagram(std::span<const uint8_t> datagram,
                                 const std::function<void(LinkEvent&&)>& fn) {
  const uint8_t* p = datagram.data();
  size_t left = datagram.size();
  while (left > 0) {
    const auto* nlh = reinterpret_cast<const nlmsghdr*>(p);
    if (left < sizeof(nlmsghdr) || nlh->nlmsg_len < sizeof(nlmsghdr) || nlh->nlmsg_len > left) {
      return fail(Errc::kParse, "rtnetlink datagram with a partial message");
    }
    switch (nlh->nlmsg_type) {
      case NLMSG_DONE: return true;
      case NLMSG_ERROR: {
        if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(nlmsgerr))) {
          return fail(Errc::kParse, "short NLMSG_ERROR");
        }
        const auto* e = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
        if (e->error == 0) break;  // an ACK
        // The kernel sends -errno (1..4095); anything else is not its message.
        if (e->error > 0 || e->error < -4095) {
          return fail(Errc::kParse, "NLMSG_ERROR with an error code that is not an errno");
        }
        return fail_errno("rtnetlink link dump", -e->error);
        break;
      }
      case RTM_NEWLINK:
      case RTM_DELLINK: {
        auto ev = parse_link(nlh);
        if (!ev) return std::unexpected(std::move(ev.error()));
        fn(std::move(*ev));
        break;
      }
      default: break;
    }
    const size_t step = std::min<size_t>(NLMSG_ALIGN(nlh->nlmsg_len), left);
    p += step;
    left -= step;
  }
  return false;
}

Result<LinkMonitor> LinkMonitor::open() {
  auto fd = open_socket(RTMGRP_LINK);
  if (!fd) return std::unexpected(std::move(fd.error()).wrap("subscribing to link notifications"));
  // Room for a burst of pods starting at once (each veth is several RTM_NEWLINK of ~1.5 KB);
  // beyond it the kernel reports ENOBUFS and the source re-reads the interfaces. Best effort:
  // the default buffer still works.
  const int bytes = 1 << 20;
  (void)::setsockopt(fd->get(), SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes));
  return LinkMonitor(std::move(*fd));
}

namespace {

// recvfrom() that keeps only datagrams from the kernel (port id 0). 0 bytes: nothing queued.
Result<size_t> recv_kernel(int fd, std::span<uint8_t> buffer, bool& foreign) {
  sockaddr_nl from{};
  socklen_t from_len = sizeof(from);
  const ssize_t n = ::recvfrom(fd, buffer.data(), buffer.size(), MSG_TRUNC,
                               reinterpret_cast<sockaddr*>(&from), &from_len);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return size_t{0};
    return fail_errno("receiving from rtnetlink");
  }
  if (static_cast<size_t>(n) > buffer.size()) {
    return fail(Errc::kParse, "rtnetlink datagram larger than the receive buffer");
  }
  foreign = from.nl_pid != 0;
  return foreign ? size_t{0} : static_cast<size_t>(n);
}

}  // namespace

Result<std::vector<LinkInfo>> LinkMonitor::dump() const {
  auto fd = open_socket(0);
  if (!fd) return std::unexpected(std::move(fd.error()));
  struct {
    nlmsghdr nlh;
    ifinfomsg ifi;
  } req{};
  req.nlh.nlmsg_len = sizeof(req);
  req.nlh.nlmsg_type = RTM_GETLINK;
  req.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  req.nlh.nlmsg_seq = 1;
  req.ifi.ifi_family = AF_UNSPEC;
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (::sendto(fd->get(), &req, sizeof(req), 0, reinterpret_cast<const sockaddr*>(&kernel),
               sizeof(kernel)) < 0) {
    return fail_errno("sending an RTM_GETLINK dump request");
  }
  std::vector<LinkInfo> links;
  std::vector<uint8_t> buffer(size_t{64} * 1024);
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(kRecvTimeoutMs);
  for (;;) {
    bool foreign = false;
    auto n = recv_kernel(fd->get(), buffer, foreign);
    if (!n) return std::unexpected(std::move(n.error()));
    if (*n == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        return fail(Errc::kIo, "rtnetlink link dump timed out");
      }
      pollfd pfd{fd->get(), POLLIN, 0};
      (void)::poll(&pfd, 1, 100);
      continue;
    }
    auto done = parse_link_datagram(std::span(buffer.data(), *n), [&](LinkEvent&& ev) {
      if (!ev.removed) links.push_back(std::move(ev.link));
    });
    if (!done) return std::unexpected(std::move(done.error()));
    if (*done) return links;
  }
}

Result<std::vector<LinkEvent>> LinkMonitor::read_events() {
  std::vector<LinkEvent> events;
  for (;;) {
    bool foreign = false;
    auto n = recv_kernel(events_.get(), buffer_, foreign);
    if (!n) {
      if (n.error().sys_errno() == ENOBUFS) {
        return fail(Errc::kResource, "link notifications were dropped (ENOBUFS)", ENOBUFS);
      }
      return std::unexpected(std::move(n.error()));
    }
    if (*n == 0) {
      if (foreign) continue;
      return events;
    }
    auto parsed = parse_link_datagram(std::span(buffer_.data(), *n),
                                      [&](LinkEvent&& ev) { events.push_back(std::move(ev)); });
    if (!parsed) return std::unexpected(std::move(parsed.error()));
  }
}

}  // namespace egressd::ebpf
