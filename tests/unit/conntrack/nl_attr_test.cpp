// The inline attribute walker (conntrack/nl_attr.h) against libmnl's own iterator: on every input
// both must visit the same attributes in the same order, and the walker must accept a stream only
// if those attributes cover it entirely.
#include "conntrack/nl_attr.h"

#include <random>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

#include "ct_test_util.h"

namespace egressd::conntrack {
namespace {

using Visit = std::tuple<size_t, uint16_t, uint16_t>;  // offset, type, payload length

struct Walked {
  std::vector<Visit> visits;
  bool whole = false;
};

Walked ours(const std::vector<uint32_t>& storage, size_t len) {
  const auto* data = reinterpret_cast<const uint8_t*>(storage.data());
  Walked w;
  w.whole = for_each_attr(data, len, [&](uint16_t type, const uint8_t* p, uint16_t n) {
    w.visits.emplace_back(static_cast<size_t>(p - data) - kNlattrHdrLen, type, n);
    return true;
  });
  return w;
}

struct MnlVisits {
  const uint8_t* base;
  std::vector<Visit> visits;
};

int mnl_cb(const nlattr* attr, void* data) {
  auto* v = static_cast<MnlVisits*>(data);
  v->visits.emplace_back(static_cast<size_t>(reinterpret_cast<const uint8_t*>(attr) - v->base),
                         mnl_attr_get_type(attr), mnl_attr_get_payload_len(attr));
  return MNL_CB_OK;
}

Walked libmnl(const std::vector<uint32_t>& storage, size_t len) {
  MnlVisits v{reinterpret_cast<const uint8_t*>(storage.data()), {}};
  (void)mnl_attr_parse_payload(storage.data(), len, mnl_cb, &v);
  Walked w;
  w.visits = std::move(v.visits);
  // libmnl does not say whether it stopped early: the stream is whole if the visited attributes
  // reach its end (the last one may lack its padding).
  size_t end = 0;
  for (const auto& [off, type, n] : w.visits) end = off + nl_align(kNlattrHdrLen + n);
  w.whole = end >= len;
  return w;
}

void expect_same(const std::vector<uint32_t>& storage, size_t len) {
  const Walked a = ours(storage, len);
  const Walked b = libmnl(storage, len);
  ASSERT_EQ(a.visits, b.visits) << "len " << len;
  ASSERT_EQ(a.whole, b.whole) << "len " << len;
}

std::vector<uint32_t> to_words(std::span<const uint8_t> bytes) {
  std::vector<uint32_t> w((bytes.size() + 3) / 4 + 1, 0);
  if (!bytes.empty()) std::memcpy(w.data(), bytes.data(), bytes.size());  // null when empty
  return w;
}

TEST(NlAttr, MatchesLibmnlOnCapturedMessagesAndEveryPrefix) {
  for (const char* name : {"dump.bin", "events.bin"}) {
    for (const auto& m : testing::split_messages(testing::load_fixture(name))) {
      if (m.size() <= testing::MessageBuilder::kAttrOffset) continue;
      const auto attrs = std::span<const uint8_t>(m).subspan(testing::MessageBuilder::kAttrOffset);
      const auto words = to_words(attrs);
      for (size_t len = 0; len <= attrs.size(); ++len) expect_same(words, len);
      EXPECT_TRUE(ours(words, attrs.size()).whole);
    }
  }
}

TEST(NlAttr, MatchesLibmnlOnRandomStreams) {
  // Streams built from plausible attribute headers with random lengths, so both walkers get deep.
  std::mt19937 rng(20251126);
  for (int round = 0; round < 20000; ++round) {
    std::vector<uint8_t> bytes;
    const int attrs = static_cast<int>(rng() % 6);
    for (int i = 0; i < attrs; ++i) {
      const uint16_t len = static_cast<uint16_t>(rng() % 3 == 0 ? rng() % 40 : 4 + rng() % 20);
      const uint16_t type = static_cast<uint16_t>(rng() % 30 | (rng() % 2 ? NLA_F_NESTED : 0));
      const size_t at = bytes.size();
      bytes.resize(at + 4 + rng() % 24, static_cast<uint8_t>(rng()));
      std::memcpy(&bytes[at], &len, 2);
      std::memcpy(&bytes[at + 2], &type, 2);
    }
    const auto words = to_words(bytes);
    expect_same(words, bytes.size());
    if (::testing::Test::HasFatalFailure()) return;
  }
}

TEST(NlAttr, RejectsWhatLibmnlWouldSilentlyStopAt) {
  // One whole attribute followed by 3 stray bytes: libmnl visits the attribute and stops.
  const uint8_t bytes[] = {8, 0, 1, 0, 0x0a, 0, 0, 1, 0xde, 0xad, 0xbe};
  const auto words = to_words(bytes);
  EXPECT_EQ(libmnl(words, sizeof(bytes)).visits.size(), 1U);
  EXPECT_FALSE(ours(words, sizeof(bytes)).whole);
  EXPECT_TRUE(ours(words, 8).whole);
}

TEST(NlAttr, BigEndianReaders) {
  const uint8_t b[8] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08};
  EXPECT_EQ(read_be16(b), 0x0102);
  EXPECT_EQ(read_be32(b), 0x01020304U);
  EXPECT_EQ(read_be64(b), 0x0102030405060708ULL);
}

}  // namespace
}  // namespace egressd::conntrack
