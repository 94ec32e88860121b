// The eBPF source orients its (initiator, responder) keys by the accounting contract
// (egressd/accounting.h): hand-written cases, then the contract's table every source runs.
#include "ebpf/orientation.h"

#include <array>
#include <cstring>
#include <vector>

#include <gtest/gtest.h>

#include "common/accounting_contract.h"

namespace egressd::ebpf {
namespace {

IpAddr ip(const char* text) {
  return IpAddr::parse(text).value();
}

const IpAddr kPodA = ip("10.244.1.10");
const IpAddr kPodB = ip("10.244.1.11");
const IpAddr kNode = ip("192.168.50.10");
const IpAddr kRemote = ip("10.244.2.10");
const IpAddr kInternet = ip("203.0.113.10");
const IpAddr kPod6 = ip("fd00:244:1::10");
const IpAddr kRemote6 = ip("fd00:244:2::10");

LocalEndpoints local() {
  return LocalEndpoints({kPodA, kPodB, kPod6}, {kNode});
}

egressd_flow_key key(const IpAddr& initiator, const IpAddr& responder, uint8_t proto) {
  egressd_flow_key k{};
  std::memcpy(k.orig_src, initiator.bytes().data(), 16);
  std::memcpy(k.reply_src, responder.bytes().data(), 16);
  k.proto = proto;
  return k;
}

constexpr egressd_flow_counters kCounters{1000, 10, 5000, 7};

struct Expect {
  IpAddr local;
  IpAddr peer;
  Counters counters;
};

void expect_records(const IpAddr& initiator, const IpAddr& responder,
                    const std::vector<Expect>& want) {
  std::array<FlowRecord, 2> out;
  const auto eps = local();
  const uint8_t n = orient(key(initiator, responder, kProtoTcp), kCounters, eps, out);
  ASSERT_EQ(n, want.size()) << initiator.to_string() << " -> " << responder.to_string();
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(out[i].key.local, want[i].local);
    EXPECT_EQ(out[i].key.peer, want[i].peer);
    EXPECT_EQ(out[i].key.proto, kProtoTcp);
    EXPECT_EQ(out[i].counters, want[i].counters);
    EXPECT_EQ(out[i].mode, CounterMode::kDelta);
    EXPECT_FALSE(out[i].final);
  }
}

const Counters kAsInitiator{1000, 10, 5000, 7};
const Counters kAsResponder{5000, 7, 1000, 10};

TEST(EbpfOrientation, PodToRemoteIsThePods) {
  expect_records(kPodA, kRemote, {{kPodA, kRemote, kAsInitiator}});
}

TEST(EbpfOrientation, RemoteToPodIsThePods) {
  expect_records(kInternet, kPodB, {{kPodB, kInternet, kAsResponder}});
}

TEST(EbpfOrientation, SameNodePodsEachOnce) {
  expect_records(kPodA, kPodB, {{kPodA, kPodB, kAsInitiator}, {kPodB, kPodA, kAsResponder}});
}

TEST(EbpfOrientation, NodeTrafficIsTheNodes) {
  expect_records(kNode, kRemote, {{kNode, kRemote, kAsInitiator}});
  expect_records(kRemote, kNode, {{kNode, kRemote, kAsResponder}});
}

TEST(EbpfOrientation, PodAndNodeOnlyThePod) {
  expect_records(kNode, kPodA, {{kPodA, kNode, kAsResponder}});
  expect_records(kPodA, kNode, {{kPodA, kNode, kAsInitiator}});
}

TEST(EbpfOrientation, NodeToItselfOnceAsInitiator) {
  expect_records(kNode, kNode, {{kNode, kNode, kAsInitiator}});
}

TEST(EbpfOrientation, TransitGivesNothing) {
  expect_records(kRemote, kInternet, {});
}

TEST(EbpfOrientation, Ipv6) {
  expect_records(kPod6, kRemote6, {{kPod6, kRemote6, kAsInitiator}});
}

// The contract's table (tests/common/accounting_contract.h) through a flow key: the initiator
// reports with tx = the original direction, the responder with tx = the reply direction.
TEST(EbpfOrientation, FollowsTheAccountingContract) {
  const LocalEndpoints eps = testing::contract_endpoints();
  for (const auto& c : testing::kContract) {
    SCOPED_TRACE(c.name);
    const auto ends = testing::contract_ends(c);
    std::vector<Expect> want;
    if (c.initiator_reports) want.push_back({ends.initiator, ends.responder, kAsInitiator});
    if (c.responder_reports) want.push_back({ends.responder, ends.initiator, kAsResponder});
    std::array<FlowRecord, 2> out;
    const uint8_t n = orient(key(ends.initiator, ends.responder, kProtoUdp), kCounters, eps, out);
    ASSERT_EQ(n, want.size());
    for (size_t i = 0; i < want.size(); ++i) {
      EXPECT_EQ(out[i].key.local, want[i].local);
      EXPECT_EQ(out[i].key.peer, want[i].peer);
      EXPECT_EQ(out[i].counters, want[i].counters);
      EXPECT_EQ(out[i].mode, CounterMode::kDelta);
    }
  }
}

}  // namespace
}  // namespace egressd::ebpf
