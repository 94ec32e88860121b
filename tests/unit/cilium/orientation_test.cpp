// Orientation of Cilium entries: one record per entry, for the entry's own local side; the
// same-node pair gives one record per pod (A's tx = B's rx, nobody twice); skips and drops.
#include "cilium/orientation.h"

#include <gtest/gtest.h>

#include "common/accounting_contract.h"
#include "unit/cilium/ct_fixtures.h"

namespace egressd::cilium {
namespace {

using testing::Conn;
using testing::make_key;

IpAddr ip(const char* text) {
  return *IpAddr::parse(text);
}

// Pods 10.0.0.1, 10.0.0.2, fd00::1 on this node; node addresses 192.168.1.10 and fd00::ff.
const LocalEndpoints& endpoints() {
  static const LocalEndpoints e({ip("10.0.0.1"), ip("10.0.0.2"), ip("fd00::1")},
                                {ip("192.168.1.10"), ip("fd00::ff")});
  return e;
}

struct Entry {
  Conn conn;
  uint8_t flags;
  CtCounters counters;
};

Outcome run(const Entry& e, FlowRecord& out) {
  const auto key = make_key(e.conn, e.flags);
  CtTuple t;
  KeyKind kind{};
  const Family f = key.size() == 14 ? Family::kIpv4 : Family::kIpv6;
  EXPECT_TRUE(parse_key(f, key, t, kind));
  return orient(t, kind, e.counters, endpoints(), out);
}

CtCounters dir(uint64_t tx_p, uint64_t tx_b, uint64_t rx_p, uint64_t rx_b) {
  return CtCounters{false, tx_p, tx_b, rx_p, rx_b, 0, 0};
}

TEST(CiliumOrient, OutEntryIsTheOriginatorsView) {
  FlowRecord r;
  ASSERT_EQ(run({{"10.0.0.1", 40000, "93.184.216.34", 443, 6}, 0, dir(10, 1000, 8, 9000)}, r),
            Outcome::kRecord);
  EXPECT_EQ(r.key.local, ip("10.0.0.1"));
  EXPECT_EQ(r.key.peer, ip("93.184.216.34"));
  EXPECT_EQ(r.key.proto, 6);
  EXPECT_EQ(r.counters, (Counters{1000, 10, 9000, 8}));
  EXPECT_EQ(r.mode, CounterMode::kCumulative);
  EXPECT_FALSE(r.final);
}

TEST(CiliumOrient, InEntryIsTheRespondersView) {
  FlowRecord r;
  ASSERT_EQ(run({{"203.0.113.5", 50000, "fd00::1", 80, 6}, 1, dir(4, 4000, 6, 600)}, r),
            Outcome::kTransit)
      << "mixed families cannot happen; v4 originator on a v6 key is not a local address";
  ASSERT_EQ(run({{"2001:db8::5", 50000, "fd00::1", 80, 6}, 1, dir(4, 4000, 6, 600)}, r),
            Outcome::kRecord);
  EXPECT_EQ(r.key.local, ip("fd00::1"));
  EXPECT_EQ(r.key.peer, ip("2001:db8::5"));
  EXPECT_EQ(r.counters, (Counters{4000, 4, 600, 6}));
}

TEST(CiliumOrient, SameNodePairGivesOneRecordPerPod) {
  // Pod A (10.0.0.1) -> pod B (10.0.0.2): A sent 3 packets / 300 bytes, B sent 2 / 2000.
  // Cilium holds an OUT entry (A's egress) and an IN entry (B's ingress) for the same tuple.
  const Conn c{"10.0.0.1", 41000, "10.0.0.2", 8080, 6};
  FlowRecord a, b;
  ASSERT_EQ(run({c, 0, dir(3, 300, 2, 2000)}, a), Outcome::kRecord);
  ASSERT_EQ(run({c, 1, dir(2, 2000, 3, 300)}, b), Outcome::kRecord);
  EXPECT_EQ(a.key.local, ip("10.0.0.1"));
  EXPECT_EQ(a.key.peer, ip("10.0.0.2"));
  EXPECT_EQ(b.key.local, ip("10.0.0.2"));
  EXPECT_EQ(b.key.peer, ip("10.0.0.1"));
  EXPECT_EQ(a.counters.tx_bytes, b.counters.rx_bytes);
  EXPECT_EQ(a.counters.rx_bytes, b.counters.tx_bytes);
  EXPECT_EQ(a.counters.tx_packets, 3U);
  EXPECT_EQ(b.counters.tx_packets, 2U);
  const auto ka = make_key(c, 0), kb = make_key(c, 1);
  EXPECT_NE(entry_id(Family::kIpv4, ka.data(), CounterOrigin::kCtMap),
            entry_id(Family::kIpv4, kb.data(), CounterOrigin::kCtMap));
}

TEST(CiliumOrient, OnlyTheEntrysOwnSideIsReported) {
  // An OUT entry whose originator is elsewhere (NodePort forwarded through this node) gives no
  // record, even though its responder may be local: the responder's own IN entry reports it.
  FlowRecord r;
  EXPECT_EQ(run({{"198.51.100.1", 1234, "10.0.0.2", 80, 6}, 0, dir(1, 60, 1, 60)}, r),
            Outcome::kTransit);
  EXPECT_EQ(run({{"10.0.0.1", 1234, "198.51.100.1", 80, 6}, 1, dir(1, 60, 1, 60)}, r),
            Outcome::kTransit);
  EXPECT_EQ(run({{"198.51.100.1", 1234, "198.51.100.2", 80, 6}, 0, dir(1, 60, 1, 60)}, r),
            Outcome::kTransit);
}

TEST(CiliumOrient, NodeSide) {
  FlowRecord r;
  // The node (host firewall entries) talking to the internet: the node's record.
  ASSERT_EQ(run({{"192.168.1.10", 5000, "1.1.1.1", 53, 17}, 0, dir(1, 70, 1, 120)}, r),
            Outcome::kRecord);
  EXPECT_EQ(r.key.local, ip("192.168.1.10"));
  EXPECT_EQ(r.key.proto, 17);
  // The node to a local pod: the pod's own IN entry reports it, not the node's entry.
  EXPECT_EQ(run({{"192.168.1.10", 5000, "10.0.0.1", 8080, 6}, 0, dir(1, 70, 1, 120)}, r),
            Outcome::kPodReports);
  // A kubelet probe from the node to a pod: the pod's IN entry.
  ASSERT_EQ(run({{"192.168.1.10", 5000, "10.0.0.1", 8080, 6}, 1, dir(1, 120, 1, 70)}, r),
            Outcome::kRecord);
  EXPECT_EQ(r.key.local, ip("10.0.0.1"));
  EXPECT_EQ(r.key.peer, ip("192.168.1.10"));
}

TEST(CiliumOrient, SkipsAndDrops) {
  FlowRecord r;
  const Conn c{"10.0.0.1", 1000, "10.0.0.9", 53, 17};
  EXPECT_EQ(run({c, 2, dir(0, 0, 0, 0)}, r), Outcome::kRelated);
  EXPECT_EQ(run({c, 3, dir(1, 1, 1, 1)}, r), Outcome::kRelated);
  EXPECT_EQ(run({c, 4, dir(1, 1, 1, 1)}, r), Outcome::kService);
  Conn none = c;
  none.proto = 0;
  EXPECT_EQ(run({none, 0, dir(1, 1, 1, 1)}, r), Outcome::kNoProto);
  EXPECT_EQ(run({c, 0, dir(0, 0, 0, 0)}, r), Outcome::kNoCounters);
  CtCounters merged{true, 0, 0, 0, 0, 10, 1000};
  // Merged counters give a record marked as such: the total in tx, rx 0, never a split.
  ASSERT_EQ(run({c, 0, merged}, r), Outcome::kMerged);
  EXPECT_TRUE(r.key.merged_directions());
  EXPECT_EQ(r.counters, (Counters{1000, 10, 0, 0}));
  EXPECT_EQ(r.key.local, ip("10.0.0.1"));
  // The flag does not stick to the next per-direction record written into the same `out`.
  ASSERT_EQ(run({c, 0, dir(1, 1, 1, 1)}, r), Outcome::kRecord);
  EXPECT_FALSE(r.key.merged_directions());
  // Merged or not, a non-local entry is transit, and zeros mean no counters.
  EXPECT_EQ(run({{"1.1.1.1", 1, "2.2.2.2", 2, 6}, 0, merged}, r), Outcome::kTransit);
  EXPECT_EQ(run({c, 0, CtCounters{true, 0, 0, 0, 0, 0, 0}}, r), Outcome::kNoCounters);
}

// The contract's table (tests/common/accounting_contract.h) through Cilium's two entries of a
// connection: the OUT entry (the initiator's view: tx = what it sent) gives the initiator's record
// only if the initiator reports, the IN entry (the responder's view) the responder's; so each
// reporting side is counted once and no other side is.
TEST(CiliumOrient, FollowsTheAccountingContract) {
  const LocalEndpoints eps = egressd::testing::contract_endpoints();
  for (const auto& c : egressd::testing::kContract) {
    SCOPED_TRACE(c.name);
    const auto ends = egressd::testing::contract_ends(c);
    const Conn conn{ends.initiator.to_string(), 40000, ends.responder.to_string(), 443, 6};
    for (const bool in_entry : {false, true}) {
      const auto key = make_key(conn, in_entry ? 1 : 0);
      CtTuple t;
      KeyKind kind{};
      ASSERT_TRUE(parse_key(Family::kIpv4, key, t, kind));
      // Each entry's own view: the initiator sent 100 B in 1 packet, the responder 900 B in 2.
      const CtCounters view = in_entry ? dir(2, 900, 1, 100) : dir(1, 100, 2, 900);
      FlowRecord r;
      const Outcome o = orient(t, kind, view, eps, r);
      const bool reports = in_entry ? c.responder_reports : c.initiator_reports;
      if (!reports) {
        const EndpointKind self = in_entry ? c.responder : c.initiator;
        const EndpointKind other = in_entry ? c.initiator : c.responder;
        const Outcome want = self == EndpointKind::kOther       ? Outcome::kTransit
                             : other == EndpointKind::kLocalPod ? Outcome::kPodReports
                                                                : Outcome::kInitiatorReports;
        EXPECT_EQ(o, want) << (in_entry ? "IN" : "OUT");
        continue;
      }
      ASSERT_EQ(o, Outcome::kRecord) << (in_entry ? "IN" : "OUT");
      EXPECT_EQ(r.key.local, in_entry ? ends.responder : ends.initiator);
      EXPECT_EQ(r.key.peer, in_entry ? ends.initiator : ends.responder);
      EXPECT_EQ(r.counters, in_entry ? (Counters{900, 2, 100, 1}) : (Counters{100, 1, 900, 2}));
    }
  }
}

TEST(CiliumOrient, EntryIdsAreStableAndSalted) {
  const auto k4 = make_key(Conn{"10.0.0.1", 1, "10.0.0.2", 2, 6}, 0);
  const auto k4b = make_key(Conn{"10.0.0.1", 1, "10.0.0.2", 3, 6}, 0);
  const auto k6 = make_key(Conn{"fd00::1", 1, "fd00::2", 2, 6}, 0);
  const auto k6b = make_key(Conn{"fd00::1", 1, "fd00::3", 2, 6}, 0);
  const uint64_t a = entry_id(Family::kIpv4, k4.data(), CounterOrigin::kCtMap);
  EXPECT_EQ(a, entry_id(Family::kIpv4, k4.data(), CounterOrigin::kCtMap));
  EXPECT_NE(a, entry_id(Family::kIpv4, k4b.data(), CounterOrigin::kCtMap));
  EXPECT_NE(a, entry_id(Family::kIpv4, k4.data(), CounterOrigin::kStatsMap));
  const uint64_t b = entry_id(Family::kIpv6, k6.data(), CounterOrigin::kCtMap);
  EXPECT_NE(b, entry_id(Family::kIpv6, k6b.data(), CounterOrigin::kCtMap));
  EXPECT_NE(b, entry_id(Family::kIpv6, k6.data(), CounterOrigin::kStatsMap));
}

}  // namespace
}  // namespace egressd::cilium
