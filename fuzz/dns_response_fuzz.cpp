// libFuzzer target for the DNS tracer's parser (fuzz/README.md): untrusted bytes from any DNS
// server a pod talks to. The input is one message; its first byte also picks the mode (whole
// message or a cut capture), and the same bytes go through the TCP reassembler as one stream.
// Invariants: no crash, no read out of bounds (ASan), every attributed address names a question
// that exists, names are ASCII without control characters, and a message never yields more than
// the bounds.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <span>

#include "dns/message.h"
#include "dns/tcp_stream.h"

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace egressd::dns;
  static Parser parser;
  static auto response = std::make_unique<Response>();
  const std::span<const uint8_t> msg(data, size);
  const bool prefix = size > 0 && (data[0] & 1) != 0;
  const ParseError e = parser.parse(msg, *response, ParseOptions{.prefix_only = prefix});
  check(static_cast<size_t>(e) < kParseErrorCount);
  if (e == ParseError::kNone) {
    check(response->question_count <= kMaxQuestions);
    check(response->address_count <= kMaxAddresses);
    for (size_t q = 0; q < response->question_count; ++q) {
      const auto text = response->questions[q].text();
      check(!text.empty() && text.size() < kMaxNameText);
      for (const char c : text) check(c > 0x20 && c < 0x7f);
    }
    for (const auto& a : response->answers()) check(a.question < response->question_count);
    // Deterministic: the same bytes parse the same way again.
    const size_t n = response->address_count;
    check(parser.parse(msg, *response, ParseOptions{.prefix_only = prefix}) == e);
    check(response->address_count == n);
  }
  // The same bytes as a TCP stream, fed in two segments: every message delivered parses safely.
  static TcpStreams streams(
      TcpStreamsOptions{},
      [](const StreamKey&, std::span<const uint8_t> m) { (void)parser.parse(m, *response); },
      [](TcpDrop) {});
  TcpSegment syn;
  syn.syn = true;
  syn.seq = 99;
  streams.segment(syn, {});
  const size_t half = size / 2;
  TcpSegment a;
  a.seq = 100;
  a.payload = msg.first(half);
  streams.segment(a, {});
  TcpSegment b;
  b.seq = static_cast<uint32_t>(100 + half);
  b.payload = msg.subspan(half);
  b.fin = true;
  streams.segment(b, {});
  return 0;
}
