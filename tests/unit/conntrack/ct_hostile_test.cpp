// The parser and walker on hand-built hostile input: every malformed message must become a counted
// parse error (or a framing error that stops the walk), never a crash and never an entry.
#include <algorithm>
#include <climits>

#include <gtest/gtest.h>

#include "ct_test_util.h"

namespace egressd::conntrack {
namespace {

using testing::as_bytes;
using testing::Buffer;
using testing::CollectingVisitor;
using testing::control_message;
using testing::load_fixture;
using testing::MessageBuilder;

WalkResult walk_one(MessageBuilder& b, CollectingVisitor& v) {
  return walk_messages(b.bytes(), {}, v);
}

ParseStatus parse(MessageBuilder& b) {
  CtEntry e;
  return parse_ct_payload(b.bytes().subspan(kNlmsgHdrLen), e);
}

TEST(CtHostile, BaselineMessageIsValid) {
  auto b = MessageBuilder::valid_v4();
  CollectingVisitor v;
  const WalkResult r = walk_one(b, v);
  EXPECT_EQ(r.entries, 1U);
  EXPECT_EQ(r.parse_errors, 0U);
  ASSERT_EQ(v.entries.size(), 1U);
  EXPECT_EQ(v.entries[0].orig.src, *IpAddr::parse("10.0.0.1"));
  EXPECT_EQ(v.entries[0].reply.src_port, 80);
  EXPECT_EQ(v.entries[0].orig_counters, (CtCounters{3, 300}));
  EXPECT_EQ(v.entries[0].id, 77U);
}

TEST(CtHostile, EmptyBufferIsNothing) {
  CollectingVisitor v;
  const WalkResult r = walk_messages({}, {}, v);
  EXPECT_EQ(r.messages, 0U);
  EXPECT_EQ(r.parse_errors, 0U);
  EXPECT_FALSE(r.framing_error);
}

TEST(CtHostile, BadMessageLengthsStopTheWalk) {
  for (const uint32_t bad : {0U, 1U, 15U, 4097U, 0x7fffffffU, 0x80000000U, 0xffffffffU}) {
    auto b = MessageBuilder::valid_v4();
    const size_t real = b.bytes().size();
    b.header()->nlmsg_len = bad;
    CollectingVisitor v;
    const WalkResult r = walk_messages(
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(b.header()), real), {}, v);
    EXPECT_TRUE(r.framing_error) << bad;
    EXPECT_EQ(r.parse_errors, 1U) << bad;
    EXPECT_EQ(r.entries, 0U) << bad;
  }
}

TEST(CtHostile, EveryTruncationOfARealDumpIsSafe) {
  const auto dump = load_fixture("dump.bin");
  const auto messages = testing::split_messages(dump);
  for (size_t cut = 0; cut < dump.size(); ++cut) {
    std::vector<uint32_t> aligned((cut + 3) / 4);
    if (cut > 0) std::memcpy(aligned.data(), dump.data(), cut);  // data() is null when empty
    CollectingVisitor v;
    const WalkResult r = walk_messages(as_bytes(aligned, cut), {}, v);
    // Only whole messages before the cut may yield entries; the cut one is a framing error.
    size_t whole = 0;
    size_t offset = 0;
    for (const auto& m : messages) {
      if (offset + m.size() > cut) break;
      offset += nl_align(m.size());
      ++whole;
    }
    EXPECT_LE(r.entries, whole) << cut;
    EXPECT_FALSE(r.done) << cut;
    if (offset != cut && cut != 0) {
      EXPECT_TRUE(r.framing_error) << cut;
    }
  }
}

TEST(CtHostile, EveryTruncatedAttributeStreamIsRejected) {
  // Shorten nlmsg_len of each real message byte by byte. A cut inside an attribute leaves a
  // stream that libmnl's iterator would silently stop in: the parser must reject it. A cut on a
  // top-level attribute boundary is a well-formed shorter message (it parses if both tuples are
  // still there, with fewer optional fields).
  for (const auto& m : testing::split_messages(load_fixture("dump.bin"))) {
    if (reinterpret_cast<const nlmsghdr*>(m.data())->nlmsg_type == NLMSG_DONE) continue;
    std::vector<size_t> boundaries;  // message lengths that end on a top-level attribute
    for (size_t off = MessageBuilder::kAttrOffset; off < m.size();) {
      nlattr a;
      std::memcpy(&a, m.data() + off, sizeof(a));
      off += nl_align(a.nla_len);
      boundaries.push_back(off);
    }
    for (size_t len = MessageBuilder::kAttrOffset + 1; len < m.size(); ++len) {
      CtEntry e;
      const auto status = parse_ct_payload(
          std::span<const uint8_t>(m.data() + kNlmsgHdrLen, len - kNlmsgHdrLen), e);
      const bool boundary =
          std::find(boundaries.begin(), boundaries.end(), len) != boundaries.end();
      if (!boundary) {
        EXPECT_NE(status, ParseStatus::kOk) << len;
      } else if (status == ParseStatus::kOk) {
        EXPECT_FALSE(e.orig.src.is_unspecified()) << len;
        EXPECT_FALSE(e.reply.src.is_unspecified()) << len;
      } else {
        EXPECT_EQ(status, ParseStatus::kIncomplete) << len;
      }
    }
  }
}

TEST(CtHostile, PayloadShorterThanNfgenmsg) {
  MessageBuilder b(ct_msg_type(IPCTNL_MSG_CT_NEW), AF_INET);
  b.header()->nlmsg_len = kNlmsgHdrLen + 2;
  CollectingVisitor v;
  const WalkResult r = walk_one(b, v);
  EXPECT_EQ(r.parse_errors, 1U);
  EXPECT_EQ(r.entries, 0U);
}

TEST(CtHostile, HeaderOnlyMessageIsIncomplete) {
  MessageBuilder b;
  EXPECT_EQ(parse(b), ParseStatus::kIncomplete);
}

TEST(CtHostile, UnsupportedFamily) {
  MessageBuilder b(ct_msg_type(IPCTNL_MSG_CT_NEW), 7 /* AF_BRIDGE */);
  b.tuple(CTA_TUPLE_ORIG, "10.0.0.1", "10.0.0.2", 6, 1, 2);
  b.tuple(CTA_TUPLE_REPLY, "10.0.0.2", "10.0.0.1", 6, 2, 1);
  EXPECT_EQ(parse(b), ParseStatus::kUnsupported);
}

TEST(CtHostile, AddressesOfTheWrongFamily) {
  MessageBuilder v4msg(ct_msg_type(IPCTNL_MSG_CT_NEW), AF_INET);
  v4msg.tuple(CTA_TUPLE_ORIG, "fd00::1", "fd00::2", 6, 1, 2);
  v4msg.tuple(CTA_TUPLE_REPLY, "fd00::2", "fd00::1", 6, 2, 1);
  EXPECT_EQ(parse(v4msg), ParseStatus::kUnsupported);
  MessageBuilder v6msg(ct_msg_type(IPCTNL_MSG_CT_NEW), AF_INET6);
  v6msg.tuple(CTA_TUPLE_ORIG, "10.0.0.1", "10.0.0.2", 6, 1, 2);
  v6msg.tuple(CTA_TUPLE_REPLY, "10.0.0.2", "10.0.0.1", 6, 2, 1);
  EXPECT_EQ(parse(v6msg), ParseStatus::kUnsupported);
}

TEST(CtHostile, MissingTuples) {
  MessageBuilder no_reply;
  no_reply.tuple(CTA_TUPLE_ORIG, "10.0.0.1", "10.0.0.2", 6, 1, 2);
  no_reply.counters(CTA_COUNTERS_ORIG, 1, 1);
  EXPECT_EQ(parse(no_reply), ParseStatus::kIncomplete);

  MessageBuilder no_ip;
  nlattr* t = no_ip.nest(CTA_TUPLE_ORIG);
  nlattr* p = no_ip.nest(CTA_TUPLE_PROTO);
  no_ip.u8(CTA_PROTO_NUM, 6);
  no_ip.end(p);
  no_ip.end(t);
  no_ip.tuple(CTA_TUPLE_REPLY, "10.0.0.2", "10.0.0.1", 6, 2, 1);
  EXPECT_EQ(parse(no_ip), ParseStatus::kIncomplete);

  MessageBuilder no_dst;
  t = no_dst.nest(CTA_TUPLE_ORIG);
  nlattr* ipn = no_dst.nest(CTA_TUPLE_IP);
  no_dst.v4(CTA_IP_V4_SRC, "10.0.0.1");
  no_dst.end(ipn);
  p = no_dst.nest(CTA_TUPLE_PROTO);
  no_dst.u8(CTA_PROTO_NUM, 6);
  no_dst.end(p);
  no_dst.end(t);
  no_dst.tuple(CTA_TUPLE_REPLY, "10.0.0.2", "10.0.0.1", 6, 2, 1);
  EXPECT_EQ(parse(no_dst), ParseStatus::kIncomplete);

  MessageBuilder no_proto_num;
  t = no_proto_num.nest(CTA_TUPLE_ORIG);
  ipn = no_proto_num.nest(CTA_TUPLE_IP);
  no_proto_num.v4(CTA_IP_V4_SRC, "10.0.0.1");
  no_proto_num.v4(CTA_IP_V4_DST, "10.0.0.2");
  no_proto_num.end(ipn);
  p = no_proto_num.nest(CTA_TUPLE_PROTO);
  no_proto_num.be16(CTA_PROTO_SRC_PORT, 1);
  no_proto_num.end(p);
  no_proto_num.end(t);
  no_proto_num.tuple(CTA_TUPLE_REPLY, "10.0.0.2", "10.0.0.1", 6, 2, 1);
  EXPECT_EQ(parse(no_proto_num), ParseStatus::kIncomplete);

  MessageBuilder empty_nest;
  empty_nest.end(empty_nest.nest(CTA_TUPLE_ORIG));  // zero-length nest
  empty_nest.tuple(CTA_TUPLE_REPLY, "10.0.0.2", "10.0.0.1", 6, 2, 1);
  EXPECT_EQ(parse(empty_nest), ParseStatus::kIncomplete);
}

// A tuple whose one attribute has payload `size` instead of the right one.
ParseStatus with_bad_attr(uint16_t ip_type, size_t size) {
  MessageBuilder b;
  nlattr* t = b.nest(CTA_TUPLE_ORIG);
  nlattr* ipn = b.nest(CTA_TUPLE_IP);
  const std::vector<uint8_t> junk(size, 0x11);
  if (ip_type != CTA_IP_V4_SRC) b.v4(CTA_IP_V4_SRC, "10.0.0.1");
  if (ip_type != CTA_IP_V4_DST) b.v4(CTA_IP_V4_DST, "10.0.0.2");
  b.raw(ip_type, junk);
  b.end(ipn);
  nlattr* p = b.nest(CTA_TUPLE_PROTO);
  b.u8(CTA_PROTO_NUM, 6);
  b.end(p);
  b.end(t);
  b.tuple(CTA_TUPLE_REPLY, "10.0.0.2", "10.0.0.1", 6, 2, 1);
  return parse(b);
}

TEST(CtHostile, WrongAttributeSizes) {
  EXPECT_EQ(with_bad_attr(CTA_IP_V4_SRC, 3), ParseStatus::kMalformed);
  EXPECT_EQ(with_bad_attr(CTA_IP_V4_SRC, 5), ParseStatus::kMalformed);
  EXPECT_EQ(with_bad_attr(CTA_IP_V4_SRC, 0), ParseStatus::kMalformed);
  EXPECT_EQ(with_bad_attr(CTA_IP_V4_DST, 16), ParseStatus::kMalformed);
  // A 15-byte IPv6 address in an IPv6 message.
  MessageBuilder b(ct_msg_type(IPCTNL_MSG_CT_NEW), AF_INET6);
  nlattr* t = b.nest(CTA_TUPLE_ORIG);
  nlattr* ipn = b.nest(CTA_TUPLE_IP);
  const std::vector<uint8_t> short_v6(15, 0xfd);
  b.raw(CTA_IP_V6_SRC, short_v6);
  b.v6(CTA_IP_V6_DST, "fd00::2");
  b.end(ipn);
  nlattr* p6 = b.nest(CTA_TUPLE_PROTO);
  b.u8(CTA_PROTO_NUM, 6);
  b.end(p6);
  b.end(t);
  b.tuple(CTA_TUPLE_REPLY, "fd00::2", "fd00::1", 6, 2, 1);
  EXPECT_EQ(parse(b), ParseStatus::kMalformed);

  // CTA_PROTO_NUM as 2 bytes; a port as 4 bytes.
  for (const auto& [type, size] : {std::pair<uint16_t, size_t>{CTA_PROTO_NUM, 2},
                                   {CTA_PROTO_SRC_PORT, 4},
                                   {CTA_PROTO_ICMP_TYPE, 2}}) {
    MessageBuilder m;
    nlattr* tt = m.nest(CTA_TUPLE_ORIG);
    nlattr* ip4 = m.nest(CTA_TUPLE_IP);
    m.v4(CTA_IP_V4_SRC, "10.0.0.1");
    m.v4(CTA_IP_V4_DST, "10.0.0.2");
    m.end(ip4);
    nlattr* p = m.nest(CTA_TUPLE_PROTO);
    if (type != CTA_PROTO_NUM) m.u8(CTA_PROTO_NUM, 6);
    const std::vector<uint8_t> junk(size, 1);
    m.raw(type, junk);
    m.end(p);
    m.end(tt);
    m.tuple(CTA_TUPLE_REPLY, "10.0.0.2", "10.0.0.1", 6, 2, 1);
    EXPECT_EQ(parse(m), ParseStatus::kMalformed) << type;
  }
}

TEST(CtHostile, CountersOfTheWrongSizeOrMissing) {
  auto b = MessageBuilder::valid_v4();
  nlattr* c = b.nest(CTA_COUNTERS_ORIG);  // a second, bad one: last one wins and is checked
  b.be32(CTA_COUNTERS_BYTES, 5);          // 4 bytes where 8 belong
  b.be64(CTA_COUNTERS_PACKETS, 1);
  b.end(c);
  EXPECT_EQ(parse(b), ParseStatus::kMalformed);

  auto empty = MessageBuilder::valid_v4();
  empty.end(empty.nest(CTA_COUNTERS_REPLY));
  EXPECT_EQ(parse(empty), ParseStatus::kIncomplete);
}

TEST(CtHostile, ThirtyTwoBitCountersAreAccepted) {
  MessageBuilder b;
  b.tuple(CTA_TUPLE_ORIG, "10.0.0.1", "10.0.0.2", 17, 1, 2);
  b.tuple(CTA_TUPLE_REPLY, "10.0.0.2", "10.0.0.1", 17, 2, 1);
  for (const uint16_t dir : {uint16_t{CTA_COUNTERS_ORIG}, uint16_t{CTA_COUNTERS_REPLY}}) {
    nlattr* c = b.nest(dir);
    b.be32(CTA_COUNTERS32_PACKETS, dir == CTA_COUNTERS_ORIG ? 7 : 8);
    b.be32(CTA_COUNTERS32_BYTES, dir == CTA_COUNTERS_ORIG ? 700 : 800);
    b.end(c);
  }
  CtEntry e;
  ASSERT_EQ(parse_ct_payload(b.bytes().subspan(kNlmsgHdrLen), e), ParseStatus::kOk);
  EXPECT_EQ(e.orig_counters, (CtCounters{7, 700}));
  EXPECT_EQ(e.reply_counters, (CtCounters{8, 800}));
}

TEST(CtHostile, OneSidedCountersMeanNoCounters) {
  MessageBuilder b;
  b.tuple(CTA_TUPLE_ORIG, "10.0.0.1", "10.0.0.2", 6, 1, 2);
  b.tuple(CTA_TUPLE_REPLY, "10.0.0.2", "10.0.0.1", 6, 2, 1);
  b.counters(CTA_COUNTERS_ORIG, 1, 60);
  CtEntry e;
  ASSERT_EQ(parse_ct_payload(b.bytes().subspan(kNlmsgHdrLen), e), ParseStatus::kOk);
  EXPECT_FALSE(e.has_counters());
}

TEST(CtHostile, NestedLengthPastTheEndOfTheMessage) {
  auto b = MessageBuilder::valid_v4();
  // The first attribute (CTA_TUPLE_ORIG) claims more bytes than the message holds.
  auto bytes = b.mutable_bytes();
  auto* first = reinterpret_cast<nlattr*>(bytes.data() + MessageBuilder::kAttrOffset);
  first->nla_len = static_cast<uint16_t>(bytes.size());
  EXPECT_EQ(parse(b), ParseStatus::kMalformed);
  first->nla_len = 0xffff;
  EXPECT_EQ(parse(b), ParseStatus::kMalformed);
  first->nla_len = 2;  // shorter than an attribute header
  EXPECT_EQ(parse(b), ParseStatus::kMalformed);
}

TEST(CtHostile, InnerLengthPastTheEndOfItsNest) {
  auto b = MessageBuilder::valid_v4();
  auto bytes = b.mutable_bytes();
  // CTA_TUPLE_ORIG { CTA_TUPLE_IP { ... } }: grow CTA_TUPLE_IP past its parent's end.
  auto* orig = reinterpret_cast<nlattr*>(bytes.data() + MessageBuilder::kAttrOffset);
  auto* ipn = reinterpret_cast<nlattr*>(bytes.data() + MessageBuilder::kAttrOffset + 4);
  ASSERT_EQ(ipn->nla_type & NLA_TYPE_MASK, CTA_TUPLE_IP);
  ipn->nla_len = static_cast<uint16_t>(orig->nla_len);  // 4 bytes past the parent's payload
  EXPECT_EQ(parse(b), ParseStatus::kMalformed);
}

TEST(CtHostile, TrailingBytesInANest) {
  auto b = MessageBuilder::valid_v4();
  auto bytes = b.mutable_bytes();
  auto* orig = reinterpret_cast<nlattr*>(bytes.data() + MessageBuilder::kAttrOffset);
  auto* ipn = reinterpret_cast<nlattr*>(bytes.data() + MessageBuilder::kAttrOffset + 4);
  // Shrink CTA_TUPLE_IP by 4: its last address no longer fits and 4 stray bytes follow it.
  ipn->nla_len = static_cast<uint16_t>(ipn->nla_len - 4);
  (void)orig;
  EXPECT_NE(parse(b), ParseStatus::kOk);
}

TEST(CtHostile, UnknownAttributesAreSkipped) {
  MessageBuilder b;
  const std::vector<uint8_t> blob(13, 0xee);
  b.raw(200, blob);  // top level, beyond CTA_MAX
  nlattr* t = b.nest(CTA_TUPLE_ORIG);
  b.raw(30, blob);  // inside a tuple, beyond CTA_TUPLE_MAX
  nlattr* ipn = b.nest(CTA_TUPLE_IP);
  b.v4(CTA_IP_V4_SRC, "10.0.0.1");
  b.v4(CTA_IP_V4_DST, "10.0.0.2");
  b.end(ipn);
  nlattr* p = b.nest(CTA_TUPLE_PROTO);
  b.u8(CTA_PROTO_NUM, 132);  // SCTP
  b.be16(CTA_PROTO_SRC_PORT, 5000);
  b.be16(CTA_PROTO_DST_PORT, 6000);
  b.end(p);
  b.end(t);
  b.tuple(CTA_TUPLE_REPLY, "10.0.0.2", "10.0.0.1", 132, 6000, 5000);
  b.raw(CTA_LABELS, blob);  // known but unused: not validated
  b.raw(CTA_PROTOINFO, blob);
  b.counters(CTA_COUNTERS_ORIG, 1, 2);
  b.counters(CTA_COUNTERS_REPLY, 3, 4);
  b.be16(CTA_ZONE, 9);
  b.be32(CTA_MARK, 0xabcd);
  CtEntry e;
  ASSERT_EQ(parse_ct_payload(b.bytes().subspan(kNlmsgHdrLen), e), ParseStatus::kOk);
  EXPECT_EQ(e.orig.proto, 132);
  EXPECT_EQ(e.orig.src_port, 5000);
  EXPECT_EQ(e.reply.dst_port, 5000);
  EXPECT_TRUE(e.has(kFieldZone));
  EXPECT_EQ(e.zone, 9);
  EXPECT_EQ(e.mark, 0xabcdU);
  EXPECT_FALSE(e.has(kFieldId));
  EXPECT_EQ(e.reply_counters, (CtCounters{3, 4}));
}

TEST(CtHostile, ErrorAndDoneMessages) {
  auto entry = MessageBuilder::valid_v4();
  const auto eperm = control_message(NLMSG_ERROR, -EPERM);
  Buffer buf;
  buf.add(entry.bytes());
  buf.add(as_bytes(eperm, kNlmsgHdrLen + 4));
  buf.add(entry.bytes());  // after the error: not read
  CollectingVisitor v;
  WalkResult r = walk_messages(buf.bytes(), {}, v);
  EXPECT_EQ(r.error, EPERM);
  EXPECT_EQ(r.entries, 1U);
  EXPECT_FALSE(r.done);

  const auto ack = control_message(NLMSG_ERROR, 0);
  r = walk_messages(as_bytes(ack, kNlmsgHdrLen + 4), {}, v);
  EXPECT_EQ(r.error, 0);
  EXPECT_EQ(r.ignored, 1U);

  const auto absurd = control_message(NLMSG_ERROR, INT_MIN);
  r = walk_messages(as_bytes(absurd, kNlmsgHdrLen + 4), {}, v);
  EXPECT_EQ(r.error, EPROTO);
  const auto positive = control_message(NLMSG_ERROR, 5);
  r = walk_messages(as_bytes(positive, kNlmsgHdrLen + 4), {}, v);
  EXPECT_EQ(r.error, EPROTO);

  const auto short_error = control_message(NLMSG_ERROR, -EPERM, 0, 2);
  r = walk_messages(as_bytes(short_error, kNlmsgHdrLen + 4), {}, v);
  EXPECT_TRUE(r.framing_error);
  EXPECT_EQ(r.error, 0);

  const auto done = control_message(NLMSG_DONE, 0);
  Buffer d;
  d.add(entry.bytes());
  d.add(as_bytes(done, kNlmsgHdrLen + 4));
  d.add(entry.bytes());  // after DONE: not read
  v.entries.clear();
  r = walk_messages(d.bytes(), {}, v);
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.error, 0);
  EXPECT_EQ(v.entries.size(), 1U);

