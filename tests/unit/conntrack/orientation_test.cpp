// Orientation per the accounting contract: who is local, who is the real peer, which counters are
// tx and rx — for every combination of endpoint kinds and the NAT shapes Kubernetes produces.
#include "conntrack/orientation.h"

#include <array>
#include <set>
#include <vector>

#include <gtest/gtest.h>

#include "common/accounting_contract.h"

namespace egressd::conntrack {
namespace {

IpAddr ip(const char* text) {
  return *IpAddr::parse(text);
}

// This node: pods A, B (IPv4) and P6 (IPv6); node addresses incl. loopback.
constexpr const char* kPodA = "10.244.1.10";
constexpr const char* kPodB = "10.244.1.20";
constexpr const char* kPod6 = "fd00:244:1::10";
constexpr const char* kNode = "192.168.0.10";
constexpr const char* kNode6 = "fd00:192::10";
// Elsewhere.
constexpr const char* kRemotePod = "10.244.2.30";
constexpr const char* kVip = "10.96.0.10";
constexpr const char* kInternet = "93.184.216.34";
constexpr const char* kClient = "203.0.113.7";
constexpr const char* kVip6 = "fd00:96::10";
constexpr const char* kInternet6 = "2606:2800:220:1::1";

LocalEndpoints node() {
  return LocalEndpoints({ip(kPodA), ip(kPodB), ip(kPod6)},
                        {ip(kNode), ip(kNode6), ip("127.0.0.1"), ip("::1")});
}

// os -> od (orig), rs -> rd (reply); orig counters 10 pkts/1000 B, reply 20 pkts/5000 B.
CtEntry entry(const char* os, const char* od, const char* rs, const char* rd, uint8_t proto = 6) {
  CtEntry e;
  e.family = std::string_view(os).find(':') == std::string_view::npos ? 2 : 10;
  e.orig.src = ip(os);
  e.orig.dst = ip(od);
  e.reply.src = ip(rs);
  e.reply.dst = ip(rd);
  e.orig.proto = e.reply.proto = proto;
  e.orig.src_port = 40000;
  e.orig.dst_port = 80;
  e.reply.src_port = 8080;
  e.reply.dst_port = 40000;
  e.orig_counters = {10, 1000};
  e.reply_counters = {20, 5000};
  e.id = 1234;
  e.fields = kFieldId | kFieldCountersOrig | kFieldCountersReply;
  return e;
}

constexpr Counters kAsOriginator{1000, 10, 5000, 20};  // tx = orig direction
constexpr Counters kAsResponder{5000, 20, 1000, 10};   // tx = reply direction

struct Oriented {
  Orientation o;
  std::array<FlowRecord, 2> r;
};

Oriented run(const CtEntry& e, bool final = false) {
  Oriented out;
  out.o = orient(e, node(), final, out.r);
  return out;
}

void expect_record(const FlowRecord& r, const char* local, const char* peer,
                   const Counters& counters) {
  EXPECT_EQ(r.key.local, ip(local)) << r.key.local.to_string();
  EXPECT_EQ(r.key.peer, ip(peer)) << r.key.peer.to_string();
  EXPECT_EQ(r.counters, counters);
  EXPECT_EQ(r.mode, CounterMode::kCumulative);
}

TEST(Orientation, PodToExternalDirect) {
  const auto x = run(entry(kPodA, kInternet, kInternet, kPodA));
  ASSERT_EQ(x.o.count, 1);
  expect_record(x.r[0], kPodA, kInternet, kAsOriginator);
  EXPECT_EQ(x.r[0].key.proto, 6);
}

TEST(Orientation, PodToClusterIpUndoesDnat) {
  // orig: A -> VIP; reply: backend -> A. The peer is the backend, never the VIP.
  const auto x = run(entry(kPodA, kVip, kRemotePod, kPodA));
  ASSERT_EQ(x.o.count, 1);
  expect_record(x.r[0], kPodA, kRemotePod, kAsOriginator);
}

TEST(Orientation, MasqueradedEgressStaysWithThePod) {
  // orig: A -> internet; reply: internet -> node IP (SNAT). Local is the pre-SNAT pod.
  const auto x = run(entry(kPodA, kInternet, kInternet, kNode));
  ASSERT_EQ(x.o.count, 1);
  expect_record(x.r[0], kPodA, kInternet, kAsOriginator);
}

TEST(Orientation, InboundToLocalPod) {
  const auto x = run(entry(kClient, kPodB, kPodB, kClient));
  ASSERT_EQ(x.o.count, 1);
  expect_record(x.r[0], kPodB, kClient, kAsResponder);
}

TEST(Orientation, NodePortToLocalPodWithSnat) {
  // orig: client -> node:30080; reply: B -> node (kube-proxy masquerades NodePort traffic).
  const auto x = run(entry(kClient, kNode, kPodB, kNode));
  ASSERT_EQ(x.o.count, 1);
  expect_record(x.r[0], kPodB, kClient, kAsResponder);
}

TEST(Orientation, SameNodePodsGiveOneRecordPerSide) {
  const auto x = run(entry(kPodA, kPodB, kPodB, kPodA));
  ASSERT_EQ(x.o.count, 2);
  expect_record(x.r[0], kPodA, kPodB, kAsOriginator);
  expect_record(x.r[1], kPodB, kPodA, kAsResponder);
  // A's tx is B's rx and the other way round.
  EXPECT_EQ(x.r[0].counters.tx_bytes, x.r[1].counters.rx_bytes);
  EXPECT_EQ(x.r[0].counters.rx_packets, x.r[1].counters.tx_packets);
  EXPECT_NE(x.r[0].entry_id, x.r[1].entry_id);
}

TEST(Orientation, SameNodeThroughClusterIp) {
  // orig: A -> VIP; reply: B -> A (the backend is on this node).
  const auto x = run(entry(kPodA, kVip, kPodB, kPodA));
  ASSERT_EQ(x.o.count, 2);
  expect_record(x.r[0], kPodA, kPodB, kAsOriginator);
  expect_record(x.r[1], kPodB, kPodA, kAsResponder);
}

TEST(Orientation, HairpinToItselfCountsBothDirections) {
  // A -> VIP -> A (hairpin, SNAT to the node): A sends and receives both directions.
  const auto x = run(entry(kPodA, kVip, kPodA, kNode));
  ASSERT_EQ(x.o.count, 2);
  expect_record(x.r[0], kPodA, kPodA, kAsOriginator);
  expect_record(x.r[1], kPodA, kPodA, kAsResponder);
  EXPECT_NE(x.r[0].entry_id, x.r[1].entry_id);
}

TEST(Orientation, NodeToExternal) {
  const auto x = run(entry(kNode, kInternet, kInternet, kNode));
  ASSERT_EQ(x.o.count, 1);
  expect_record(x.r[0], kNode, kInternet, kAsOriginator);
}

TEST(Orientation, ExternalToNode) {
  const auto x = run(entry(kClient, kNode, kNode, kClient));
  ASSERT_EQ(x.o.count, 1);
  expect_record(x.r[0], kNode, kClient, kAsResponder);
}

TEST(Orientation, NodeToLocalPodIsReportedByThePodOnly) {
  // kubelet probing B: one record, from B's side; the node's side is not reported twice.
  const auto x = run(entry(kNode, kPodB, kPodB, kNode));
  ASSERT_EQ(x.o.count, 1);
  expect_record(x.r[0], kPodB, kNode, kAsResponder);
}

TEST(Orientation, PodToNodeIsReportedByThePodOnly) {
  const auto x = run(entry(kPodA, kNode, kNode, kPodA));
  ASSERT_EQ(x.o.count, 1);
  expect_record(x.r[0], kPodA, kNode, kAsOriginator);
}

TEST(Orientation, LoopbackIsNodeTraffic) {
  const auto x = run(entry("127.0.0.1", "127.0.0.1", "127.0.0.1", "127.0.0.1"));
  ASSERT_EQ(x.o.count, 1);
  expect_record(x.r[0], "127.0.0.1", "127.0.0.1", kAsOriginator);
  const auto y = run(entry("::1", "::1", "::1", "::1"));
  ASSERT_EQ(y.o.count, 1);
  expect_record(y.r[0], "::1", "::1", kAsOriginator);
}

TEST(Orientation, LoopbackWithoutNodeAddressesIsTransit) {
  CtEntry e = entry("127.0.0.1", "127.0.0.1", "127.0.0.1", "127.0.0.1");
  std::array<FlowRecord, 2> out;
  const LocalEndpoints no_loopback({ip(kPodA)}, {ip(kNode)});
  const Orientation o = orient(e, no_loopback, false, out);
  EXPECT_EQ(o.count, 0);
  EXPECT_EQ(o.reason, DropReason::kTransit);
}

TEST(Orientation, TransitIsDroppedWithAReason) {
  const auto x = run(entry(kClient, kInternet, kInternet, kClient));
  EXPECT_EQ(x.o.count, 0);
  EXPECT_EQ(x.o.reason, DropReason::kTransit);
  // NodePort forwarded to a pod on another node (DNAT + SNAT by this node): neither real endpoint
  // is here, only the node's NAT address in the reply destination.
  const auto y = run(entry(kClient, kNode, kRemotePod, kNode));
  EXPECT_EQ(y.o.count, 0);
  EXPECT_EQ(y.o.reason, DropReason::kTransit);
}

TEST(Orientation, Ipv6PodThroughDnat) {
  const auto x = run(entry(kPod6, kVip6, kInternet6, kPod6, 17));
  ASSERT_EQ(x.o.count, 1);
  expect_record(x.r[0], kPod6, kInternet6, kAsOriginator);
  EXPECT_EQ(x.r[0].key.proto, 17);
  const auto y = run(entry(kInternet6, kPod6, kPod6, kInternet6));
  ASSERT_EQ(y.o.count, 1);
  expect_record(y.r[0], kPod6, kInternet6, kAsResponder);
  const auto z = run(entry(kNode6, kInternet6, kInternet6, kNode6));
  ASSERT_EQ(z.o.count, 1);
  expect_record(z.r[0], kNode6, kInternet6, kAsOriginator);
}

TEST(Orientation, NoCountersNoRecord) {
  for (const uint32_t fields : {0U, uint32_t{kFieldCountersOrig}, uint32_t{kFieldCountersReply}}) {
    CtEntry e = entry(kPodA, kInternet, kInternet, kPodA);
    e.fields = kFieldId | fields;
    const auto x = run(e);
    EXPECT_EQ(x.o.count, 0);
    EXPECT_EQ(x.o.reason, DropReason::kNoCounters);
  }
  // Zero counters that are present are real zeros: exported.
  CtEntry zero = entry(kPodA, kInternet, kInternet, kPodA);
  zero.orig_counters = zero.reply_counters = {};
  const auto x = run(zero);
  ASSERT_EQ(x.o.count, 1);
  EXPECT_TRUE(x.r[0].counters.is_zero());
}

TEST(Orientation, FinalAndProtocolComeThrough) {
  const auto x = run(entry(kPodA, kInternet, kInternet, kPodA, 1), true);
  ASSERT_EQ(x.o.count, 1);
  EXPECT_TRUE(x.r[0].final);
  EXPECT_EQ(x.r[0].key.proto, 1);
  EXPECT_FALSE(run(entry(kPodA, kInternet, kInternet, kPodA)).r[0].final);
}

// The contract's table (tests/common/accounting_contract.h) through a conntrack entry: the
// initiator is the original tuple's source, the responder the reply tuple's; each reporting side
// gets its record with its own direction's counters and its own entry id.
TEST(Orientation, FollowsTheAccountingContract) {
  const LocalEndpoints eps = testing::contract_endpoints();
  for (const auto& c : testing::kContract) {
    SCOPED_TRACE(c.name);
    const auto ends = testing::contract_ends(c);
    CtEntry e = entry(kPodA, kVip, kPodB, kPodA);
    e.orig.src = e.reply.dst = ends.initiator;
    e.orig.dst = ip(kVip);  // DNAT: the responder is the reply tuple's source
    e.reply.src = ends.responder;
    std::array<FlowRecord, 2> out;
    const Orientation o = orient(e, eps, false, out);
    // Written out, not derived from the code under test: the initiator's record carries the
    // original direction as tx, the responder's the reply direction.
    struct Want {
      IpAddr local, peer;
      Counters counters;
      Side side;
    };
    std::vector<Want> want;
    if (c.initiator_reports) {
      want.push_back({ends.initiator, ends.responder, kAsOriginator, Side::kOriginator});
    }
    if (c.responder_reports) {
      want.push_back({ends.responder, ends.initiator, kAsResponder, Side::kResponder});
    }
    ASSERT_EQ(o.count, want.size());
    EXPECT_EQ(o.reason, want.empty() ? DropReason::kTransit : DropReason::kNone);
    for (size_t i = 0; i < want.size(); ++i) {
      EXPECT_EQ(out[i].key.local, want[i].local) << out[i].key.local.to_string();
      EXPECT_EQ(out[i].key.peer, want[i].peer) << out[i].key.peer.to_string();
      EXPECT_EQ(out[i].key.proto, 6);
      EXPECT_EQ(out[i].counters, want[i].counters);
      EXPECT_EQ(out[i].entry_id, entry_id(e, want[i].side));
    }
    if (o.count == 2) EXPECT_NE(out[0].entry_id, out[1].entry_id) << "one id per side";
  }
}

TEST(EntryId, StableAcrossDumpAndEventAndDistinctOtherwise) {
  const CtEntry dumped = entry(kPodA, kVip, kPodB, kPodA);
  CtEntry destroyed = dumped;  // the DESTROY event: same id and tuples, other counters
  destroyed.orig_counters = {99, 9999};
  destroyed.timeout = 0;
  EXPECT_EQ(entry_id(dumped, Side::kOriginator), entry_id(destroyed, Side::kOriginator));

  std::set<uint64_t> ids;
  ids.insert(entry_id(dumped, Side::kOriginator));
  ids.insert(entry_id(dumped, Side::kResponder));
  CtEntry other_id = dumped;
  other_id.id = 1235;
  ids.insert(entry_id(other_id, Side::kOriginator));
  CtEntry other_zone = dumped;
  other_zone.zone = 7;
  ids.insert(entry_id(other_zone, Side::kOriginator));
  CtEntry other_port = dumped;
  other_port.orig.src_port = 40001;
  ids.insert(entry_id(other_port, Side::kOriginator));
  CtEntry other_proto = dumped;
  other_proto.orig.proto = 17;
  ids.insert(entry_id(other_proto, Side::kOriginator));
  CtEntry other_src = dumped;
  other_src.orig.src = ip(kPodB);
  ids.insert(entry_id(other_src, Side::kOriginator));
  EXPECT_EQ(ids.size(), 7U);
  // Reply-tuple changes (a NAT rebinding of the same entry) do not change the identity.
  CtEntry rebound = dumped;
  rebound.reply.dst_port = 1;
  EXPECT_EQ(entry_id(rebound, Side::kOriginator), entry_id(dumped, Side::kOriginator));
}

}  // namespace
}  // namespace egressd::conntrack
