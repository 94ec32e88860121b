// Parsers of Cilium conntrack keys and values: every field of every layout, from entries laid out
// by hand at the offsets of Cilium's structs (ct_fixtures.h), never from the parser's own header.
#include "cilium/ct_entry.h"

#include <gtest/gtest.h>

#include "unit/cilium/ct_fixtures.h"

namespace egressd::cilium {
namespace {

using testing::Conn;
using testing::make_key;
using testing::make_value;

IpAddr ip(const char* text) {
  return *IpAddr::parse(text);
}

TEST(CiliumKey, Ipv4OutUndoesTheAddressSwap) {
  // Pod 10.0.1.5:40000 opened a TCP connection to 192.0.2.7:443.
  const auto key = make_key(Conn{"10.0.1.5", 40000, "192.0.2.7", 443, 6}, 0);
  ASSERT_EQ(key.size(), 14U);
  // As stored: daddr is the originator, saddr the responder (cilium/cilium#5848).
  EXPECT_EQ(key[0], 10);
  EXPECT_EQ(key[4], 192);
  CtTuple t;
  KeyKind kind{};
  ASSERT_TRUE(parse_key(Family::kIpv4, key, t, kind));
  EXPECT_EQ(kind, KeyKind::kOut);
  EXPECT_EQ(t.originator, ip("10.0.1.5"));
  EXPECT_EQ(t.originator_port, 40000);
  EXPECT_EQ(t.responder, ip("192.0.2.7"));
  EXPECT_EQ(t.responder_port, 443);
  EXPECT_EQ(t.proto, 6);
  EXPECT_EQ(t.flags, 0);
}

TEST(CiliumKey, Ipv6InKeepsOriginatorAndResponder) {
  const auto key = make_key(Conn{"fd00::1:7", 51000, "fd00::2:9", 8080, 17}, 1);
  ASSERT_EQ(key.size(), 38U);
  CtTuple t;
  KeyKind kind{};
  ASSERT_TRUE(parse_key(Family::kIpv6, key, t, kind));
  EXPECT_EQ(kind, KeyKind::kIn);
  EXPECT_EQ(t.originator, ip("fd00::1:7"));
  EXPECT_EQ(t.originator_port, 51000);
  EXPECT_EQ(t.responder, ip("fd00::2:9"));
  EXPECT_EQ(t.responder_port, 8080);
  EXPECT_EQ(t.proto, 17);
}

TEST(CiliumKey, FlagKindsAndNoProto) {
  const Conn c{"10.0.0.1", 1000, "10.0.0.2", 53, 17};
  const std::pair<uint8_t, KeyKind> cases[] = {
      {0, KeyKind::kOut},     {1, KeyKind::kIn},      {2, KeyKind::kRelated},
      {3, KeyKind::kRelated}, {4, KeyKind::kService}, {5, KeyKind::kService},
      {6, KeyKind::kService}, {7, KeyKind::kService},
  };
  for (const auto& [flags, want] : cases) {
    CtTuple t;
    KeyKind kind{};
    ASSERT_TRUE(parse_key(Family::kIpv4, make_key(c, flags), t, kind));
    EXPECT_EQ(kind, want) << "flags " << int{flags};
  }
  Conn none = c;
  none.proto = 0;
  CtTuple t;
  KeyKind kind{};
  ASSERT_TRUE(parse_key(Family::kIpv6, make_key(Conn{"::1", 1, "::2", 2, 0}, 0), t, kind));
  EXPECT_EQ(kind, KeyKind::kNoProto);
  ASSERT_TRUE(parse_key(Family::kIpv4, make_key(none, 1), t, kind));
  EXPECT_EQ(kind, KeyKind::kNoProto);
}

TEST(CiliumKey, ServiceKeyIsNotSwapped) {
  // Client 10.0.0.9:33000 -> ClusterIP 10.96.0.10:53; the SERVICE key stores daddr=VIP,
  // saddr=client, dport=client port, sport=service port. The parser reports it as stored (it is
  // skipped for accounting, so only the kind matters).
  const auto key = make_key(Conn{"10.0.0.9", 33000, "10.96.0.10", 53, 17}, 4);
  EXPECT_EQ(key[0], 10);
  EXPECT_EQ(key[1], 96);
  CtTuple t;
  KeyKind kind{};
  ASSERT_TRUE(parse_key(Family::kIpv4, key, t, kind));
  EXPECT_EQ(kind, KeyKind::kService);
  EXPECT_EQ(t.originator, ip("10.96.0.10"));
}

TEST(CiliumKey, WrongSizesAreRefused) {
  CtTuple t;
  KeyKind kind{};
  const std::vector<uint8_t> short_key(13), v6_key(38), long_key(15);
  EXPECT_FALSE(parse_key(Family::kIpv4, short_key, t, kind));
  EXPECT_FALSE(parse_key(Family::kIpv4, v6_key, t, kind));
  EXPECT_FALSE(parse_key(Family::kIpv4, long_key, t, kind));
  EXPECT_FALSE(parse_key(Family::kIpv6, short_key, t, kind));
  EXPECT_FALSE(parse_key(Family::kIpv6, std::vector<uint8_t>(37), t, kind));
}

TEST(CiliumValue, LayoutAKeepsDirections) {
  const auto v = make_value({3, 300, 5, 500, 123456, 0x13, 0x0100, 7, 42});
  CtValue out;
  ASSERT_TRUE(parse_value(Layout::kA, v, out));
  EXPECT_FALSE(out.counters.merged);
  EXPECT_EQ(out.counters.rx_packets, 3U);
  EXPECT_EQ(out.counters.rx_bytes, 300U);
  EXPECT_EQ(out.counters.tx_packets, 5U);
  EXPECT_EQ(out.counters.tx_bytes, 500U);
  EXPECT_EQ(out.lifetime, 123456U);
  EXPECT_EQ(out.flags, 0x13);
  EXPECT_EQ(out.field40, 7);  // ifindex
  EXPECT_EQ(out.src_sec_id, 42U);
}

TEST(CiliumValue, LayoutsBCDMergeAndIgnoreTheFirstWords) {
  // Offsets 0/8 hold v1.15's frozen rx counters (B/C after an upgrade) or D's nat_addr: never
  // counters.
  for (const Layout l : {Layout::kB, Layout::kC, Layout::kD}) {
    const auto v = make_value({0x1111, 0x2222, 9, 900, 777, 0x10, 0, 0x1f90, 0});
    CtValue out;
    ASSERT_TRUE(parse_value(l, v, out)) << layout_letter(l);
    EXPECT_TRUE(out.counters.merged);
    EXPECT_EQ(out.counters.packets, 9U);
    EXPECT_EQ(out.counters.bytes, 900U);
    EXPECT_EQ(out.counters.tx_packets | out.counters.rx_packets | out.counters.tx_bytes |
                  out.counters.rx_bytes,
              0U);
    EXPECT_EQ(out.lifetime, 777U);
    EXPECT_EQ(out.word0, 0x1111U);
  }
  // D's offset 40 is nat_port in network order; B's is ifindex in host order.
  const auto v = make_value({0, 0, 1, 60, 1, 0, 0, 0x1f90, 0});
  CtValue d, b;
  ASSERT_TRUE(parse_value(Layout::kD, v, d));
  ASSERT_TRUE(parse_value(Layout::kB, v, b));
  EXPECT_EQ(b.field40, 0x1f90);
  EXPECT_EQ(d.field40, 0x901f);
}

TEST(CiliumValue, ZeroCountersAreRecognized) {
  CtValue out;
  ASSERT_TRUE(parse_value(Layout::kB, testing::value_merged(0, 0, 50, 7, 7), out));
  EXPECT_TRUE(out.counters.all_zero());  // reserved0/backend_id are not counters
  ASSERT_TRUE(parse_value(Layout::kA, testing::value_a(0, 0, 0, 0, 50), out));
  EXPECT_TRUE(out.counters.all_zero());
  ASSERT_TRUE(parse_value(Layout::kA, testing::value_a(0, 0, 1, 0, 50), out));
  EXPECT_FALSE(out.counters.all_zero());
}

TEST(CiliumValue, WrongSizeIsRefused) {
  CtValue out;
  EXPECT_FALSE(parse_value(Layout::kA, std::vector<uint8_t>(55), out));
  EXPECT_FALSE(parse_value(Layout::kD, std::vector<uint8_t>(64), out));
}

TEST(CiliumStats, SumsPerCpuSlots) {
  std::vector<uint8_t> raw;
  for (const auto& slot : {testing::stats_slot(1, 100, 2, 200), testing::stats_slot(0, 0, 0, 0),
                           testing::stats_slot(10, 1000, 20, 2000)}) {
    raw.insert(raw.end(), slot.begin(), slot.end());
  }
  CtCounters c;
  ASSERT_TRUE(parse_stats(raw, 3, c));
  EXPECT_FALSE(c.merged);
  EXPECT_EQ(c.rx_packets, 11U);
  EXPECT_EQ(c.rx_bytes, 1100U);
  EXPECT_EQ(c.tx_packets, 22U);
  EXPECT_EQ(c.tx_bytes, 2200U);
  EXPECT_FALSE(parse_stats(raw, 2, c));
  EXPECT_FALSE(parse_stats(raw, 0, c));
}

}  // namespace
}  // namespace egressd::cilium
