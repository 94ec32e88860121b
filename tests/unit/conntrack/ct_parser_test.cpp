// The parser on bytes captured from a real 6.18 kernel (tests/fixtures/conntrack, made by
// capture_ct_dump). The expected values below were written down from `conntrack -L -o extended,id`
// and `conntrack -E` run beside the capture (dump.conntrack.v4.txt, dump.conntrack.v6.txt,
// events.conntrack.txt) — libnetfilter_conntrack's reading, not ours. A second test re-reads
// those text files so a regenerated capture stays cross-checked.
#include <linux/netfilter/nf_conntrack_common.h>

#include <map>
#include <sstream>

#include <gtest/gtest.h>

#include "ct_test_util.h"

namespace egressd::conntrack {
namespace {

using testing::CollectingVisitor;
using testing::load_fixture;
using testing::load_text;
using testing::split_messages;

IpAddr ip(const char* text) {
  return *IpAddr::parse(text);
}

struct Expected {
  const char* what;
  uint8_t family;
  uint8_t proto;
  const char* os;
  const char* od;
  uint16_t osport, odport;  // ICMP: type, id in the icmp fields instead
  const char* rs;
  const char* rd;
  uint16_t rsport, rdport;
  uint64_t opkts, obytes, rpkts, rbytes;
  uint32_t id;
  uint32_t timeout;  // as conntrack -L printed it a moment before the capture
  bool assured, src_nat, dst_nat;
};

// From dump.conntrack.v4.txt / dump.conntrack.v6.txt.
const Expected kCaptured[] = {
    {"icmp v4", AF_INET, 1,  "10.0.0.1", "10.0.0.2", 0,         0,  "10.0.0.2", "10.0.0.1", 0,
     0,         1,       84, 1,          84,         941580580, 29, false,      false,      false},
    {"udp v4 snat", AF_INET,    17,   "10.0.0.3", "10.0.0.2", 40002, 9999,
     "10.0.0.2",    "10.0.0.9", 9999, 40002,      1,          328,   1,
     528,           467271091,  29,   false,      true,       false},
    {"tcp v4 dnat", AF_INET, 6,     "10.0.0.1", "10.96.0.10", 40001, 80,   "10.0.0.2",
     "10.0.0.1",    8080,    40001, 6,          1320,         4,     2216, 645983569,
     119,           true,    false, true},
    {"icmpv6", AF_INET6, 58, "fd00::1", "fd00::2", 0,           0,  "fd00::2", "fd00::1", 0,
     0,        1,        80, 1,         80,        3721423211U, 29, false,     false,     false},
    {"tcp v6", AF_INET6, 6, "fd00::1", "fd00::2",   40004, 8443, "fd00::2", "fd00::1", 8443, 40004,
     6,        1140,     4, 1796,      2360772915U, 119,   true, false,     false},
    {"udp v6 dnat", AF_INET6, 17,        "fd00::1", "fd00:96::10",
     40005,         53,       "fd00::2", "fd00::1", 5353,
     40005,         1,        148,       1,         248,
     2819103854U,   29,       false,     false,     true},
};

const CtEntry* find_by_id(const std::vector<CtEntry>& entries, uint32_t id) {
  for (const auto& e : entries) {
    if (e.has(kFieldId) && e.id == id) return &e;
  }
  return nullptr;
}

void expect_matches(const CtEntry& e, const Expected& x) {
  SCOPED_TRACE(x.what);
  EXPECT_EQ(e.family, x.family);
  EXPECT_EQ(e.orig.proto, x.proto);
  EXPECT_EQ(e.reply.proto, x.proto);
  EXPECT_EQ(e.orig.src, ip(x.os));
  EXPECT_EQ(e.orig.dst, ip(x.od));
  EXPECT_EQ(e.reply.src, ip(x.rs));
  EXPECT_EQ(e.reply.dst, ip(x.rd));
  EXPECT_EQ(e.orig.src_port, x.osport);
  EXPECT_EQ(e.orig.dst_port, x.odport);
  EXPECT_EQ(e.reply.src_port, x.rsport);
  EXPECT_EQ(e.reply.dst_port, x.rdport);
  ASSERT_TRUE(e.has_counters());
  EXPECT_EQ(e.orig_counters, (CtCounters{x.opkts, x.obytes}));
  EXPECT_EQ(e.reply_counters, (CtCounters{x.rpkts, x.rbytes}));
  EXPECT_EQ(e.id, x.id);
  ASSERT_TRUE(e.has(kFieldStatus));
  EXPECT_NE(e.status & IPS_SEEN_REPLY, 0U);
  EXPECT_NE(e.status & IPS_CONFIRMED, 0U);
  EXPECT_EQ((e.status & IPS_ASSURED) != 0, x.assured);
  EXPECT_EQ((e.status & IPS_SRC_NAT) != 0, x.src_nat);
  EXPECT_EQ((e.status & IPS_DST_NAT) != 0, x.dst_nat);
  // Default zone 0 is not sent (ctnetlink_dump_zone_id() skips it); no mark was set.
  EXPECT_FALSE(e.has(kFieldZone));
  EXPECT_EQ(e.mark, 0U);
  // nf_conntrack_timestamp=1 during the capture.
  EXPECT_TRUE(e.has(kFieldTimestampStart));
  EXPECT_GT(e.timestamp_start, 1'600'000'000ULL * 1'000'000'000ULL);  // wall clock, ns
}

TEST(CtParserFixture, DumpHasEveryCapturedEntryExactly) {
  const auto bytes = load_fixture("dump.bin");
  ASSERT_EQ(bytes.size(), 1708U);
  CollectingVisitor v;
  const WalkResult r = walk_messages(bytes, {}, v);
  EXPECT_TRUE(r.done);
  EXPECT_FALSE(r.interrupted);
  EXPECT_FALSE(r.framing_error);
  EXPECT_EQ(r.error, 0);
  EXPECT_EQ(r.parse_errors, 0U);
  EXPECT_EQ(r.messages, 7U);  // six entries and NLMSG_DONE
  ASSERT_EQ(r.entries, 6U);
  ASSERT_EQ(v.entries.size(), 6U);
  for (const MessageKind k : v.kinds) EXPECT_EQ(k, MessageKind::kNew);
  for (const Expected& x : kCaptured) {
    const CtEntry* e = find_by_id(v.entries, x.id);
    ASSERT_NE(e, nullptr) << x.what;
    expect_matches(*e, x);
    ASSERT_TRUE(e->has(kFieldTimeout));
    // conntrack -L ran just before the capture: the timer may have ticked once since.
    EXPECT_LE(e->timeout, x.timeout) << x.what;
    EXPECT_GE(e->timeout + 1, x.timeout) << x.what;
    EXPECT_FALSE(e->has(kFieldTimestampStop)) << "a live entry has no stop time";
  }
}

TEST(CtParserFixture, IcmpFieldsOfBothFamilies) {
  const auto bytes = load_fixture("dump.bin");
  CollectingVisitor v;
  (void)walk_messages(bytes, {}, v);
  const CtEntry* icmp = find_by_id(v.entries, 941580580);
  ASSERT_NE(icmp, nullptr);
  // conntrack: type=8 code=0 id=4660 / type=0 code=0 id=4660
  EXPECT_EQ(icmp->orig.icmp_type, 8);
  EXPECT_EQ(icmp->orig.icmp_code, 0);
  EXPECT_EQ(icmp->orig.icmp_id, 4660);
  EXPECT_EQ(icmp->reply.icmp_type, 0);
  EXPECT_EQ(icmp->reply.icmp_id, 4660);
  const CtEntry* icmp6 = find_by_id(v.entries, 3721423211U);
  ASSERT_NE(icmp6, nullptr);
  // conntrack: type=128 code=0 id=17185 / type=129 code=0 id=17185
  EXPECT_EQ(icmp6->orig.icmp_type, 128);
  EXPECT_EQ(icmp6->orig.icmp_id, 17185);
  EXPECT_EQ(icmp6->reply.icmp_type, 129);
  EXPECT_EQ(icmp6->reply.icmp_id, 17185);
}

TEST(CtParserFixture, DestroyEventsCarryFinalCounters) {
  const auto bytes = load_fixture("events.bin");
  ASSERT_EQ(bytes.size(), 1672U);
  CollectingVisitor v;
  const WalkResult r = walk_messages(bytes, {}, v);
  EXPECT_EQ(r.parse_errors, 0U);
  EXPECT_FALSE(r.done);  // events are not a dump: no NLMSG_DONE
  ASSERT_EQ(r.entries, 6U);
  for (const MessageKind k : v.kinds) EXPECT_EQ(k, MessageKind::kDelete);
  // events.conntrack.txt shows the same counters as the dump: no traffic in between.
  for (const Expected& x : kCaptured) {
    const CtEntry* e = find_by_id(v.entries, x.id);
    ASSERT_NE(e, nullptr) << x.what;
    expect_matches(*e, x);
    EXPECT_TRUE(e->has(kFieldTimestampStop));
    EXPECT_GE(e->timestamp_stop, e->timestamp_start);
  }
}

TEST(CtParserFixture, EveryMessageParsesOnItsOwn) {
  for (const char* name : {"dump.bin", "events.bin"}) {
    const auto messages = split_messages(load_fixture(name));
    ASSERT_GE(messages.size(), 6U) << name;
    size_t entries = 0;
    for (const auto& m : messages) {
      const auto* nlh = reinterpret_cast<const nlmsghdr*>(m.data());
      if (nlh->nlmsg_type == NLMSG_DONE) continue;
      CtEntry e;
      EXPECT_EQ(parse_ct_payload(std::span<const uint8_t>(m).subspan(kNlmsgHdrLen), e),
                ParseStatus::kOk)
          << name;
      ++entries;
    }
    EXPECT_EQ(entries, 6U) << name;
  }
}

TEST(CtParserFixture, ForeignSequenceOrPortIsIgnored) {
  const auto bytes = load_fixture("dump.bin");
  const auto* first = reinterpret_cast<const nlmsghdr*>(bytes.data());
  ASSERT_EQ(first->nlmsg_seq, 4242U);  // what capture_ct_dump sent
  CollectingVisitor v;
  WalkResult r = walk_messages(bytes, {4243, 0}, v);
  EXPECT_EQ(r.entries, 0U);
  EXPECT_FALSE(r.done);  // NLMSG_DONE of another request
  EXPECT_EQ(r.ignored, 7U);
  r = walk_messages(bytes, {4242, first->nlmsg_pid + 1}, v);
  EXPECT_EQ(r.entries, 0U);
  r = walk_messages(bytes, {4242, first->nlmsg_pid}, v);
  EXPECT_EQ(r.entries, 6U);
  EXPECT_TRUE(r.done);
}

// Reads `conntrack -o extended,id` lines: the first src/dst/sport/dport/packets/bytes/type/id
// belong to the original tuple, the second to the reply; the last id= is the entry id.
struct TextEntry {
  std::map<std::string, std::vector<std::string>> values;
  [[nodiscard]] const std::string& get(const std::string& key, size_t i) const {
    return values.at(key).at(i);
  }
};

std::vector<TextEntry> parse_conntrack_text(const std::string& text) {
  std::vector<TextEntry> out;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.find("src=") == std::string::npos) continue;
    TextEntry e;
    std::istringstream words(line);
    for (std::string w; words >> w;) {
      const auto eq = w.find('=');
      if (eq != std::string::npos) e.values[w.substr(0, eq)].push_back(w.substr(eq + 1));
    }
    out.push_back(std::move(e));
  }
  return out;
}

