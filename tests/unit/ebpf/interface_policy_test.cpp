// Which interfaces the TC egress program goes on: every packet must leave by exactly one counted
// device (docs/ebpf.md).
#include "ebpf/interface_policy.h"

#include <gtest/gtest.h>
#include <net/if.h>
#include <net/if_arp.h>

namespace egressd::ebpf {
namespace {

TcProgram program_for(const char* kind, uint16_t type, uint32_t flags = IFF_UP) {
  LinkInfo l;
  l.ifindex = 7;
  l.name = "dev";
  l.kind = kind;
  l.type = type;
  l.flags = flags;
  return decide_interface(l).program;
}

TEST(InterfacePolicy, EthernetDevicesGetTheEthernetProgram) {
  for (const char* kind : {"", "veth", "vxlan", "geneve", "gretap", "netkit", "tun"}) {
    EXPECT_EQ(program_for(kind, ARPHRD_ETHER), TcProgram::kEthernet) << kind;
  }
}

TEST(InterfacePolicy, L3DevicesGetTheL3Program) {
  EXPECT_EQ(program_for("wireguard", ARPHRD_NONE), TcProgram::kL3);
  EXPECT_EQ(program_for("tun", ARPHRD_NONE), TcProgram::kL3);
  EXPECT_EQ(program_for("ipip", ARPHRD_TUNNEL), TcProgram::kL3);
  EXPECT_EQ(program_for("ip6tnl", ARPHRD_TUNNEL6), TcProgram::kL3);
  EXPECT_EQ(program_for("gre", ARPHRD_IPGRE), TcProgram::kL3);
  EXPECT_EQ(program_for("sit", ARPHRD_SIT), TcProgram::kL3);
  EXPECT_EQ(program_for("", ARPHRD_PPP), TcProgram::kL3);
}

TEST(InterfacePolicy, LoopbackIsCountedAtLocalIn) {
  EXPECT_EQ(program_for("", ARPHRD_LOOPBACK, IFF_UP | IFF_LOOPBACK), TcProgram::kNone);
  EXPECT_EQ(program_for("", ARPHRD_ETHER, IFF_UP | IFF_LOOPBACK), TcProgram::kNone);
}

TEST(InterfacePolicy, UpperDevicesAreCountedOnTheirLowerDevices) {
  for (const char* kind : {"bridge", "bond", "team", "vrf", "vlan", "macvlan", "macvtap", "ipvlan",
                           "ipvtap", "openvswitch", "hsr"}) {
    const LinkInfo l{3, "up0", kind, ARPHRD_ETHER, IFF_UP};
    const auto d = decide_interface(l);
    EXPECT_EQ(d.program, TcProgram::kNone) << kind;
    EXPECT_FALSE(d.reason.empty()) << kind;
  }
}

TEST(InterfacePolicy, OtherLinkTypesAreNotAttached) {
  EXPECT_EQ(program_for("", ARPHRD_INFINIBAND), TcProgram::kNone);
  EXPECT_EQ(program_for("vcan", 280 /* ARPHRD_CAN */), TcProgram::kNone);
}

}  // namespace
}  // namespace egressd::ebpf
