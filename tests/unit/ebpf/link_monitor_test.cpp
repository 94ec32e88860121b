// rtnetlink link messages, built byte by byte as the kernel lays them out (rtnl_fill_ifinfo()):
// what is parsed from them, and what malformed ones are refused.
#include "ebpf/link_monitor.h"

#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <net/if.h>
#include <net/if_arp.h>

namespace egressd::ebpf {
namespace {

// Appends netlink attributes and messages to a 4-byte aligned buffer.
class NlBuilder {
 public:
  size_t begin_message(uint16_t type, int ifindex, uint16_t arphrd, uint32_t flags) {
    const size_t at = bytes_.size();
    nlmsghdr h{};
    h.nlmsg_type = type;
    append(&h, sizeof(h));
    ifinfomsg ifi{};
    ifi.ifi_family = AF_UNSPEC;
    ifi.ifi_index = ifindex;
    ifi.ifi_type = arphrd;
    ifi.ifi_flags = flags;
    append(&ifi, sizeof(ifi));
    return at;
  }
  void end_message(size_t at) {
    const auto len = static_cast<uint32_t>(bytes_.size() - at);
    std::memcpy(bytes_.data() + at, &len, sizeof(len));
  }
  size_t begin_attr(uint16_t type) {
    const size_t at = bytes_.size();
    nlattr a{0, type};
    append(&a, sizeof(a));
    return at;
  }
  void end_attr(size_t at) {
    const auto len = static_cast<uint16_t>(bytes_.size() - at);
    std::memcpy(bytes_.data() + at, &len, sizeof(len));
    pad();
  }
  void attr(uint16_t type, const void* data, size_t n) {
    const size_t at = begin_attr(type);
    append(data, n);
    end_attr(at);
  }
  void string_attr(uint16_t type, const std::string& s) { attr(type, s.c_str(), s.size() + 1); }
  void done() {
    nlmsghdr h{};
    h.nlmsg_len = NLMSG_LENGTH(sizeof(int));
    h.nlmsg_type = NLMSG_DONE;
    append(&h, sizeof(h));
    const int zero = 0;
    append(&zero, sizeof(zero));
  }
  void link(uint16_t type, int ifindex, const std::string& name, const std::string& kind,
            uint16_t arphrd = ARPHRD_ETHER) {
    const size_t m = begin_message(type, ifindex, arphrd, IFF_UP);
    string_attr(IFLA_IFNAME, name);
    const uint32_t mtu = 1500;
    attr(IFLA_MTU, &mtu, sizeof(mtu));
    if (!kind.empty()) {
      const size_t info = begin_attr(IFLA_LINKINFO | NLA_F_NESTED);
      string_attr(IFLA_INFO_KIND, kind);
      end_attr(info);
    }
    end_message(m);
  }
  std::vector<uint8_t>& bytes() { return bytes_; }

 private:
  void append(const void* p, size_t n) {
    const auto* b = static_cast<const uint8_t*>(p);
    bytes_.insert(bytes_.end(), b, b + n);
  }
  void pad() {
    while (bytes_.size() % 4 != 0) bytes_.push_back(0);
  }
  std::vector<uint8_t> bytes_;
};

Result<bool> parse(const std::vector<uint8_t>& bytes, std::vector<LinkEvent>& out) {
  return parse_link_datagram(bytes, [&](LinkEvent&& e) { out.push_back(std::move(e)); });
}

TEST(LinkMessages, DumpOfSeveralLinksThenDone) {
  NlBuilder b;
  b.link(RTM_NEWLINK, 1, "lo", "", ARPHRD_LOOPBACK);
  b.link(RTM_NEWLINK, 5, "veth-a", "veth");
  b.link(RTM_NEWLINK, 9, "wg0", "wireguard", ARPHRD_NONE);
  b.done();
  std::vector<LinkEvent> events;
  auto done = parse(b.bytes(), events);
  ASSERT_TRUE(done) << done.error().message();
  EXPECT_TRUE(*done);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].link.name, "lo");
  EXPECT_EQ(events[0].link.kind, "");
  EXPECT_EQ(events[0].link.type, ARPHRD_LOOPBACK);
  EXPECT_EQ(events[1].link.ifindex, 5);
  EXPECT_EQ(events[1].link.name, "veth-a");
  EXPECT_EQ(events[1].link.kind, "veth");
  EXPECT_EQ(events[1].link.flags, static_cast<uint32_t>(IFF_UP));
  EXPECT_EQ(events[2].link.kind, "wireguard");
  EXPECT_EQ(events[2].link.type, ARPHRD_NONE);
  EXPECT_FALSE(events[2].removed);
}

