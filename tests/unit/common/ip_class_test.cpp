#include "egressd/common/ip_class.h"

#include <gtest/gtest.h>

namespace egressd {
namespace {

bool priv(const char* text) {
  return is_private(IpAddr::parse(text).value());
}

TEST(IpClass, PrivateRanges) {
  for (const char* t :
       {"10.0.0.1", "10.255.255.255", "172.16.0.1", "172.31.255.255", "192.168.0.1", "100.64.0.1",
        "100.127.255.255", "127.0.0.1", "169.254.1.1", "0.0.0.0", "198.18.0.1", "224.0.0.251",
        "::1", "::", "fd00::1", "fc00::1", "fe80::1", "ff02::fb"}) {
    EXPECT_TRUE(priv(t)) << t;
  }
}

TEST(IpClass, PublicRanges) {
  for (const char* t :
       {"8.8.8.8", "172.15.255.255", "172.32.0.1", "192.169.0.1", "100.63.255.255", "100.128.0.1",
        "203.0.113.10", "11.0.0.1", "2001:db8::1", "2600:1f18::1", "fe00::1", "::ffff:8.8.8.8"}) {
    EXPECT_FALSE(priv(t)) << t;
  }
}

}  // namespace
}  // namespace egressd
