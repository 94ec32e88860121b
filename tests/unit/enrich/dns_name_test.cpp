// dst_dns_name (docs/dns.md): exported only with the DNS tracer's cache, filled only for peers
// outside the cluster, looked up under the local pod's scope (both of its addresses).
#include <gtest/gtest.h>

#include "common/inventory_builder.h"
#include "common/manual_clock.h"
#include "dns/name_cache.h"
#include "dns/scope.h"
#include "enrich/enricher.h"

namespace egressd::enrich {
namespace {

using egressd::testing::two_zone_cluster;

FlowKey key(const char* local, const char* peer) {
  return FlowKey{IpAddr::parse(local).value(), IpAddr::parse(peer).value(), kProtoTcp};
}

TEST(DnsNameLabel, OnlyWithTheTracerAndOnlyOutsideTheCluster) {
  kube::ClusterIndex index{two_zone_cluster(), "node-a", {IpAddr::parse("127.0.0.1").value()}};
  egressd::testing::ManualClock clock;
  SelfMetrics metrics;
  dns::NameCache cache(dns::NameCacheOptions{}, clock, metrics);
  const auto pod_a = dns::scope_of(IpAddr::parse("10.244.1.10").value(), &index);
  cache.insert(pod_a, IpAddr::parse("203.0.113.10").value(), "api.example.com", 300);
  cache.insert(pod_a, IpAddr::parse("10.244.2.10").value(), "pod-r.example.com", 300);

  const Enricher without(EnrichOptions{});
  const auto plain = without.labels(key("10.244.1.10", "203.0.113.10"), index).value();
  EXPECT_FALSE(plain.with_dns_name);
  bool has_label = false;
  plain.for_each([&](std::string_view n, const std::string&) { has_label |= n == "dst_dns_name"; });
  EXPECT_FALSE(has_label);

  EnrichOptions o;
  o.dns_names = &cache;
  const Enricher with(o);
  const auto l = with.labels(key("10.244.1.10", "203.0.113.10"), index).value();
  EXPECT_EQ(l.dst_dns_name, "api.example.com");
  std::vector<std::string> names;
  l.for_each([&](std::string_view n, const std::string&) { names.emplace_back(n); });
  EXPECT_EQ(names.back(), "dst_dns_name");
  // In-cluster peer: no name even if someone resolved it.
  EXPECT_EQ(with.labels(key("10.244.1.10", "10.244.2.10"), index)->dst_dns_name, "");
  // Another pod did not resolve it.
  EXPECT_EQ(with.labels(key("10.244.1.11", "203.0.113.10"), index)->dst_dns_name, "");
}

}  // namespace
}  // namespace egressd::enrich
