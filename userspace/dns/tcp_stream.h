// TcpStreams: DNS over TCP (RFC 1035 §4.2.2, RFC 7766) from the segments the tracer copies. Each
// message is a 2-byte length then the message; a connection may carry several, and a message may
// span segments. The program sees segments before TCP has ordered them (cgroup_skb ingress runs
// in tcp_v4_rcv() before the socket), so duplicates are trimmed and a gap drops the stream.
//
// Bounded: at most `max_streams` connections are followed (the oldest is dropped for a new one)
// and each buffers at most one message (65,537 bytes). A stream starts with the server's SYN-ACK:
// a connection the agent saw start mid-way has no known message boundary and is ignored.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <span>
#include <unordered_map>
#include <vector>

#include "egressd/common/ip.h"

namespace egressd::dns {

struct StreamKey {
  IpAddr server;
  IpAddr client;
  uint16_t server_port = 0;
  uint16_t client_port = 0;
  friend bool operator==(const StreamKey&, const StreamKey&) = default;
};

struct StreamKeyHash {
  size_t operator()(const StreamKey& k) const noexcept;
};

struct TcpSegment {
  StreamKey key;
  uint32_t seq = 0;  // sequence number of the first payload byte (of the SYN for a SYN)
  bool syn = false, fin = false, rst = false;
  bool cut = false;  // the capture holds fewer bytes than the segment carried
  std::span<const uint8_t> payload;
};

// Why a stream's data was thrown away (metric label values in tcp_drop_name()).
enum class TcpDrop : uint8_t { kGap, kCut, kUnknown, kEvicted, kIdle, kCount };
[[nodiscard]] const char* tcp_drop_name(TcpDrop d) noexcept;

struct TcpStreamsOptions {
  size_t max_streams = 128;
  std::chrono::seconds idle{30};
};

class TcpStreams {
 public:
  using MessageFn = std::function<void(const StreamKey&, std::span<const uint8_t>)>;
  using DropFn = std::function<void(TcpDrop)>;

  TcpStreams(TcpStreamsOptions options, MessageFn on_message, DropFn on_drop);

  void segment(const TcpSegment& s, std::chrono::steady_clock::time_point now);
  // Forgets streams idle longer than the limit.
  void expire(std::chrono::steady_clock::time_point now);
  [[nodiscard]] size_t streams() const noexcept { return streams_.size(); }

 private:
  struct Stream {
    uint32_t next_seq = 0;
    bool broken = false;  // a gap or a cut: data ignored until the stream ends
    std::vector<uint8_t> buf;
    std::chrono::steady_clock::time_point last{};
  };
  void deliver(const StreamKey& key, Stream& s);

  TcpStreamsOptions options_;
  MessageFn on_message_;
  DropFn on_drop_;
  std::unordered_map<StreamKey, Stream, StreamKeyHash> streams_;
};

}  // namespace egressd::dns
