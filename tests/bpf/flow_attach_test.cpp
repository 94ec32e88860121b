// The flow programs attached to real devices, each test in a private network namespace of its own
// thread (unshare(CLONE_NEWNET) affects the calling thread only; the namespace goes away with its
// devices when the thread ends): the L3 variant on a tun device (which BPF_PROG_TEST_RUN cannot
// exercise: it always parses an Ethernet header), TCX and clsact attachment and removal, and the
// interface policy applied to a real rtnetlink dump.
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <unistd.h>

#include <linux/if_tun.h>

#include <cstdlib>
#include <functional>
#include <thread>

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "ebpf/attacher.h"
#include "ebpf/link_monitor.h"
#include "flow_fixture.h"
#include "loader/links.h"

namespace egressd::testing {
namespace {

// Runs `fn` on a thread inside a fresh network namespace; gtest assertions work inside.
void in_private_netns(const std::function<void()>& fn) {
  std::thread t([&] {
    ASSERT_EQ(::unshare(CLONE_NEWNET), 0) << "unshare(CLONE_NEWNET) needs root";
    fn();
  });
  t.join();
}

void sh(const std::string& cmd) {
  // Children of this thread inherit its network namespace.
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;  // NOLINT(cert-env33-c): test setup commands
}

int open_tun(const char* name) {
  const int fd = ::open("/dev/net/tun", O_RDWR | O_CLOEXEC);
  if (fd < 0) return -1;
  ifreq ifr{};
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
  std::strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
  if (::ioctl(fd, TUNSETIFF, &ifr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

void send_udp(const char* dst, size_t payload) {
  const int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(s, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(9999);
  ASSERT_EQ(::inet_pton(AF_INET, dst, &to.sin_addr), 1);
  const std::vector<uint8_t> data(payload, 0x42);
  EXPECT_EQ(
      ::sendto(s, data.data(), data.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof(to)),
      static_cast<ssize_t>(payload));
  ::close(s);
}

const IpAddr kTunLocal = IpAddr::parse("10.99.0.1").value();
const IpAddr kTunPeer = IpAddr::parse("10.99.0.2").value();

TEST(FlowAttach, L3ProgramOnATunDeviceWithTcx) {
  auto object = load_flow_object();
  ASSERT_NE(object, nullptr);
  in_private_netns([&] {
    const int tun = open_tun("egdtun0");
    ASSERT_GE(tun, 0) << "cannot create a tun device";
    // No IPv6 on the device: its router solicitations and MLD reports would queue first.
    sh("sysctl -q -w net.ipv6.conf.egdtun0.disable_ipv6=1 && "
       "ip addr add 10.99.0.1/24 dev egdtun0 && ip link set egdtun0 up");
    const int ifindex = static_cast<int>(::if_nametoindex("egdtun0"));
    {
      auto a = ebpf::TcAttachment::attach(ebpf::AttachMode::kTcx, object->tc_l3_fd(), ifindex);
      ASSERT_TRUE(a) << a.error().message();
      auto ids = loader::tcx_query(ifindex, loader::TcxDirection::kEgress);
      ASSERT_TRUE(ids);
      EXPECT_EQ(ids->size(), 1u);
      send_udp("10.99.0.2", 100);
      // The kernel handed the datagram to the tun device: 20 + 8 + 100 bytes.
      std::array<uint8_t, 2048> buf{};
      pollfd readable{tun, POLLIN, 0};
      ASSERT_EQ(::poll(&readable, 1, 30'000), 1) << "nothing reached the tun device";  // no hang
      EXPECT_EQ(::read(tun, buf.data(), buf.size()), 128);
    }
    auto ids = loader::tcx_query(ifindex, loader::TcxDirection::kEgress);
    ASSERT_TRUE(ids);
    EXPECT_TRUE(ids->empty()) << "the TCX link outlived its attachment";
    ::close(tun);
  });
  const auto flows = read_buffer(object->buffer_map_fd(0));
  ASSERT_EQ(flows.size(), 1u);
  const auto& [id, c] = *flows.begin();
  EXPECT_EQ(id.initiator, kTunLocal);
  EXPECT_EQ(id.responder, kTunPeer);
  EXPECT_EQ(id.proto, 17);
  EXPECT_EQ(c.orig_bytes, 128u);
  EXPECT_EQ(c.orig_packets, 1u);
}

TEST(FlowAttach, EthernetProgramWithClsactLeavesNoQdisc) {
  auto object = load_flow_object();
  ASSERT_NE(object, nullptr);
  in_private_netns([&] {
    sh("ip link add egdv0 type veth peer name egdv1 && ip addr add 10.98.0.1/24 dev egdv0 && "
       "ip link set egdv0 up && ip link set egdv1 up && "
       "ip neigh add 10.98.0.2 lladdr 02:00:00:00:00:02 dev egdv0");
    const int ifindex = static_cast<int>(::if_nametoindex("egdv0"));
    {
      auto a =
          ebpf::TcAttachment::attach(ebpf::AttachMode::kClsact, object->tc_ethernet_fd(), ifindex);
      ASSERT_TRUE(a) << a.error().message();
      sh("tc filter show dev egdv0 egress | grep -q 'direct-action'");
      send_udp("10.98.0.2", 300);
    }
    sh("! tc filter show dev egdv0 egress | grep -q 'direct-action'");
    sh("! tc qdisc show dev egdv0 | grep -q clsact");
    // A clsact qdisc someone else made stays, with their filters.
    sh("tc qdisc add dev egdv0 clsact");
    {
      auto a =
          ebpf::TcAttachment::attach(ebpf::AttachMode::kClsact, object->tc_ethernet_fd(), ifindex);
      ASSERT_TRUE(a) << a.error().message();
    }
    sh("tc qdisc show dev egdv0 | grep -q clsact");
  });
  const auto flows = read_buffer(object->buffer_map_fd(0));
  const FlowId want{IpAddr::parse("10.98.0.1").value(), IpAddr::parse("10.98.0.2").value(), 17};
  ASSERT_TRUE(flows.contains(want));
  EXPECT_EQ(flows.at(want).orig_bytes, 328u);
  EXPECT_EQ(flows.at(want).orig_packets, 1u);
}

// The policy on a real dump: loopback and the bridge get nothing, the veths the Ethernet program,
// the tun device the L3 one; a deleted interface is dropped on reconcile.
TEST(FlowAttach, InterfaceAttacherFollowsARealDump) {
  auto object = load_flow_object();
  ASSERT_NE(object, nullptr);
  in_private_netns([&] {
    const int tun = open_tun("egdtun1");
    ASSERT_GE(tun, 0);
    sh("ip link add egdv2 type veth peer name egdv3 && ip link add egdbr0 type bridge && "
       "ip link set egdv3 master egdbr0");
    auto monitor = ebpf::LinkMonitor::open();
    ASSERT_TRUE(monitor) << monitor.error().message();
    auto links = monitor->dump();
    ASSERT_TRUE(links) << links.error().message();
    SelfMetrics metrics;
    ebpf::InterfaceAttacher attacher(ebpf::AttachMode::kTcx, object->tc_ethernet_fd(),
                                     object->tc_l3_fd(), metrics);
    ASSERT_TRUE(attacher.reconcile(*links));
    EXPECT_EQ(attacher.attached(), 3u) << "egdv2, egdv3, egdtun1";
    const auto prog_of = [](const char* dev) {
      auto ids =
          loader::tcx_query(static_cast<int>(::if_nametoindex(dev)), loader::TcxDirection::kEgress);
      return ids && ids->size() == 1 ? (*ids)[0] : 0u;
    };
    const auto prog_id = [](int fd) {
      bpf_prog_info info{};
      uint32_t len = sizeof(info);
      return bpf_obj_get_info_by_fd(fd, &info, &len) == 0 ? info.id : 0u;
    };
    EXPECT_EQ(prog_of("egdv2"), prog_id(object->tc_ethernet_fd()));
    EXPECT_EQ(prog_of("egdv3"), prog_id(object->tc_ethernet_fd()));
    EXPECT_EQ(prog_of("egdtun1"), prog_id(object->tc_l3_fd()));
    EXPECT_EQ(prog_of("egdbr0"), 0u) << "a bridge's packets are counted on its ports";
    EXPECT_EQ(prog_of("lo"), 0u) << "loopback is counted at LOCAL_IN";
    // The veth pair goes away; notifications say so, and so does a fresh dump.
    sh("ip link del egdv2");
    auto events = monitor->read_events();
    ASSERT_TRUE(events) << events.error().message();
    bool removed = false;
    for (const auto& ev : *events) {
      if (ev.removed && (ev.link.name == "egdv2" || ev.link.name == "egdv3")) removed = true;
    }
    EXPECT_TRUE(removed) << "no RTM_DELLINK for the deleted veth pair";
    auto after = monitor->dump();
    ASSERT_TRUE(after);
    ASSERT_TRUE(attacher.reconcile(*after));
    EXPECT_EQ(attacher.attached(), 1u) << "only the tun device is left";
    attacher.clear();
    EXPECT_EQ(prog_of("egdtun1"), 0u);
    ::close(tun);
  });
}

}  // namespace
}  // namespace egressd::testing
