// LinkMonitor: the network interfaces of the agent's namespace over rtnetlink — a dump of the
// current ones (RTM_GETLINK) and the RTNLGRP_LINK notifications that follow (RTM_NEWLINK when an
// interface appears or changes, RTM_DELLINK when it goes away or moves to another namespace).
// Messages not sent by the kernel (sender port id != 0) are dropped.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "egressd/common/error.h"
#include "egressd/common/unique_fd.h"

namespace egressd::ebpf {

struct LinkInfo {
  int ifindex = 0;
  std::string name;
  std::string kind;    // IFLA_INFO_KIND: "veth", "bridge", "vlan"...; empty for physical NICs
  uint16_t type = 0;   // ARPHRD_*
  uint32_t flags = 0;  // IFF_*
};

struct LinkEvent {
  bool removed = false;  // RTM_DELLINK
  LinkInfo link;
};

// Walks the netlink messages of one datagram, calling `fn` for each RTM_NEWLINK/RTM_DELLINK.
// Returns true once NLMSG_DONE is seen; an error for NLMSG_ERROR or bytes that are not whole
// messages or attributes (a malformed link message is an error, never half-read).
[[nodiscard]] Result<bool> parse_link_datagram(std::span<const uint8_t> datagram,
                                               const std::function<void(LinkEvent&&)>& fn);

class LinkMonitor {
 public:
  // Subscribes to RTNLGRP_LINK before anything is dumped, so no interface is missed in between.
  [[nodiscard]] static Result<LinkMonitor> open();

  [[nodiscard]] int fd() const noexcept { return events_.get(); }
  // Every interface of the namespace now (a separate socket, so queued events are kept).
  [[nodiscard]] Result<std::vector<LinkInfo>> dump() const;
  // The notifications queued on the event socket (non-blocking). Errc::kResource: the kernel
  // dropped some (ENOBUFS); the caller dumps again.
  [[nodiscard]] Result<std::vector<LinkEvent>> read_events();

 private:
  explicit LinkMonitor(UniqueFd events) : events_(std::move(events)) {}
  UniqueFd events_;
  std::vector<uint8_t> buffer_ = std::vector<uint8_t>(size_t{64} * 1024);
};

}  // namespace egressd::ebpf