void cross_check(const std::vector<CtEntry>& parsed, const std::vector<TextEntry>& text) {
  ASSERT_EQ(parsed.size(), text.size());
  for (const TextEntry& t : text) {
    const auto& ids = t.values.at("id");
    const uint32_t id = static_cast<uint32_t>(std::stoul(ids.back()));
    const CtEntry* e = find_by_id(parsed, id);
    ASSERT_NE(e, nullptr) << "id " << id;
    EXPECT_EQ(e->orig.src, ip(t.get("src", 0).c_str()));
    EXPECT_EQ(e->orig.dst, ip(t.get("dst", 0).c_str()));
    EXPECT_EQ(e->reply.src, ip(t.get("src", 1).c_str()));
    EXPECT_EQ(e->reply.dst, ip(t.get("dst", 1).c_str()));
    EXPECT_EQ(e->orig_counters.packets, std::stoull(t.get("packets", 0)));
    EXPECT_EQ(e->orig_counters.bytes, std::stoull(t.get("bytes", 0)));
    EXPECT_EQ(e->reply_counters.packets, std::stoull(t.get("packets", 1)));
    EXPECT_EQ(e->reply_counters.bytes, std::stoull(t.get("bytes", 1)));
    if (t.values.contains("sport")) {
      EXPECT_EQ(e->orig.src_port, std::stoul(t.get("sport", 0)));
      EXPECT_EQ(e->orig.dst_port, std::stoul(t.get("dport", 0)));
      EXPECT_EQ(e->reply.src_port, std::stoul(t.get("sport", 1)));
      EXPECT_EQ(e->reply.dst_port, std::stoul(t.get("dport", 1)));
    } else {
      EXPECT_EQ(e->orig.icmp_type, std::stoul(t.get("type", 0)));
      EXPECT_EQ(e->orig.icmp_id, std::stoul(t.get("id", 0)));
      EXPECT_EQ(e->reply.icmp_type, std::stoul(t.get("type", 1)));
    }
  }
}

TEST(CtParserFixture, AgreesWithConntrackToolText) {
  CollectingVisitor dump;
  (void)walk_messages(load_fixture("dump.bin"), {}, dump);
  auto text = parse_conntrack_text(load_text("dump.conntrack.v4.txt"));
  const auto v6 = parse_conntrack_text(load_text("dump.conntrack.v6.txt"));
  text.insert(text.end(), v6.begin(), v6.end());
  cross_check(dump.entries, text);

  CollectingVisitor events;
  (void)walk_messages(load_fixture("events.bin"), {}, events);
  cross_check(events.entries, parse_conntrack_text(load_text("events.conntrack.txt")));
}

}  // namespace
}  // namespace egressd::conntrack