  const auto failed_done = control_message(NLMSG_DONE, -EINTR);
  r = walk_messages(as_bytes(failed_done, kNlmsgHdrLen + 4), {}, v);
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.error, EINTR);

  const auto bare_done = control_message(NLMSG_DONE, 0, 0, 0);
  r = walk_messages(as_bytes(bare_done, kNlmsgHdrLen), {}, v);
  EXPECT_TRUE(r.done);
  EXPECT_EQ(r.error, 0);
}

TEST(CtHostile, DumpInterruptedFlag) {
  auto entry = MessageBuilder::valid_v4();
  const auto done = control_message(NLMSG_DONE, 0, NLM_F_MULTI | NLM_F_DUMP_INTR);
  Buffer buf;
  buf.add(entry.bytes());
  buf.add(as_bytes(done, kNlmsgHdrLen + 4));
  CollectingVisitor v;
  const WalkResult r = walk_messages(buf.bytes(), {}, v);
  EXPECT_TRUE(r.done);
  EXPECT_TRUE(r.interrupted);
  EXPECT_EQ(r.entries, 1U);
}

TEST(CtHostile, OtherMessageTypesAreIgnored) {
  // An expectation (NFNL_SUBSYS_CTNETLINK_EXP) and a CT_GET_STATS reply: not entries.
  MessageBuilder exp(static_cast<uint16_t>(NFNL_SUBSYS_CTNETLINK_EXP << 8 | IPCTNL_MSG_EXP_NEW));
  MessageBuilder stats(ct_msg_type(IPCTNL_MSG_CT_GET_STATS));
  const auto noop = control_message(NLMSG_NOOP, 0);
  Buffer buf;
  buf.add(exp.bytes());
  buf.add(stats.bytes());
  buf.add(as_bytes(noop, kNlmsgHdrLen + 4));
  CollectingVisitor v;
  const WalkResult r = walk_messages(buf.bytes(), {}, v);
  EXPECT_EQ(r.ignored, 3U);
  EXPECT_EQ(r.entries, 0U);
  EXPECT_EQ(r.parse_errors, 0U);
}

