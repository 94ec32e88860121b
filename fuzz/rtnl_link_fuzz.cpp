// Fuzzes the rtnetlink link parser (userspace/ebpf/link_monitor.cpp): arbitrary bytes as one
// datagram from the kernel (RTM_GETLINK dump part or RTNLGRP_LINK notification). Besides crashes
// and sanitizer reports it traps on: an error message spanning lines, an interface name with a
// NUL or longer than IFNAMSIZ-1, a kind longer than the input, or more events than whole messages
// fit.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include <net/if.h>

#include "ebpf/link_monitor.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // An allocation of exactly the input's size, 4-byte aligned as a recvmsg() buffer is, so
  // AddressSanitizer flags any read past the end.
  std::vector<uint32_t> storage((size + 3) / 4);
  if (size > 0) std::memcpy(storage.data(), data, size);
  const std::span<const uint8_t> datagram(reinterpret_cast<const uint8_t*>(storage.data()), size);
  size_t events = 0;
  auto r = egressd::ebpf::parse_link_datagram(datagram, [&](egressd::ebpf::LinkEvent&& e) {
    ++events;
    if (e.link.name.size() >= IFNAMSIZ) __builtin_trap();
    if (e.link.name.find('\0') != std::string::npos) __builtin_trap();
    if (e.link.kind.size() > size) __builtin_trap();
  });
  if (!r && r.error().message().find('\n') != std::string::npos) __builtin_trap();
  // Each event needs at least a netlink header and an ifinfomsg.
  if (events * (16 + 16) > size) __builtin_trap();
  return 0;
}