TEST(LinkMessages, DelLinkIsARemoval) {
  NlBuilder b;
  b.link(RTM_DELLINK, 12, "veth-c", "veth");
  std::vector<LinkEvent> events;
  auto done = parse(b.bytes(), events);
  ASSERT_TRUE(done);
  EXPECT_FALSE(*done);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_TRUE(events[0].removed);
  EXPECT_EQ(events[0].link.ifindex, 12);
}

TEST(LinkMessages, OtherMessageTypesAreSkipped) {
  NlBuilder b;
  const size_t m = b.begin_message(RTM_NEWADDR, 3, 0, 0);
  b.end_message(m);
  b.link(RTM_NEWLINK, 4, "eth0", "");
  std::vector<LinkEvent> events;
  ASSERT_TRUE(parse(b.bytes(), events));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].link.name, "eth0");
}

TEST(LinkMessages, EveryTruncationIsRefusedOrParsedWhole) {
  NlBuilder b;
  b.link(RTM_NEWLINK, 5, "veth-a", "veth");
  const auto whole = b.bytes();
  for (size_t n = 1; n < whole.size(); ++n) {
    std::vector<uint8_t> cut(whole.begin(), whole.begin() + static_cast<long>(n));
    std::vector<LinkEvent> events;
    auto r = parse(cut, events);
    EXPECT_FALSE(r.has_value()) << "a message cut to " << n << " bytes was accepted";
    EXPECT_TRUE(events.empty());
  }
}

TEST(LinkMessages, AttributeLongerThanItsMessageIsRefused) {
  NlBuilder b;
  b.link(RTM_NEWLINK, 5, "veth-a", "veth");
  auto bytes = b.bytes();
  // The first attribute (IFLA_IFNAME) claims 200 bytes.
  const size_t attr = NLMSG_LENGTH(sizeof(ifinfomsg));
  const uint16_t len = 200;
  std::memcpy(bytes.data() + attr, &len, sizeof(len));
  std::vector<LinkEvent> events;
  EXPECT_FALSE(parse(bytes, events));
  EXPECT_TRUE(events.empty());
}

TEST(LinkMessages, NameWithoutTerminatorIsRefused) {
  NlBuilder b;
  const size_t m = b.begin_message(RTM_NEWLINK, 5, ARPHRD_ETHER, 0);
  b.attr(IFLA_IFNAME, "veth", 4);  // no NUL
  b.end_message(m);
  std::vector<LinkEvent> events;
  EXPECT_FALSE(parse(b.bytes(), events));
}

TEST(LinkMessages, NameLongerThanIfnamsizIsRefused) {
  NlBuilder ok;
  ok.link(RTM_NEWLINK, 7, std::string(IFNAMSIZ - 1, 'v'), "veth", ARPHRD_ETHER);
  std::vector<LinkEvent> events;
  ASSERT_TRUE(parse(ok.bytes(), events));
  NlBuilder bad;
  bad.link(RTM_NEWLINK, 7, std::string(IFNAMSIZ, 'v'), "veth", ARPHRD_ETHER);
  EXPECT_FALSE(parse(bad.bytes(), events));
}

TEST(LinkMessages, MessageShorterThanIfinfomsgIsRefused) {
  std::vector<uint8_t> bytes(NLMSG_LENGTH(4), 0);
  nlmsghdr h{};
  h.nlmsg_len = static_cast<uint32_t>(bytes.size());
  h.nlmsg_type = RTM_NEWLINK;
  std::memcpy(bytes.data(), &h, sizeof(h));
  std::vector<LinkEvent> events;
  EXPECT_FALSE(parse(bytes, events));
}

TEST(LinkMessages, NetlinkErrorOutsideErrnoRangeIsMalformed) {
  // Found by rtnl_link_fuzz: INT_MIN was negated (undefined behaviour).
  for (const int code : {std::numeric_limits<int>::min(), -4096, 1, EPERM}) {
    std::vector<uint8_t> bytes(NLMSG_LENGTH(sizeof(nlmsgerr)), 0);
    nlmsghdr h{};
    h.nlmsg_len = static_cast<uint32_t>(bytes.size());
    h.nlmsg_type = NLMSG_ERROR;
    std::memcpy(bytes.data(), &h, sizeof(h));
    nlmsgerr e{};
    e.error = code;
    std::memcpy(bytes.data() + NLMSG_HDRLEN, &e, sizeof(e));
    std::vector<LinkEvent> events;
    auto r = parse(bytes, events);
    ASSERT_FALSE(r) << code;
    EXPECT_EQ(r.error().code(), Errc::kParse) << code;
  }
}

