#include "dns/tcp_stream.h"

#include <gtest/gtest.h>

#include "unit/dns/dns_test_util.h"

namespace egressd::dns {
namespace {

using Clock = std::chrono::steady_clock;

class TcpStreamsTest : public ::testing::Test {
 protected:
  TcpSegment seg(uint32_t seq, std::span<const uint8_t> payload) {
    TcpSegment s;
    s.key = key_;
    s.seq = seq;
    s.payload = payload;
    return s;
  }
  TcpSegment syn(uint32_t isn) {
    TcpSegment s = seg(isn, {});
    s.syn = true;
    return s;
  }

  StreamKey key_{IpAddr::parse("203.0.113.10").value(), IpAddr::parse("10.244.1.10").value(), 53,
                 40000};
  std::vector<std::vector<uint8_t>> messages_;
  std::vector<TcpDrop> drops_;
  TcpStreams streams_{TcpStreamsOptions{.max_streams = 2, .idle = std::chrono::seconds(30)},
                      [this](const StreamKey&, std::span<const uint8_t> m) {
                        messages_.emplace_back(m.begin(), m.end());
                      },
                      [this](TcpDrop d) { drops_.push_back(d); }};
  Clock::time_point t0_{};
};

TEST_F(TcpStreamsTest, RecordedResponseInOneSegment) {
  const auto bytes = egressd::testing::dns_fixture("tcp_a_cname_chain3");
  streams_.segment(syn(1000), t0_);
  streams_.segment(seg(1001, bytes), t0_);
  ASSERT_EQ(messages_.size(), 1u);
  EXPECT_EQ(messages_[0], std::vector<uint8_t>(bytes.begin() + 2, bytes.end()));
}

TEST_F(TcpStreamsTest, SplitAtEveryByteWithRetransmissions) {
  const auto bytes = egressd::testing::dns_fixture("tcp_a_big");
  for (size_t cut = 1; cut < bytes.size(); ++cut) {
    messages_.clear();
    streams_.segment(syn(7), t0_);
    const std::span<const uint8_t> all(bytes);
    streams_.segment(seg(8, all.first(cut)), t0_);
    streams_.segment(seg(8, all.first(cut)), t0_);  // a duplicate
    // overlapping retransmission: from byte cut/2 to the end
    streams_.segment(seg(static_cast<uint32_t>(8 + cut / 2), all.subspan(cut / 2)), t0_);
    ASSERT_EQ(messages_.size(), 1u) << cut;
    EXPECT_EQ(messages_[0].size(), bytes.size() - 2);
  }
  EXPECT_TRUE(drops_.empty());
}

TEST_F(TcpStreamsTest, TwoMessagesInOneSegmentAndSequenceWrap) {
  auto one = egressd::testing::dns_fixture("tcp_aaaa_svc");
  std::vector<uint8_t> two = one;
  two.insert(two.end(), one.begin(), one.end());
  streams_.segment(syn(0xfffffff0u), t0_);
  streams_.segment(seg(0xfffffff1u, two), t0_);
  EXPECT_EQ(messages_.size(), 2u);
}

TEST_F(TcpStreamsTest, GapCutUnknownAndEviction) {
  const auto bytes = egressd::testing::dns_fixture("tcp_aaaa_svc");
  const std::span<const uint8_t> all(bytes);
  streams_.segment(seg(5, all), t0_);  // never saw the SYN-ACK
  streams_.segment(syn(100), t0_);
  streams_.segment(seg(101, all.first(10)), t0_);
  streams_.segment(seg(120, all.subspan(19)), t0_);  // bytes 10..18 missing
  TcpSegment cut = seg(200, all);
  cut.cut = true;
  key_.client_port = 40001;
  streams_.segment(syn(199), t0_);
  cut.key = key_;
  streams_.segment(cut, t0_);
  key_.client_port = 40002;
  streams_.segment(syn(1), t0_ + std::chrono::seconds(1));  // third stream: evicts the oldest
  streams_.expire(t0_ + std::chrono::seconds(40));
  EXPECT_TRUE(messages_.empty());
  EXPECT_EQ(drops_, (std::vector<TcpDrop>{TcpDrop::kUnknown, TcpDrop::kGap, TcpDrop::kCut,
                                          TcpDrop::kEvicted, TcpDrop::kIdle, TcpDrop::kIdle}));
  EXPECT_EQ(streams_.streams(), 0u);
}

TEST_F(TcpStreamsTest, FinEndsTheStream) {
  streams_.segment(syn(1), t0_);
  TcpSegment fin = seg(2, {});
  fin.fin = true;
  streams_.segment(fin, t0_);
  EXPECT_EQ(streams_.streams(), 0u);
}

}  // namespace
}  // namespace egressd::dns
