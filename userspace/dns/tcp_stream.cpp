#include "dns/tcp_stream.h"

#include <algorithm>

namespace egressd::dns {

namespace {

// The most a stream buffers: an unfinished message of the largest length a prefix can announce,
// plus one more segment (at most EGRESSD_DNS_MAX_CAPTURE bytes, larger ones arrive cut).
constexpr size_t kMaxBuffered = 2 + 65535 + 4096;

}  // namespace

size_t StreamKeyHash::operator()(const StreamKey& k) const noexcept {
  const IpAddrHash h;
  return h(k.server) * 31 + h(k.client) + (size_t{k.server_port} << 16 | k.client_port);
}

const char* tcp_drop_name(TcpDrop d) noexcept {
  switch (d) {
    case TcpDrop::kGap: return "gap";
    case TcpDrop::kCut: return "cut";
    case TcpDrop::kUnknown: return "unknown_stream";
    case TcpDrop::kEvicted: return "evicted";
    case TcpDrop::kIdle: return "idle";
    case TcpDrop::kCount: break;
  }
  return "unknown";
}

TcpStreams::TcpStreams(TcpStreamsOptions options, MessageFn on_message, DropFn on_drop)
    : options_(options), on_message_(std::move(on_message)), on_drop_(std::move(on_drop)) {
  options_.max_streams = std::max<size_t>(options_.max_streams, 1);
}

void TcpStreams::deliver(const StreamKey& key, Stream& s) {
  size_t off = 0;
  while (s.buf.size() - off >= 2) {
    const size_t len = static_cast<size_t>(s.buf[off]) << 8 | s.buf[off + 1];
    if (s.buf.size() - off - 2 < len) break;
    on_message_(key, std::span<const uint8_t>(s.buf.data() + off + 2, len));
    off += 2 + len;
  }
  s.buf.erase(s.buf.begin(), s.buf.begin() + static_cast<std::ptrdiff_t>(off));
}

void TcpStreams::segment(const TcpSegment& seg, std::chrono::steady_clock::time_point now) {
  auto it = streams_.find(seg.key);
  if (seg.syn) {
    // The server's SYN-ACK: a new connection (a reused 4-tuple replaces the old one).
    if (it == streams_.end()) {
      if (streams_.size() >= options_.max_streams) {
        auto oldest = std::min_element(
            streams_.begin(), streams_.end(),
            [](const auto& a, const auto& b) { return a.second.last < b.second.last; });
        streams_.erase(oldest);
        on_drop_(TcpDrop::kEvicted);
      }
      it = streams_.emplace(seg.key, Stream{}).first;
    }
    Stream& s = it->second;
    s.buf.clear();
    s.broken = false;
    s.next_seq = seg.seq + 1;
    s.last = now;
    return;
  }
  if (it == streams_.end()) {
    if (!seg.payload.empty()) on_drop_(TcpDrop::kUnknown);
    return;
  }
  Stream& s = it->second;
  s.last = now;
  if (!s.broken && !seg.payload.empty()) {
    std::span<const uint8_t> data = seg.payload;
    // Serial arithmetic (RFC 1982): how far this segment starts after the expected byte.
    const auto ahead = static_cast<int32_t>(seg.seq - s.next_seq);
    if (seg.cut) {
      s.broken = true;
      s.buf.clear();
      on_drop_(TcpDrop::kCut);
    } else if (ahead > 0) {
      s.broken = true;
      s.buf.clear();
      on_drop_(TcpDrop::kGap);
    } else {
      const auto dup = static_cast<size_t>(-static_cast<int64_t>(ahead));
      if (dup < data.size()) {  // else: a retransmission of bytes already taken
        data = data.subspan(dup);
        if (s.buf.size() + data.size() > kMaxBuffered) {
          // More than a whole message buffered: the prefix was not a DNS length.
          s.broken = true;
          s.buf.clear();
          on_drop_(TcpDrop::kGap);
        } else {
          s.buf.insert(s.buf.end(), data.begin(), data.end());
          s.next_seq += static_cast<uint32_t>(data.size());
          deliver(seg.key, s);
        }
      }
    }
  }
  if (seg.fin || seg.rst) streams_.erase(it);
}

void TcpStreams::expire(std::chrono::steady_clock::time_point now) {
  for (auto it = streams_.begin(); it != streams_.end();) {
    if (now - it->second.last > options_.idle) {
      it = streams_.erase(it);
      on_drop_(TcpDrop::kIdle);
    } else {
      ++it;
    }
  }
}

}  // namespace egressd::dns