TEST(LinkMessages, NetlinkErrorIsAnError) {
  std::vector<uint8_t> bytes(NLMSG_LENGTH(sizeof(nlmsgerr)), 0);
  nlmsghdr h{};
  h.nlmsg_len = static_cast<uint32_t>(bytes.size());
  h.nlmsg_type = NLMSG_ERROR;
  std::memcpy(bytes.data(), &h, sizeof(h));
  nlmsgerr e{};
  e.error = -EPERM;
  std::memcpy(bytes.data() + NLMSG_HDRLEN, &e, sizeof(e));
  std::vector<LinkEvent> events;
  auto r = parse(bytes, events);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().sys_errno(), EPERM);
}

// Datagrams recorded from a 6.x kernel by tests/fixtures/rtnetlink/capture.py: a RTM_GETLINK dump
// of a namespace with lo, a veth pair and a bridge, then the notifications for a new veth that
// comes up, a rename, a bridge port, and deletes.
std::vector<uint8_t> fixture(const std::string& name) {
  std::ifstream in(std::string(EGRESSD_SOURCE_DIR) + "/tests/fixtures/rtnetlink/" + name,
                   std::ios::binary);
  EXPECT_TRUE(in.good()) << name;
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(LinkMessages, RealDumpOfANamespace) {
  std::vector<LinkEvent> events;
  for (const char* part : {"dump-0.bin", "dump-1.bin"}) {
    auto r = parse(fixture(part), events);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_FALSE(*r) << part;  // more to come
  }
  auto done = parse(fixture("dump-2.bin"), events);
  ASSERT_TRUE(done);
  EXPECT_TRUE(*done);  // NLMSG_DONE
  std::map<std::string, LinkInfo> by_name;
  for (const auto& e : events) {
    EXPECT_FALSE(e.removed);
    by_name[e.link.name] = e.link;
  }
  ASSERT_EQ(by_name.size(), 4u);
  EXPECT_EQ(by_name.at("lo").type, ARPHRD_LOOPBACK);
  EXPECT_EQ(by_name.at("lo").kind, "");
  EXPECT_EQ(by_name.at("veth-host").kind, "veth");
  EXPECT_EQ(by_name.at("veth-host").type, ARPHRD_ETHER);
  EXPECT_NE(by_name.at("veth-host").flags & IFF_UP, 0u);
  EXPECT_EQ(by_name.at("veth-pod").kind, "veth");
  EXPECT_EQ(by_name.at("veth-pod").flags & IFF_UP, 0u);
  EXPECT_EQ(by_name.at("br0").kind, "bridge");
  EXPECT_NE(by_name.at("veth-host").ifindex, by_name.at("veth-pod").ifindex);
}

TEST(LinkMessages, RealNotifications) {
  std::vector<LinkEvent> events;
  for (int i = 0; i <= 16; ++i) {
    auto r = parse(fixture("event-" + std::to_string(i) + ".bin"), events);
    ASSERT_TRUE(r) << i << ": " << r.error().message();
  }
  bool added = false, renamed = false, veth_removed = false, bridge_removed = false;
  for (const auto& e : events) {
    added |= !e.removed && e.link.name == "veth-new" && e.link.kind == "veth";
    renamed |= !e.removed && e.link.name == "veth-renamed";
    veth_removed |= e.removed && e.link.name == "veth-new";
    bridge_removed |= e.removed && e.link.name == "br0" && e.link.kind == "bridge";
  }
  EXPECT_TRUE(added);
  EXPECT_TRUE(renamed);
  EXPECT_TRUE(veth_removed);
  EXPECT_TRUE(bridge_removed);
}

// Every prefix of a real datagram that cuts a message is refused, never half-read.
TEST(LinkMessages, TruncatedRealDatagramsAreRefused) {
  const auto whole = fixture("dump-0.bin");
  std::vector<LinkEvent> events;
  ASSERT_TRUE(parse(whole, events));
  const size_t messages = events.size();
  for (size_t cut = 1; cut < whole.size(); ++cut) {
    std::vector<LinkEvent> got;
    auto r = parse(
        std::vector<uint8_t>(whole.begin(), whole.begin() + static_cast<std::ptrdiff_t>(cut)), got);
    if (r) {
      // A cut at a message boundary is a shorter valid datagram.
      EXPECT_LT(got.size(), messages) << cut;
    }
  }
}

}  // namespace
}  // namespace egressd::ebpf
