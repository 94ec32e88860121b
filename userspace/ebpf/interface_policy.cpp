#include "ebpf/interface_policy.h"

// The kernel's headers: glibc's <net/if_arp.h> lacks the newer ARPHRD_* values.
#include <linux/if.h>
#include <linux/if_arp.h>

#include <algorithm>
#include <array>

namespace egressd::ebpf {

namespace {

// IFLA_INFO_KIND of devices that hand their packets to another device of the namespace.
constexpr std::array<std::string_view, 11> kUpperKinds = {
    "bridge",  "bond",   "team",   "vrf",         "vlan", "macvlan",
    "macvtap", "ipvlan", "ipvtap", "openvswitch", "hsr"};

// ARPHRD_* of devices whose frames start at the network header at TC egress.
constexpr std::array<uint16_t, 8> kL3Types = {ARPHRD_NONE,    ARPHRD_PPP,  ARPHRD_TUNNEL,
                                              ARPHRD_TUNNEL6, ARPHRD_SIT,  ARPHRD_IPGRE,
                                              ARPHRD_IP6GRE,  ARPHRD_RAWIP};

}  // namespace

InterfaceDecision decide_interface(const LinkInfo& link) noexcept {
  if ((link.flags & IFF_LOOPBACK) != 0 || link.type == ARPHRD_LOOPBACK) {
    return {TcProgram::kNone, "loopback (counted at LOCAL_IN)"};
  }
  if (std::find(kUpperKinds.begin(), kUpperKinds.end(), link.kind) != kUpperKinds.end()) {
    return {TcProgram::kNone, "upper device (counted on its lower devices)"};
  }
  if (link.type == ARPHRD_ETHER) return {TcProgram::kEthernet, {}};
  if (std::find(kL3Types.begin(), kL3Types.end(), link.type) != kL3Types.end()) {
    return {TcProgram::kL3, {}};
  }
  return {TcProgram::kNone, "unsupported link type"};
}

}  // namespace egressd::ebpf
