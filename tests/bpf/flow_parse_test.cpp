// The flow programs on fixture packets through BPF_PROG_TEST_RUN: each row is a packet built by
// tests/common/packet_builder.h and the map state it must leave — one key with exact counters, or
// no key and one skip reason. Expected lengths come from the builder's frame sizes, never from
// the program. Test-run skbs carry no conntrack entry, so keys are the packet's own addresses
// (the conntrack path is covered by the integration tests on real traffic).
#include <array>
#include <optional>
#include <string>
#include <vector>

#include "common/packet_builder.h"
#include "flow_fixture.h"

namespace egressd::testing {
namespace {

const IpAddr kA4 = IpAddr::parse("10.244.1.10").value();
const IpAddr kB4 = IpAddr::parse("203.0.113.10").value();
const IpAddr kA6 = IpAddr::parse("fd00:244:1::10").value();
const IpAddr kB6 = IpAddr::parse("2001:db8:113::10").value();

enum class Prog : uint8_t { kTcEthernet, kLocalIn };

struct Expected {
  FlowId id;
  uint64_t bytes;  // L3 bytes of the one packet
};

struct Case {
  std::string name;
  std::vector<uint8_t> frame;
  std::optional<Expected> counted;  // nullopt: skipped for `reason`
  uint32_t reason = EGRESSD_FLOW_STAT_MAX;
  Prog prog = Prog::kTcEthernet;
};

constexpr size_t kEth = 14;

// A counted case: the key and its L3 length (the frame minus `l2` link-layer bytes).
Case counted(std::string name, std::vector<uint8_t> frame, FlowId id, size_t l2 = kEth) {
  const uint64_t bytes = frame.size() - l2;
  return Case{std::move(name), std::move(frame), Expected{id, bytes}};
}
Case skipped(std::string name, std::vector<uint8_t> frame, uint32_t reason) {
  return Case{std::move(name), std::move(frame), std::nullopt, reason};
}

PacketBuilder eth4() {
  return std::move(PacketBuilder().ethernet(0x0800));
}
PacketBuilder eth6() {
  return std::move(PacketBuilder().ethernet(0x86DD));
}

void PrintTo(const Case& c, std::ostream* os) {
  *os << c.name << " (" << c.frame.size() << " bytes)";
}

std::vector<Case> tc_cases() {
  const std::array<uint8_t, 8> opts = {0x94, 0x04, 0, 0, 0x01, 0x01, 0x01, 0x00};  // RA, NOPs
  std::vector<Case> c;
  c.push_back(counted("ipv4 tcp", eth4().ipv4(kA4, kB4, 6).tcp(40000, 443).payload(100).finish(),
                      {kA4, kB4, 6}));
  c.push_back(counted("ipv4 udp", eth4().ipv4(kA4, kB4, 17).udp(5000, 53).payload(33).finish(),
                      {kA4, kB4, 17}));
  c.push_back(counted("ipv4 icmp echo", eth4().ipv4(kA4, kB4, 1).icmp(8, 0).payload(56).finish(),
                      {kA4, kB4, 1}));
  c.push_back(counted("ipv4 options", eth4().ipv4(kA4, kB4, 6, opts).tcp(1, 2).payload(10).finish(),
                      {kA4, kB4, 6}));
  c.push_back(counted("ipv4 gre (other protocol)", eth4().ipv4(kA4, kB4, 47).payload(24).finish(),
                      {kA4, kB4, 47}));
  c.push_back(counted("ipv4 protocol 253, no payload", eth4().ipv4(kA4, kB4, 253).finish(),
                      {kA4, kB4, 253}));
  c.push_back(counted("ipv4 later fragment: no l4 header needed",
                      eth4().ipv4(kA4, kB4, 6, {}, 185).payload(8).finish(), {kA4, kB4, 6}));
  c.push_back(counted("802.1Q ipv4 udp",
                      PacketBuilder()
                          .ethernet(0x8100)
                          .vlan(100, 0x0800)
                          .ipv4(kA4, kB4, 17)
                          .udp(1, 2)
                          .payload(40)
                          .finish(),
                      {kA4, kB4, 17}, kEth + 4));
  c.push_back(counted("802.1ad+802.1Q ipv6 tcp",
                      PacketBuilder()
                          .ethernet(0x88A8)
                          .vlan(10, 0x8100)
                          .vlan(20, 0x86DD)
                          .ipv6(kA6, kB6, 6)
                          .tcp(1, 2)
                          .payload(7)
                          .finish(),
                      {kA6, kB6, 6}, kEth + 8));
  c.push_back(counted("ipv6 tcp", eth6().ipv6(kA6, kB6, 6).tcp(40000, 443).payload(1000).finish(),
                      {kA6, kB6, 6}));
  c.push_back(counted("ipv6 udp", eth6().ipv6(kA6, kB6, 17).udp(5000, 53).payload(33).finish(),
                      {kA6, kB6, 17}));
  c.push_back(counted("icmpv6 echo", eth6().ipv6(kA6, kB6, 58).icmp(128, 0).payload(56).finish(),
                      {kA6, kB6, 58}));
  c.push_back(counted(
      "ipv6 hop-by-hop + dest opts + tcp",
      eth6().ipv6(kA6, kB6, 0).ipv6_ext(0, 60, 8).ipv6_ext(60, 6, 16).tcp(1, 2).payload(5).finish(),
      {kA6, kB6, 6}));
  c.push_back(counted("ipv6 routing + ah + udp",
                      eth6()
                          .ipv6(kA6, kB6, 43)
                          .ipv6_ext(43, 51, 24)
                          .ipv6_ext(51, 17, 16)
                          .udp(1, 2)
                          .payload(3)
                          .finish(),
                      {kA6, kB6, 17}));
  c.push_back(
      counted("ipv6 first fragment udp",
              eth6().ipv6(kA6, kB6, 44).ipv6_fragment(17, 0, true).udp(1, 2).payload(64).finish(),
              {kA6, kB6, 17}));
  c.push_back(counted("ipv6 later fragment: no l4 header",
                      eth6().ipv6(kA6, kB6, 44).ipv6_fragment(17, 185, false).payload(3).finish(),
                      {kA6, kB6, 17}));
  c.push_back(counted("ipv6 esp (other protocol)", eth6().ipv6(kA6, kB6, 50).payload(40).finish(),
                      {kA6, kB6, 50}));
  // Ethernet padding after a short IPv4 packet is not IP bytes: the total length counts.
  {
    auto frame = eth4().ipv4(kA4, kB4, 6).tcp(1, 2, 0x10).finish();
    const uint64_t l3 = frame.size() - kEth;
    frame.resize(60, 0);
    c.push_back(Case{"ipv4 with ethernet padding", frame, Expected{{kA4, kB4, 6}, l3}});
  }

  c.push_back(skipped("arp", PacketBuilder().ethernet(0x0806).payload(28).finish(),
                      EGRESSD_FLOW_STAT_NOT_IP));
  c.push_back(skipped("lldp", PacketBuilder().ethernet(0x88CC).payload(40).finish(),
                      EGRESSD_FLOW_STAT_NOT_IP));
  c.push_back(skipped("icmpv6 neighbour solicitation",
                      eth6().ipv6(kA6, kB6, 58).icmp(135, 0).payload(16).finish(),
                      EGRESSD_FLOW_STAT_ND_MLD));
  c.push_back(skipped("mldv2 report after hop-by-hop",
                      eth6().ipv6(kA6, kB6, 0).ipv6_ext(0, 58, 8).icmp(143, 0).payload(20).finish(),
                      EGRESSD_FLOW_STAT_ND_MLD));
  // The kernel refuses to test-run an IPv4/IPv6 frame shorter than its fixed IP header (and any
  // frame shorter than Ethernet), so cut headers go behind a VLAN tag, which it does not parse.
  c.push_back(skipped("ipv4 header cut after 10 bytes",
                      PacketBuilder()
                          .ethernet(0x8100)
                          .vlan(7, 0x0800)
                          .ipv4(kA4, kB4, 6)
                          .tcp(1, 2)
                          .finish_truncated(kEth + 4 + 10),
                      EGRESSD_FLOW_STAT_TRUNCATED));
  c.push_back(skipped("ipv6 header cut after 30 bytes",
                      PacketBuilder()
                          .ethernet(0x8100)
                          .vlan(7, 0x86DD)
                          .ipv6(kA6, kB6, 6)
                          .tcp(1, 2)
                          .finish_truncated(kEth + 4 + 30),
                      EGRESSD_FLOW_STAT_TRUNCATED));
  c.push_back(skipped("vlan tag cut", PacketBuilder().ethernet(0x8100).finish_truncated(16),
                      EGRESSD_FLOW_STAT_TRUNCATED));
  c.push_back(skipped("ipv4 total length beyond the frame",
                      eth4().ipv4(kA4, kB4, 17).udp(1, 2).payload(20).length_field(200).finish(),
                      EGRESSD_FLOW_STAT_TRUNCATED));
  c.push_back(skipped("ipv4 total length below the header",
                      eth4().ipv4(kA4, kB4, 17).udp(1, 2).payload(20).length_field(12).finish(),
                      EGRESSD_FLOW_STAT_BAD_LENGTH));
  c.push_back(skipped("ipv4 total length 0 without gso",
                      eth4().ipv4(kA4, kB4, 17).udp(1, 2).payload(20).length_field(0).finish(),
                      EGRESSD_FLOW_STAT_BAD_LENGTH));
  {
    auto frame = eth4().ipv4(kA4, kB4, 6).tcp(1, 2).finish();
    frame[kEth] = 0x44;  // IHL 4: shorter than the fixed header
    c.push_back(skipped("ipv4 ihl 4", frame, EGRESSD_FLOW_STAT_BAD_HEADER));
    frame[kEth] = 0x65;  // version 6 in an IPv4 frame
    c.push_back(skipped("version 6 in an ipv4 frame", frame, EGRESSD_FLOW_STAT_BAD_HEADER));
    frame[kEth] = 0x4f;  // IHL 15: options run past the total length
    c.push_back(skipped("ipv4 ihl past the total length", frame, EGRESSD_FLOW_STAT_BAD_LENGTH));
  }
  c.push_back(skipped("ipv4 tcp header cut by the total length",
                      eth4().ipv4(kA4, kB4, 6).tcp(1, 2).length_field(20 + 10).finish(),
                      EGRESSD_FLOW_STAT_TRUNCATED));
  c.push_back(skipped("ipv4 udp without its header", eth4().ipv4(kA4, kB4, 17).finish(),
                      EGRESSD_FLOW_STAT_TRUNCATED));
  c.push_back(skipped("ipv6 payload length beyond the frame",
                      eth6().ipv6(kA6, kB6, 17).udp(1, 2).length_field(500).finish(),
                      EGRESSD_FLOW_STAT_TRUNCATED));
  c.push_back(skipped("ipv6 payload length 0 without gso (jumbogram)",
                      eth6().ipv6(kA6, kB6, 17).udp(1, 2).length_field(0).finish(),
                      EGRESSD_FLOW_STAT_BAD_LENGTH));
  c.push_back(skipped(
      "ipv6 extension header past the payload",
      eth6().ipv6(kA6, kB6, 0).ipv6_ext(0, 6, 64).length_field(16).finish_truncated(14 + 40 + 16),
      EGRESSD_FLOW_STAT_TRUNCATED));
  c.push_back(skipped("ipv6 fragment header cut",
                      eth6()
                          .ipv6(kA6, kB6, 44)
                          .ipv6_fragment(17, 0, true)
                          .length_field(4)
                          .finish_truncated(14 + 40 + 4),
                      EGRESSD_FLOW_STAT_TRUNCATED));
  {
    PacketBuilder b = eth6();
    b.ipv6(kA6, kB6, 60);
    for (int i = 0; i < 7; ++i) b.ipv6_ext(60, i == 6 ? 6 : 60, 8);
    c.push_back(skipped("seven ipv6 extension headers", b.tcp(1, 2).finish(),
                        EGRESSD_FLOW_STAT_EXT_HEADERS));
  }
  c.push_back(
      skipped("icmpv6 header cut by the payload length",
              eth6().ipv6(kA6, kB6, 58).icmp(128, 0).length_field(4).finish_truncated(14 + 44),
              EGRESSD_FLOW_STAT_TRUNCATED));
  c.push_back(skipped(
      "ipv6 version 4 in an ipv6 frame",
      [] {
        auto f = eth6().ipv6(kA6, kB6, 6).tcp(1, 2).finish();
        f[kEth] = 0x40;
        return f;
      }(),
      EGRESSD_FLOW_STAT_BAD_HEADER));
  return c;
}

// The LOCAL_IN program sees the same packets as the kernel delivers them (test_run_nf strips the
// Ethernet header with eth_type_trans()).
std::vector<Case> local_in_cases() {
  std::vector<Case> c;
  c.push_back(counted("local_in ipv4 tcp",
                      eth4().ipv4(kB4, kA4, 6).tcp(443, 40000).payload(1400).finish(),
                      {kB4, kA4, 6}));
  c.push_back(counted("local_in ipv4 udp",
                      eth4().ipv4(kB4, kA4, 17).udp(53, 5000).payload(200).finish(),
                      {kB4, kA4, 17}));
  c.push_back(
      counted("local_in ipv6 dest opts + udp",
              eth6().ipv6(kB6, kA6, 60).ipv6_ext(60, 17, 8).udp(53, 5000).payload(9).finish(),
              {kB6, kA6, 17}));
  c.push_back(counted("local_in icmpv6 echo reply",
                      eth6().ipv6(kB6, kA6, 58).icmp(129, 0).payload(56).finish(), {kB6, kA6, 58}));
  c.push_back(skipped("local_in neighbour advertisement",
                      eth6().ipv6(kB6, kA6, 58).icmp(136, 0).payload(16).finish(),
                      EGRESSD_FLOW_STAT_ND_MLD));
  c.push_back(skipped("local_in ipv4 total length beyond the packet",
                      eth4().ipv4(kB4, kA4, 17).udp(1, 2).payload(8).length_field(300).finish(),
                      EGRESSD_FLOW_STAT_TRUNCATED));
  c.push_back(skipped(
      "local_in ipv6 seven extension headers",
      [] {
        PacketBuilder b = eth6();
        b.ipv6(kB6, kA6, 0);
        b.ipv6_ext(0, 60, 8);
        for (int i = 0; i < 6; ++i) b.ipv6_ext(60, i == 5 ? 17 : 60, 8);
        return b.udp(1, 2).finish();
      }(),
      EGRESSD_FLOW_STAT_EXT_HEADERS));
  for (auto& x : c) x.prog = Prog::kLocalIn;
  return c;
}

class FlowParse : public ::testing::TestWithParam<Case> {
 protected:
  static void SetUpTestSuite() { object_ = load_flow_object(); }
  static void TearDownTestSuite() { object_.reset(); }
  static std::unique_ptr<ebpf::FlowObject> object_;
};
std::unique_ptr<ebpf::FlowObject> FlowParse::object_;

TEST_P(FlowParse, LeavesTheExpectedMapState) {
  ASSERT_NE(object_, nullptr);
  const Case& c = GetParam();
  const int buffer = object_->buffer_map_fd(0);  // active since load: nothing switches here
  clear_buffer(buffer);
  const auto before = read_stats(object_->stats_map_fd());
  Result<loader::TestRunResult> run = fail(Errc::kInternal, "not run");
  if (c.prog == Prog::kTcEthernet) {
    run = loader::test_run(object_->tc_ethernet_fd(), c.frame);
    ASSERT_TRUE(run) << run.error().message();
    EXPECT_EQ(static_cast<int32_t>(run->retval), TC_ACT_UNSPEC)
        << "the program must not end the chain";
  } else {
    const bool v6 = c.frame[12] == 0x86 && c.frame[13] == 0xDD;
    const auto ctx = nf_ctx(1 /* NF_INET_LOCAL_IN */, v6 ? 10 : 2);
    run = loader::test_run(object_->local_in_fd(), c.frame, 1, ctx);
    ASSERT_TRUE(run) << run.error().message();
    EXPECT_EQ(run->retval, 1u) << "NF_ACCEPT";
  }
  const auto after = read_stats(object_->stats_map_fd());
  std::array<uint64_t, EGRESSD_FLOW_STAT_MAX> delta{};
  for (size_t i = 0; i < delta.size(); ++i) delta[i] = after[i] - before[i];
  const auto flows = read_buffer(buffer);
  if (c.counted) {
    ASSERT_EQ(flows.size(), 1u);
    const auto& [id, counters] = *flows.begin();
    EXPECT_EQ(id.initiator, c.counted->id.initiator);
    EXPECT_EQ(id.responder, c.counted->id.responder);
    EXPECT_EQ(id.proto, c.counted->id.proto);
    EXPECT_EQ(counters.orig_bytes, c.counted->bytes);
    EXPECT_EQ(counters.orig_packets, 1u);
    EXPECT_EQ(counters.reply_bytes, 0u);
    EXPECT_EQ(counters.reply_packets, 0u);
    const uint32_t hook = c.prog == Prog::kTcEthernet ? EGRESSD_FLOW_STAT_EGRESS_PACKETS
                                                      : EGRESSD_FLOW_STAT_LOCAL_IN_PACKETS;
    EXPECT_EQ(delta[hook], 1u);
    EXPECT_EQ(delta[EGRESSD_FLOW_STAT_NO_CONNTRACK], 1u) << "test-run skbs have no conntrack";
  } else {
    EXPECT_TRUE(flows.empty()) << "a skipped packet left a key";
    for (uint32_t i = 0; i < EGRESSD_FLOW_STAT_MAX; ++i) {
      EXPECT_EQ(delta[i], i == c.reason ? 1u : 0u) << "stat " << i;
    }
  }
}

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  std::string n;
  for (const char ch : info.param.name)
    n += std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
  return n;
}

INSTANTIATE_TEST_SUITE_P(TcEgress, FlowParse, ::testing::ValuesIn(tc_cases()), case_name);
INSTANTIATE_TEST_SUITE_P(LocalIn, FlowParse, ::testing::ValuesIn(local_in_cases()), case_name);

}  // namespace
}  // namespace egressd::testing
