#include "egressd/local_endpoints.h"

#include <map>

#include <gtest/gtest.h>

namespace egressd {
namespace {

IpAddr ip(const char* t) {
  return IpAddr::parse(t).value();
}

TEST(LocalEndpoints, ClassifiesPodsNodesAndOthers) {
  const LocalEndpoints e({ip("10.244.1.10"), ip("fd00:244:1::10")},
                         {ip("192.168.50.10"), ip("127.0.0.1"), ip("::1")});
  EXPECT_EQ(e.size(), 5u);
  EXPECT_EQ(e.classify(ip("10.244.1.10")), EndpointKind::kLocalPod);
  EXPECT_EQ(e.classify(ip("fd00:244:1::10")), EndpointKind::kLocalPod);
  EXPECT_EQ(e.classify(ip("192.168.50.10")), EndpointKind::kLocalNode);
  EXPECT_EQ(e.classify(ip("::1")), EndpointKind::kLocalNode);
  EXPECT_EQ(e.classify(ip("10.244.1.11")), EndpointKind::kOther);
  EXPECT_EQ(e.classify(ip("::ffff:10.244.1.10")), EndpointKind::kLocalPod);  // same address
  EXPECT_EQ(LocalEndpoints().classify(ip("10.244.1.10")), EndpointKind::kOther);
}

TEST(LocalEndpoints, PodWinsOverNodeAndDuplicatesCountOnce) {
  const LocalEndpoints e({ip("192.168.50.10"), ip("10.0.0.1"), ip("10.0.0.1")},
                         {ip("192.168.50.10")});
  EXPECT_EQ(e.size(), 2u);
  EXPECT_EQ(e.classify(ip("192.168.50.10")), EndpointKind::kLocalPod);
}

TEST(LocalEndpoints, ManyAddressesAllFoundNoFalseHits) {
  std::vector<IpAddr> pods;
  for (uint32_t i = 0; i < 5000; ++i) pods.push_back(IpAddr::v4(0x0AF40000 + i * 7));
  const LocalEndpoints e(pods, {});
  for (const auto& p : pods) ASSERT_EQ(e.classify(p), EndpointKind::kLocalPod);
  size_t hits = 0;
  for (uint32_t i = 0; i < 35000; ++i) {
    hits += e.classify(IpAddr::v4(0x0AF40000 + i)) == EndpointKind::kLocalPod ? 1U : 0U;
  }
  EXPECT_EQ(hits, 5000u);
}

TEST(LocalEndpoints, ForEachVisitsEveryAddressOnceWithItsKind) {
  const LocalEndpoints e({ip("10.244.1.10"), ip("192.168.50.10")},
                         {ip("192.168.50.10"), ip("::1")});
  std::map<IpAddr, EndpointKind> seen;
  e.for_each([&](const IpAddr& a, EndpointKind k) { EXPECT_TRUE(seen.emplace(a, k).second); });
  EXPECT_EQ(seen, (std::map<IpAddr, EndpointKind>{{ip("10.244.1.10"), EndpointKind::kLocalPod},
                                                  {ip("192.168.50.10"), EndpointKind::kLocalPod},
                                                  {ip("::1"), EndpointKind::kLocalNode}}));
}

}  // namespace
}  // namespace egressd
