// Which interfaces get the TC egress program, and which variant. Every packet must be counted
// once: at the egress of the device it finally leaves by, or at LOCAL_IN (docs/ebpf.md).
//  - loopback: no. Its packets are all delivered locally and counted at LOCAL_IN.
//  - upper devices stacked on another interface (bridge, bond, team, VRF, VLAN, macvlan, ipvlan,
//    Open vSwitch datapath): no. Their packets go on to the lower device's egress and are counted
//    there (VLAN tags are parsed), so counting them here too would count them twice.
//  - Ethernet-framed devices (physical NICs, veth, vxlan, geneve, gretap...): the Ethernet variant.
//  - L3 devices without a link-layer header (tun, WireGuard, ipip, sit, gre, PPP): the L3 variant.
//  - anything else (InfiniBand, CAN...): no, with the reason logged.
#pragma once

#include <string_view>

#include "ebpf/link_monitor.h"

namespace egressd::ebpf {

enum class TcProgram : uint8_t { kNone, kEthernet, kL3 };

struct InterfaceDecision {
  TcProgram program = TcProgram::kNone;
  std::string_view reason;  // why kNone
};

[[nodiscard]] InterfaceDecision decide_interface(const LinkInfo& link) noexcept;

}  // namespace egressd::ebpf
