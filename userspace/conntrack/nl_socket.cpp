#include "conntrack/nl_socket.h"

#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>

#include <utility>

#include <fmt/format.h>
#include <libmnl/libmnl.h>
#include <sys/socket.h>

#include "conntrack/ct_parser.h"

namespace egressd::conntrack {

Result<NlSocket> NlSocket::open(std::string what) {
  mnl_socket* sock = mnl_socket_open2(NETLINK_NETFILTER, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (sock == nullptr) return fail_errno(fmt::format("{}: socket(NETLINK_NETFILTER)", what));
  NlSocket s(sock, std::move(what));
  if (mnl_socket_bind(sock, 0, MNL_SOCKET_AUTOPID) < 0) {
    return fail_errno(fmt::format("{}: bind", s.what_));
  }
  return s;
}

NlSocket::NlSocket(NlSocket&& other) noexcept
    : sock_(std::exchange(other.sock_, nullptr)), what_(std::move(other.what_)) {}

NlSocket& NlSocket::operator=(NlSocket&& other) noexcept {
  if (this != &other) {
    close();
    sock_ = std::exchange(other.sock_, nullptr);
    what_ = std::move(other.what_);
  }
  return *this;
}

NlSocket::~NlSocket() {
  close();
}

void NlSocket::close() noexcept {
  if (sock_ != nullptr) mnl_socket_close(sock_);
  sock_ = nullptr;
}

int NlSocket::fd() const noexcept {
  return mnl_socket_get_fd(sock_);
}

uint32_t NlSocket::portid() const noexcept {
  return mnl_socket_get_portid(sock_);
}

Status NlSocket::enable_netlink_option(int name, const char* label) {
  int on = 1;
  if (mnl_socket_setsockopt(sock_, name, &on, sizeof(on)) < 0) {
    return fail_errno(fmt::format("{}: setsockopt({})", what_, label));
  }
  return {};
}

Status NlSocket::subscribe(unsigned int group) {
  int g = static_cast<int>(group);
  if (mnl_socket_setsockopt(sock_, NETLINK_ADD_MEMBERSHIP, &g, sizeof(g)) < 0) {
    return fail_errno(fmt::format("{}: join netfilter group {} (needs CAP_NET_ADMIN)", what_, g));
  }
  return {};
}

Result<size_t> NlSocket::set_receive_buffer(size_t bytes) {
  int size = bytes > static_cast<size_t>(INT32_MAX / 2) ? INT32_MAX / 2 : static_cast<int>(bytes);
  if (setsockopt(fd(), SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0 &&
      setsockopt(fd(), SOL_SOCKET, SO_RCVBUF, &size, sizeof(size)) < 0) {
    return fail_errno(fmt::format("{}: setsockopt(SO_RCVBUF, {})", what_, size));
  }
  int actual = 0;
  socklen_t len = sizeof(actual);
  if (getsockopt(fd(), SOL_SOCKET, SO_RCVBUF, &actual, &len) < 0) {
    return fail_errno(fmt::format("{}: getsockopt(SO_RCVBUF)", what_));
  }
  return static_cast<size_t>(actual);
}

Status NlSocket::send(std::span<const uint8_t> message) {
  const ssize_t n = mnl_socket_sendto(sock_, message.data(), message.size());
  if (n < 0) return fail_errno(fmt::format("{}: send", what_));
  if (static_cast<size_t>(n) != message.size()) {
    return fail(Errc::kIo,
                fmt::format("{}: short send ({} of {} bytes)", what_, n, message.size()));
  }
  return {};
}

Result<NlSocket::Received> NlSocket::recv(std::span<uint8_t> buffer) {
  // recvmsg() directly rather than mnl_socket_recvfrom(): the sender's address is needed.
  sockaddr_nl from{};
  iovec iov{buffer.data(), buffer.size()};
  msghdr msg{};
  msg.msg_name = &from;
  msg.msg_namelen = sizeof(from);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  const ssize_t n = recvmsg(fd(), &msg, 0);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return Received{};
    return fail_errno(fmt::format("{}: recv", what_));
  }
  if ((msg.msg_flags & MSG_TRUNC) != 0) {
    return fail_errno(fmt::format("{}: recv: message larger than {} bytes", what_, buffer.size()),
                      ENOSPC);
  }
  if (msg.msg_namelen != sizeof(from) || from.nl_pid != 0) return Received{0, true};
  return Received{static_cast<size_t>(n), false};
}

std::span<const uint8_t> build_dump_request(std::span<uint8_t> buffer, uint8_t family,
                                            uint32_t seq) noexcept {
  nlmsghdr* nlh = mnl_nlmsg_put_header(buffer.data());
  nlh->nlmsg_type = ct_msg_type(IPCTNL_MSG_CT_GET);
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  nlh->nlmsg_seq = seq;
  auto* gen = static_cast<nfgenmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(nfgenmsg)));
  gen->nfgen_family = family;
  gen->version = NFNETLINK_V0;
  gen->res_id = 0;
  return buffer.first(nlh->nlmsg_len);
}

}  // namespace egressd::conntrack