TEST(CtHostile, DeleteMessagesAreFinal) {
  MessageBuilder b(ct_msg_type(IPCTNL_MSG_CT_DELETE));
  b.tuple(CTA_TUPLE_ORIG, "10.0.0.1", "10.0.0.2", 6, 1, 2);
  b.tuple(CTA_TUPLE_REPLY, "10.0.0.2", "10.0.0.1", 6, 2, 1);
  CollectingVisitor v;
  (void)walk_one(b, v);
  ASSERT_EQ(v.kinds.size(), 1U);
  EXPECT_EQ(v.kinds[0], MessageKind::kDelete);
}

TEST(CtHostile, ParseErrorDoesNotStopTheWalk) {
  MessageBuilder bad;  // header only: incomplete
  auto good = MessageBuilder::valid_v4();
  Buffer buf;
  buf.add(bad.bytes());
  buf.add(good.bytes());
  CollectingVisitor v;
  const WalkResult r = walk_messages(buf.bytes(), {}, v);
  EXPECT_EQ(r.parse_errors, 1U);
  EXPECT_EQ(r.entries, 1U);
  EXPECT_FALSE(r.framing_error);
}

TEST(CtHostile, UnalignedBufferIsRefused) {
  auto b = MessageBuilder::valid_v4();
  std::vector<uint32_t> storage(b.bytes().size() / 4 + 2);
  auto* p = reinterpret_cast<uint8_t*>(storage.data()) + 1;
  std::memcpy(p, b.bytes().data(), b.bytes().size());
  CollectingVisitor v;
  const WalkResult r = walk_messages(std::span<const uint8_t>(p, b.bytes().size()), {}, v);
  EXPECT_TRUE(r.framing_error);
  EXPECT_EQ(r.entries, 0U);
}

}  // namespace
}  // namespace egressd::conntrack
