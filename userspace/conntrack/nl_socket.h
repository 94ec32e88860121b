// NlSocket: one NETLINK_NETFILTER socket (libmnl), non-blocking and close-on-exec, owned RAII.
//
// recv() accepts messages from the kernel only: any process may unicast to a netlink port id, so a
// message whose sender port id is not 0 could be a forged conntrack event and is dropped.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "egressd/common/error.h"

struct mnl_socket;

namespace egressd::conntrack {

class NlSocket {
 public:
  // `what` names the socket in errors ("conntrack dump socket").
  [[nodiscard]] static Result<NlSocket> open(std::string what);

  NlSocket(NlSocket&& other) noexcept;
  NlSocket& operator=(NlSocket&& other) noexcept;
  NlSocket(const NlSocket&) = delete;
  NlSocket& operator=(const NlSocket&) = delete;
  ~NlSocket();

  [[nodiscard]] int fd() const noexcept;
  [[nodiscard]] uint32_t portid() const noexcept;
  [[nodiscard]] const std::string& what() const noexcept { return what_; }

  // setsockopt(SOL_NETLINK, name, 1); `label` names the option in the error.
  [[nodiscard]] Status enable_netlink_option(int name, const char* label);
  // Joins a multicast group (NFNLGRP_*); needs CAP_NET_ADMIN.
  [[nodiscard]] Status subscribe(unsigned int group);
  // SO_RCVBUFFORCE (exceeds net.core.rmem_max, needs CAP_NET_ADMIN), else SO_RCVBUF. Returns the
  // size the kernel reports (twice the request: it counts its own overhead, socket(7)).
  [[nodiscard]] Result<size_t> set_receive_buffer(size_t bytes);

  [[nodiscard]] Status send(std::span<const uint8_t> message);

  struct Received {
    size_t bytes = 0;      // 0: nothing queued (EAGAIN), or a foreign message was dropped
    bool foreign = false;  // a message from a non-kernel sender was dropped
  };
  // One datagram. Errors keep the errno: ENOBUFS = the kernel dropped messages for this socket,
  // ENOSPC = the datagram did not fit `buffer` (truncated, dropped).
  [[nodiscard]] Result<Received> recv(std::span<uint8_t> buffer);

 private:
  NlSocket(mnl_socket* sock, std::string what) noexcept : sock_(sock), what_(std::move(what)) {}
  void close() noexcept;

  mnl_socket* sock_ = nullptr;
  std::string what_;
};

// Builds an IPCTNL_MSG_CT_GET dump request for `family` (AF_UNSPEC: every family) into `buffer`
// (at least 32 bytes); returns the request's bytes.
[[nodiscard]] std::span<const uint8_t> build_dump_request(std::span<uint8_t> buffer, uint8_t family,
                                                          uint32_t seq) noexcept;

}  // namespace egressd::conntrack
