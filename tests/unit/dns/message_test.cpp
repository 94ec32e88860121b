// The DNS parser against real responses recorded from dnsmasq (fixtures/README.md) and against
// hand-built hostile messages: pointer loops, out-of-bounds offsets, huge counts, zero-length
// and oversized labels, truncations at every byte.
#include "dns/message.h"

#include <map>
#include <memory>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "unit/dns/dns_test_util.h"

namespace egressd::dns {
namespace {

using egressd::testing::dns_fixture;
using egressd::testing::DnsBuilder;

class ParserTest : public ::testing::Test {
 protected:
  ParseError parse(const std::vector<uint8_t>& msg, ParseOptions o = {}) {
    return parser_.parse(msg, *r_, o);
  }
  // address -> (question name, ttl)
  std::map<std::string, std::pair<std::string, uint32_t>> named() const {
    std::map<std::string, std::pair<std::string, uint32_t>> out;
    for (const auto& a : r_->answers()) {
      out[a.addr.to_string()] = {std::string(r_->questions[a.question].text()), a.ttl};
    }
    return out;
  }

  Parser parser_;
  std::unique_ptr<Response> r_ = std::make_unique<Response>();
};

using Named = std::map<std::string, std::pair<std::string, uint32_t>>;

TEST_F(ParserTest, RecordedA) {
  ASSERT_EQ(parse(dns_fixture("a_svc")), ParseError::kNone);
  EXPECT_EQ(r_->rcode, 0);
  ASSERT_EQ(r_->question_count, 1u);
  EXPECT_EQ(r_->questions[0].text(), "svc.example.com");
  EXPECT_EQ(r_->questions[0].type, kTypeA);
  EXPECT_EQ(named(), (Named{{"203.0.113.10", {"svc.example.com", 120}}}));
  EXPECT_FALSE(r_->partial);
}

TEST_F(ParserTest, RecordedAaaa) {
  ASSERT_EQ(parse(dns_fixture("aaaa_svc")), ParseError::kNone);
  EXPECT_EQ(named(), (Named{{"2001:db8:113::10", {"svc.example.com", 120}}}));
}

// www -> edge (300 s) -> lb (200 s) -> svc (100 s) -> A (120 s): named after the question, with
// the smallest TTL of the chain.
TEST_F(ParserTest, RecordedThreeLevelCnameChain) {
  ASSERT_EQ(parse(dns_fixture("a_cname_chain3")), ParseError::kNone);
  EXPECT_EQ(r_->cname_count, 3);
  EXPECT_EQ(named(), (Named{{"203.0.113.10", {"www.example.com", 100}}}));
  EXPECT_EQ(r_->addresses[0].depth, 3);
  ASSERT_EQ(parse(dns_fixture("aaaa_cname_chain3")), ParseError::kNone);
  EXPECT_EQ(named(), (Named{{"2001:db8:113::10", {"www.example.com", 100}}}));
}

TEST_F(ParserTest, RecordedMultipleAddresses) {
  ASSERT_EQ(parse(dns_fixture("a_multi")), ParseError::kNone);
  EXPECT_EQ(named().size(), 4u);
  for (const auto& [addr, nt] : named()) EXPECT_EQ(nt.first, "multi.example.com") << addr;
}

TEST_F(ParserTest, RecordedNamesAreLowercase) {
  ASSERT_EQ(parse(dns_fixture("a_mixed_case")), ParseError::kNone);
  EXPECT_EQ(named(), (Named{{"192.0.2.7", {"mixed.example.com", 120}}}));
}

TEST_F(ParserTest, RecordedNxdomainAndNodata) {
  ASSERT_EQ(parse(dns_fixture("nxdomain")), ParseError::kNone);
  EXPECT_EQ(r_->rcode, 3);
  EXPECT_EQ(r_->address_count, 0u);
  ASSERT_EQ(parse(dns_fixture("nodata_mx")), ParseError::kNone);
  EXPECT_EQ(r_->rcode, 0);
  EXPECT_EQ(r_->address_count, 0u);
}

TEST_F(ParserTest, RecordedTruncatedUdpKeepsWholeRecords) {
  ASSERT_EQ(parse(dns_fixture("a_big_tc")), ParseError::kNone);
  EXPECT_TRUE(r_->tc);
  EXPECT_EQ(r_->address_count, r_->answer_count);  // dnsmasq cut at a record boundary
  EXPECT_GT(r_->address_count, 20u);
  ASSERT_EQ(parse(dns_fixture("a_big_edns")), ParseError::kNone);
  EXPECT_FALSE(r_->tc);
  EXPECT_EQ(r_->address_count, 40u);
}

TEST_F(ParserTest, RecordedTcpMessagesAfterTheirPrefix) {
  for (const char* f : {"tcp_a_cname_chain3", "tcp_aaaa_svc", "tcp_a_big"}) {
    auto bytes = dns_fixture(f);
    ASSERT_GE(bytes.size(), 2u);
    EXPECT_EQ(size_t{bytes[0]} << 8 | bytes[1], bytes.size() - 2) << f;
    bytes.erase(bytes.begin(), bytes.begin() + 2);
    ASSERT_EQ(parse(bytes), ParseError::kNone) << f;
    EXPECT_GT(r_->address_count, 0u) << f;
  }
}

// Every recorded response cut at every length: never a crash, never an address past the cut;
// as a prefix (a cut capture) the whole records before the cut are kept.
TEST_F(ParserTest, EveryPrefixOfEveryFixture) {
  for (const char* f : {"a_svc", "aaaa_svc", "a_cname_chain3", "aaaa_cname_chain3", "a_multi",
                        "a_big_edns", "nxdomain"}) {
    const auto full = dns_fixture(f);
    ASSERT_EQ(parse(full), ParseError::kNone);
    const size_t all = r_->address_count;
    for (size_t n = 0; n < full.size(); ++n) {
      const std::vector<uint8_t> cut(full.begin(), full.begin() + static_cast<ptrdiff_t>(n));
      EXPECT_NE(parse(cut), ParseError::kNone) << f << " cut at " << n;
      const ParseError e = parse(cut, ParseOptions{.prefix_only = true});
      if (e == ParseError::kNone) {
        EXPECT_LE(r_->address_count, all);
        EXPECT_TRUE(r_->partial) << f << " " << n;
      } else {
        EXPECT_EQ(e, ParseError::kTruncated) << f << " " << n;
      }
    }
  }
}

TEST_F(ParserTest, ChainInReverseOrderAndMultipleQuestions) {
  DnsBuilder b;
  b.response(2, 4)
      .question("a.test")
      .question("b.test")
      .a("c.test", 50, {192, 0, 2, 3})
      .cname("x.test", 70, "c.test")
      .cname("a.test", 60, "x.test")
      .a("b.test", 40, {192, 0, 2, 2});
  ASSERT_EQ(parse(b.bytes()), ParseError::kNone);
  EXPECT_EQ(named(), (Named{{"192.0.2.3", {"a.test", 50}}, {"192.0.2.2", {"b.test", 40}}}));
}

TEST_F(ParserTest, LongChainIsFollowedToTheEnd) {
  DnsBuilder b;
  constexpr int kHops = 40;
  b.response(1, kHops + 1).question("n0.test");
  for (int i = 0; i < kHops; ++i) {
    b.cname("n" + std::to_string(i) + ".test", 1000, "n" + std::to_string(i + 1) + ".test");
  }
  b.a("n" + std::to_string(kHops) + ".test", 30, {198, 51, 100, 7});
  ASSERT_EQ(parse(b.bytes()), ParseError::kNone);
  EXPECT_EQ(named(), (Named{{"198.51.100.7", {"n0.test", 30}}}));
  EXPECT_EQ(r_->addresses[0].depth, kHops);
}

TEST_F(ParserTest, CnameLoopEnds) {
  DnsBuilder b;
  b.response(1, 3)
      .question("a.test")
      .cname("a.test", 10, "b.test")
      .cname("b.test", 10, "a.test")
      .a("b.test", 10, {192, 0, 2, 9});
  ASSERT_EQ(parse(b.bytes()), ParseError::kNone);
  EXPECT_EQ(named(), (Named{{"192.0.2.9", {"a.test", 10}}}));
}

TEST_F(ParserTest, UnrelatedAnswersAreNotNamed) {
  DnsBuilder b;
  b.response(1, 2)
      .question("a.test")
      .a("other.test", 10, {192, 0, 2, 1})
      .a("a.test", 10, {192, 0, 2, 2});
  ASSERT_EQ(parse(b.bytes()), ParseError::kNone);
  EXPECT_EQ(named(), (Named{{"192.0.2.2", {"a.test", 10}}}));
}

TEST_F(ParserTest, TtlWithTopBitIsZero) {
  DnsBuilder b;
  b.response(1, 1).question("a.test").a("a.test", 0x80000000U, {192, 0, 2, 1});
  ASSERT_EQ(parse(b.bytes()), ParseError::kNone);
  EXPECT_EQ(r_->addresses[0].ttl, 0u);
}

// ---- hostile messages ----

TEST_F(ParserTest, QueriesAndOtherOpcodesAreRefused) {
  EXPECT_EQ(parse(DnsBuilder().header(1, 0x0100, 1, 0).question("a.test").bytes()),
            ParseError::kNotResponse);
  EXPECT_EQ(parse(DnsBuilder().header(1, 0x8000 | (5 << 11), 0, 0).bytes()), ParseError::kOpcode);
}

TEST_F(ParserTest, HeaderOnlyAndShorter) {
  EXPECT_EQ(parse({}), ParseError::kTruncated);
  EXPECT_EQ(parse({0x12, 0x34, 0x81}), ParseError::kTruncated);
  ASSERT_EQ(parse(DnsBuilder().response(0, 0).bytes()), ParseError::kNone);
  EXPECT_EQ(r_->address_count, 0u);
}

TEST_F(ParserTest, HugeCountsAreTruncation) {
  EXPECT_EQ(parse(DnsBuilder().header(1, 0x8180, 0xffff, 0xffff, 0xffff, 0xffff).bytes()),
            ParseError::kTruncated);
  DnsBuilder b;
  b.header(1, 0x8180, 1, 0xffff).question("a.test").a("a.test", 1, {192, 0, 2, 1});
  EXPECT_EQ(parse(b.bytes()), ParseError::kTruncated);
  ASSERT_EQ(parse(b.bytes(), ParseOptions{.prefix_only = true}), ParseError::kNone);
  EXPECT_TRUE(r_->partial);
  EXPECT_EQ(r_->address_count, 1u);
}

TEST_F(ParserTest, PointerToItselfAndForwardAreRefused) {
  DnsBuilder self;
  self.response(1, 0).ptr(12).u16(1).u16(1);  // the question's name points at itself
  EXPECT_EQ(parse(self.bytes()), ParseError::kBadPointer);
  DnsBuilder fwd;
  fwd.response(1, 0).ptr(40).u16(1).u16(1).raw(
      {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 'a', 0});
  EXPECT_EQ(parse(fwd.bytes()), ParseError::kBadPointer);
}

// "a" at 12, then a pointer back to 12: each pointer goes backwards, yet the two form a loop.
TEST_F(ParserTest, BackwardPointerLoopIsRefused) {
  DnsBuilder b;
  b.response(1, 0).raw({1, 'a'}).ptr(12).u16(1).u16(1);
  EXPECT_EQ(parse(b.bytes()), ParseError::kBadPointer);
  // Two names pointing at each other through an answer record.
  DnsBuilder c;
  c.response(1, 1).question("x.test");                          // question ends at 12 + 8 + 4 = 24
  c.raw({1, 'b'}).ptr(26).rr_fixed(1, 1, 4).raw({1, 2, 3, 4});  // owner "b" -> ptr 26 (itself)
  EXPECT_EQ(parse(c.bytes()), ParseError::kBadPointer);
}

TEST_F(ParserTest, PointerOutOfBoundsAndHalfPointer) {
  DnsBuilder b;
  b.response(1, 0).ptr(0x3fff).u16(1).u16(1);
  EXPECT_EQ(parse(b.bytes()), ParseError::kBadPointer);
  auto half = DnsBuilder().response(1, 0).raw({0xc0}).bytes();
  EXPECT_EQ(parse(half), ParseError::kTruncated);
}

TEST_F(ParserTest, PointerIntoTheHeaderIsHarmless) {
  // A pointer to offset 4 reads the counts as labels: whatever it finds is bounds-checked.
  DnsBuilder b;
  b.response(1, 0).ptr(4).u16(1).u16(1);
  // Offset 4 is QDCOUNT's high byte, 0: the root name.
  ASSERT_EQ(parse(b.bytes()), ParseError::kNone);
  EXPECT_EQ(r_->questions[0].text(), ".");
}

TEST_F(ParserTest, ExtendedLabelTypesAreRefused) {
  for (const uint8_t t : {uint8_t{0x40}, uint8_t{0x80}}) {
    auto m = DnsBuilder().response(1, 0).raw({t, 'a', 0}).u16(1).u16(1).bytes();
    EXPECT_EQ(parse(m), ParseError::kBadLabel);
  }
}

TEST_F(ParserTest, RootNameAndEmptyLabels) {
  // The root as the question (a zero-length first label) parses; nothing gets named after it.
  DnsBuilder b;
  b.response(1, 1).raw({0}).u16(1).u16(1).raw({0}).rr_fixed(1, 5, 4).raw({192, 0, 2, 1});
  ASSERT_EQ(parse(b.bytes()), ParseError::kNone);
  EXPECT_EQ(r_->questions[0].text(), ".");
  EXPECT_EQ(r_->address_count, 1u);
}

TEST_F(ParserTest, NameLongerThan255OctetsIsRefused) {
  std::string name;
  for (int i = 0; i < 5; ++i) name += std::string(63, static_cast<char>('a' + i)) + ".";
  name.pop_back();  // 5 x 64 = 320 octets
  EXPECT_EQ(parse(DnsBuilder().response(1, 0).question(name).bytes()), ParseError::kNameTooLong);
  // Exactly 255: four labels of 63 (256 with the root) is one too many; 3x63 + 61 fits.
  std::string ok = std::string(63, 'a') + "." + std::string(63, 'b') + "." + std::string(63, 'c') +
                   "." + std::string(61, 'd');
  ASSERT_EQ(parse(DnsBuilder().response(1, 0).question(ok).bytes()), ParseError::kNone);
  EXPECT_EQ(r_->questions[0].text(), ok);
}

// Pointers can build a long name from a short message: the 255-octet limit still holds.
TEST_F(ParserTest, PointerChainsCannotExceedTheNameLimit) {
  DnsBuilder b;
  b.response(1, 0);
  b.raw({63});
  for (int i = 0; i < 63; ++i) b.raw({'x'});
  b.raw({0});  // offset 12: one 63-byte label
  uint16_t prev = 12;
  for (int i = 0; i < 6; ++i) {  // each adds 63 more octets in front of the previous
    const auto at = static_cast<uint16_t>(b.size());
    b.raw({63});
    for (int j = 0; j < 63; ++j) b.raw({'y'});
    b.ptr(prev);
    prev = at;
  }
  // The "question" starts at the last one (ignore that the header's counts do not fit).
  auto m = b.bytes();
  m[5] = 0;  // QDCOUNT 0: just walk the name through read_name
  NameRead nr;
  std::array<char, kMaxNameText> text{};
  EXPECT_EQ(read_name(m, prev, text.data(), nr), ParseError::kNameTooLong);
}

TEST_F(ParserTest, WrongRdataLengthsAreRefused) {
  DnsBuilder a;
  a.response(1, 1).question("a.test").name("a.test").rr_fixed(1, 5, 5).raw({1, 2, 3, 4, 5});
  EXPECT_EQ(parse(a.bytes()), ParseError::kBadRdata);
  DnsBuilder aaaa;
  aaaa.response(1, 1).question("a.test").name("a.test").rr_fixed(28, 5, 4).raw({1, 2, 3, 4});
  EXPECT_EQ(parse(aaaa.bytes()), ParseError::kBadRdata);
  // A CNAME whose target runs past its RDLENGTH.
  DnsBuilder c;
  c.response(1, 1).question("a.test").name("a.test").rr_fixed(5, 5, 3).name("b.test");
  EXPECT_EQ(parse(c.bytes()), ParseError::kBadRdata);
}

TEST_F(ParserTest, RdlengthPastTheEndIsTruncation) {
  DnsBuilder b;
  b.response(1, 1).question("a.test").name("a.test").rr_fixed(1, 5, 400).raw({1, 2, 3, 4});
  EXPECT_EQ(parse(b.bytes()), ParseError::kTruncated);
}

TEST_F(ParserTest, OtherClassesAndTypesAreSkipped) {
  DnsBuilder b;
  b.response(1, 3).question("a.test");
  b.name("a.test").rr_fixed(1, 5, 4, 3).raw({10, 0, 0, 1});  // CHAOS class A: skipped
  b.name("a.test").rr_fixed(16, 5, 3).raw({2, 'h', 'i'});    // TXT: skipped
  b.a("a.test", 5, {192, 0, 2, 4});
  ASSERT_EQ(parse(b.bytes()), ParseError::kNone);
  EXPECT_EQ(named(), (Named{{"192.0.2.4", {"a.test", 5}}}));
}

TEST_F(ParserTest, OddBytesInNamesAreEscaped) {
  DnsBuilder b;
  b.response(1, 0).raw({4, 'a', '.', 0x00, 0xff, 4, 't', 'E', 'S', 'T', 0}).u16(1).u16(1);
  ASSERT_EQ(parse(b.bytes()), ParseError::kNone);
  EXPECT_EQ(r_->questions[0].text(), "a\\046\\000\\255.test");
}

TEST_F(ParserTest, BoundsOnAddressesAndRecords) {
  DnsBuilder b;
  b.response(1, 300).question("a.test");
  for (int i = 0; i < 300; ++i) {
    b.name("", 12).rr_fixed(1, 5, 4).raw(
        {10, 0, static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i)});
  }
  ASSERT_EQ(parse(b.bytes()), ParseError::kNone);
  EXPECT_EQ(r_->address_count, kMaxAddresses);
  EXPECT_TRUE(r_->addresses_dropped);
}

}  // namespace
}  // namespace egressd::dns
