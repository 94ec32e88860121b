#include "dns/response_handler.h"

#include <cstring>

#include <gtest/gtest.h>

#include "common/manual_clock.h"
#include "common/self_metrics_reader.h"
#include "dns/scope.h"
#include "unit/dns/dns_test_util.h"

namespace egressd::dns {
namespace {

using egressd::testing::dns_fixture;

IpAddr ip(const char* s) {
  return IpAddr::parse(s).value();
}

egressd_dns_event event(const char* server, const char* client, uint8_t proto, size_t len) {
  egressd_dns_event ev{};
  std::memcpy(ev.saddr, ip(server).bytes().data(), 16);
  std::memcpy(ev.daddr, ip(client).bytes().data(), 16);
  ev.sport = 53;
  ev.dport = 40000;
  ev.proto = proto;
  ev.payload_len = static_cast<uint32_t>(len);
  ev.captured = static_cast<uint32_t>(len);
  return ev;
}

class ResponseHandlerTest : public ::testing::Test {
 protected:
  std::string name_for(const char* client, const char* addr) {
    std::string out;
    return cache_.lookup(scope_of(ip(client), nullptr), ip(addr), out) ? out : "";
  }
  uint64_t metric(const std::string& name, const MetricLabels& labels = {}) {
    return egressd::testing::counter_value(metrics_, name, labels);
  }

  egressd::testing::ManualClock clock_;
  SelfMetrics metrics_;
  NameCache cache_{NameCacheOptions{}, clock_, metrics_};
  ResponseHandler handler_{cache_, [](const IpAddr& c) { return scope_of(c, nullptr); }, metrics_};
};

TEST_F(ResponseHandlerTest, UdpResponsesNameAddressesForTheirClientOnly) {
  const auto chain = dns_fixture("a_cname_chain3");
  handler_.handle(event("10.96.0.10", "10.244.1.10", EGRESSD_DNS_PROTO_UDP, chain.size()), chain,
                  clock_.now());
  const auto v6 = dns_fixture("aaaa_cname_chain3");
  handler_.handle(event("fd00:96::10", "fd00:244:1::10", EGRESSD_DNS_PROTO_UDP, v6.size()), v6,
                  clock_.now());
  EXPECT_EQ(name_for("10.244.1.10", "203.0.113.10"), "www.example.com");
  EXPECT_EQ(name_for("fd00:244:1::10", "2001:db8:113::10"), "www.example.com");
  EXPECT_EQ(name_for("10.244.1.11", "203.0.113.10"), "");  // another pod
  EXPECT_EQ(metric("egressd_dns_responses_total", {{"transport", "udp"}}), 2u);
  EXPECT_EQ(metric("egressd_dns_answers_total"), 2u);
}

TEST_F(ResponseHandlerTest, TcpResponseSplitOverSegments) {
  const auto bytes = dns_fixture("tcp_a_cname_chain3");
  auto synack = event("203.0.113.53", "10.244.1.10", EGRESSD_DNS_PROTO_TCP, 0);
  synack.tcp_flags = EGRESSD_DNS_TCP_SYN;
  synack.tcp_seq = 500;
  handler_.handle(synack, {}, clock_.now());
  const std::span<const uint8_t> all(bytes);
  auto first = event("203.0.113.53", "10.244.1.10", EGRESSD_DNS_PROTO_TCP, 1);
  first.tcp_seq = 501;
  handler_.handle(first, all.first(1), clock_.now());
  auto rest = event("203.0.113.53", "10.244.1.10", EGRESSD_DNS_PROTO_TCP, bytes.size() - 1);
  rest.tcp_seq = 502;
  rest.tcp_flags = EGRESSD_DNS_TCP_FIN;
  handler_.handle(rest, all.subspan(1), clock_.now());
  EXPECT_EQ(name_for("10.244.1.10", "203.0.113.10"), "www.example.com");
  EXPECT_EQ(metric("egressd_dns_responses_total", {{"transport", "tcp"}}), 1u);
}

TEST_F(ResponseHandlerTest, CutCaptureKeepsWholeRecordsAndCountsIt) {
  const auto big = dns_fixture("a_big_edns");
  auto ev = event("10.96.0.10", "10.244.1.10", EGRESSD_DNS_PROTO_UDP, big.size());
  ev.captured = 300;
  handler_.handle(ev, std::span<const uint8_t>(big).first(300), clock_.now());
  EXPECT_EQ(metric("egressd_dns_responses_partial_total"), 1u);
  EXPECT_EQ(name_for("10.244.1.10", "198.51.100.30"), "big.example.com");
}

TEST_F(ResponseHandlerTest, MalformedAndInconsistentAreCounted) {
  const std::vector<uint8_t> junk = {0x12, 0x34, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0, 0xc0, 0x0c};
  handler_.handle(event("10.96.0.10", "10.244.1.10", EGRESSD_DNS_PROTO_UDP, junk.size()), junk,
                  clock_.now());
  EXPECT_EQ(metric("egressd_dns_responses_rejected_total", {{"reason", "bad_pointer"}}), 1u);
  auto ev = event("10.96.0.10", "10.244.1.10", EGRESSD_DNS_PROTO_UDP, 10);
  handler_.handle(ev, junk, clock_.now());  // header says 10 bytes, 14 given
  EXPECT_EQ(metric("egressd_dns_bad_events_total"), 1u);
  const auto nx = dns_fixture("nxdomain");
  handler_.handle(event("10.96.0.10", "10.244.1.10", EGRESSD_DNS_PROTO_UDP, nx.size()), nx,
                  clock_.now());
  EXPECT_EQ(metric("egressd_dns_responses_error_rcode_total"), 1u);
}

}  // namespace
}  // namespace egressd::dns
