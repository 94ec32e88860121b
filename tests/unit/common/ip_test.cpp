#include "egressd/common/ip.h"

#include <unordered_set>

#include <gtest/gtest.h>

namespace egressd {
namespace {

TEST(IpAddr, ParsesAndFormatsBothFamilies) {
  for (const char* text : {"10.244.1.10", "0.0.0.0", "255.255.255.255", "fd00:244:1::10", "::1",
                           "::", "2001:db8::ff00:42:8329"}) {
    const auto ip = IpAddr::parse(text);
    ASSERT_TRUE(ip.has_value()) << text;
    EXPECT_EQ(ip->to_string(), text);
  }
}

TEST(IpAddr, Ipv4IsStoredMapped) {
  const auto ip = IpAddr::parse("192.168.1.2").value();
  EXPECT_TRUE(ip.is_v4());
  EXPECT_EQ(ip.bytes()[10], 0xff);
  EXPECT_EQ(ip.bytes()[15], 2);
  EXPECT_EQ(ip, IpAddr::v4(0xC0A80102));
  EXPECT_FALSE(IpAddr::parse("fd00::1")->is_v4());
  // An IPv4-mapped IPv6 literal is the same address as the dotted quad.
  EXPECT_EQ(IpAddr::parse("::ffff:192.168.1.2").value(), ip);
}

TEST(IpAddr, RejectsGarbage) {
  for (const char* text : {"", "10.0.0", "10.0.0.256", "1.2.3.4/32", "fd00:::1", "host", " 1.2.3.4",
                           "1.2.3.4 ", "01234567890123456789012345678901234567890123456789"}) {
    EXPECT_FALSE(IpAddr::parse(text).has_value()) << text;
  }
}

TEST(IpAddr, UnspecifiedLikeKeepsFamily) {
  EXPECT_EQ(unspecified_like(IpAddr::parse("8.8.8.8").value()).to_string(), "0.0.0.0");
  EXPECT_EQ(unspecified_like(IpAddr::parse("2001:db8::1").value()).to_string(), "::");
  EXPECT_TRUE(IpAddr::parse("0.0.0.0")->is_unspecified());
  EXPECT_TRUE(IpAddr::parse("::")->is_unspecified());
  EXPECT_FALSE(IpAddr::parse("0.0.0.1")->is_unspecified());
}

TEST(IpAddr, HashSeparatesAddresses) {
  std::unordered_set<IpAddr, IpAddrHash> set;
  for (uint32_t i = 0; i < 1000; ++i) set.insert(IpAddr::v4(0x0A000000 + i));
  EXPECT_EQ(set.size(), 1000u);
  EXPECT_TRUE(set.contains(IpAddr::parse("10.0.3.231").value()));
}

}  // namespace
}  // namespace egressd
