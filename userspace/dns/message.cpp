#include "dns/message.h"

#include <algorithm>

namespace egressd::dns {

namespace {

// RFC 1035 §4.1.1 header: id, flags, QDCOUNT, ANCOUNT, NSCOUNT, ARCOUNT.
constexpr size_t kHeaderSize = 12;
constexpr uint16_t kFlagQr = 0x8000;
constexpr uint16_t kFlagTc = 0x0200;
// RFC 1035 §3.1: a name is at most 255 octets on the wire, length bytes included.
constexpr size_t kMaxWireName = 255;
// Compression pointers followed in one name. The strictly-backwards rule already ends every
// chain; this bounds the work a hostile message can ask for (a name has at most 127 labels).
constexpr int kMaxJumps = 128;

constexpr uint64_t kFnvOffset = 0xcbf29ce484222325ULL;
constexpr uint64_t kFnvPrime = 0x100000001b3ULL;

inline uint16_t be16(const uint8_t* p) noexcept {
  return static_cast<uint16_t>(p[0] << 8 | p[1]);
}
inline uint32_t be32(const uint8_t* p) noexcept {
  return static_cast<uint32_t>(p[0]) << 24 | static_cast<uint32_t>(p[1]) << 16 |
         static_cast<uint32_t>(p[2]) << 8 | p[3];
}

inline uint8_t lower(uint8_t c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<uint8_t>(c | 0x20) : c;
}

// Appends one label byte to the text, escaped per RFC 1035 §5.1 when it is not a plain
// printable character.
inline size_t put_char(char* text, size_t at, uint8_t c) noexcept {
  if (c > 0x20 && c < 0x7f && c != '.' && c != '\\' && c != '"') {
    text[at] = static_cast<char>(c);
    return at + 1;
  }
  text[at] = '\\';
  text[at + 1] = static_cast<char>('0' + c / 100);
  text[at + 2] = static_cast<char>('0' + (c / 10) % 10);
  text[at + 3] = static_cast<char>('0' + c % 10);
  return at + 4;
}

}  // namespace

std::string_view parse_error_name(ParseError e) noexcept {
  switch (e) {
    case ParseError::kNone: return "none";
    case ParseError::kTruncated: return "truncated";
    case ParseError::kNotResponse: return "not_response";
    case ParseError::kOpcode: return "opcode";
    case ParseError::kBadLabel: return "bad_label";
    case ParseError::kBadPointer: return "bad_pointer";
    case ParseError::kNameTooLong: return "name_too_long";
    case ParseError::kBadRdata: return "bad_rdata";
    case ParseError::kCount: break;
  }
  return "unknown";
}

// 255 wire octets give at most 127 labels of 1 byte, or fewer longer ones; escaped, each byte
// takes at most 4 characters, plus the dots: < 4 x 255 < kMaxNameText.
ParseError read_name(std::span<const uint8_t> msg, size_t off, char* text, NameRead& out) noexcept {
  const uint8_t* m = msg.data();
  const size_t size = msg.size();
  size_t pos = off;
  size_t segment = off;  // where the current run of labels began: pointers must go before it
  size_t end = 0;
  size_t wire = 0;
  size_t tl = 0;
  int jumps = 0;
  uint64_t h = kFnvOffset;
  for (;;) {
    if (pos >= size) return ParseError::kTruncated;
    const uint8_t len = m[pos];
    if ((len & 0xc0) == 0xc0) {
      if (pos + 1 >= size) return ParseError::kTruncated;
      const size_t target = static_cast<size_t>(len & 0x3f) << 8 | m[pos + 1];
      if (end == 0) end = pos + 2;
      // Strictly before the run that led here: the runs' starts decrease, so no loop is possible.
      if (target >= segment || ++jumps > kMaxJumps) return ParseError::kBadPointer;
      pos = segment = target;
      continue;
    }
    if ((len & 0xc0) != 0) return ParseError::kBadLabel;
    if (len == 0) {
      if (wire + 1 > kMaxWireName) return ParseError::kNameTooLong;
      if (end == 0) end = pos + 1;
      break;
    }
    if (pos + 1 + len > size) return ParseError::kTruncated;
    wire += 1 + static_cast<size_t>(len);
    if (wire + 1 > kMaxWireName) return ParseError::kNameTooLong;
    h = (h ^ len) * kFnvPrime;
    if (text != nullptr && tl != 0) text[tl++] = '.';
    for (size_t i = pos + 1; i <= pos + len; ++i) {
      const uint8_t c = lower(m[i]);
      h = (h ^ c) * kFnvPrime;
      if (text != nullptr) tl = put_char(text, tl, c);
    }
    pos += 1 + static_cast<size_t>(len);
  }
  if (text != nullptr && tl == 0) text[tl++] = '.';
  out.end = end;
  out.hash = h;
  out.text_len = tl;
  return ParseError::kNone;
}

ParseError Parser::parse(std::span<const uint8_t> msg, Response& out,
                         ParseOptions options) noexcept {
  out.id = 0;
  out.rcode = 0;
  out.tc = out.partial = false;
  out.questions_dropped = out.records_dropped = out.chain_dropped = out.addresses_dropped = false;
  out.answer_count = out.cname_count = 0;
  out.question_count = out.address_count = 0;

  const uint8_t* m = msg.data();
  const size_t size = msg.size();
  if (size < kHeaderSize) return ParseError::kTruncated;
  const uint16_t flags = be16(m + 2);
  if ((flags & kFlagQr) == 0) return ParseError::kNotResponse;
  if (((flags >> 11) & 0xf) != 0) return ParseError::kOpcode;
  out.id = be16(m);
  out.rcode = static_cast<uint8_t>(flags & 0xf);
  out.tc = (flags & kFlagTc) != 0;
  const uint16_t qdcount = be16(m + 4);
  const uint16_t ancount = be16(m + 6);
  out.answer_count = ancount;
  const bool prefix = options.prefix_only || out.tc;

  std::array<uint64_t, kMaxQuestions> heads{};
  size_t pos = kHeaderSize;
  for (size_t q = 0; q < qdcount; ++q) {
    Question* slot = q < kMaxQuestions ? &out.questions[q] : nullptr;
    NameRead name;
    if (const auto e = read_name(msg, pos, slot != nullptr ? slot->name.data() : nullptr, name);
        e != ParseError::kNone) {
      return e;
    }
    if (name.end + 4 > size) return ParseError::kTruncated;
    if (slot != nullptr) {
      slot->type = be16(m + name.end);
      slot->klass = be16(m + name.end + 2);
      slot->name_len = static_cast<uint16_t>(name.text_len);
      heads[q] = name.hash;
    }
    pos = name.end + 4;
  }
  out.question_count = std::min<size_t>(qdcount, kMaxQuestions);
  out.questions_dropped = qdcount > kMaxQuestions;

  size_t records = 0;
  for (size_t a = 0; a < ancount; ++a) {
    NameRead owner;
    const auto e = read_name(msg, pos, nullptr, owner);
    if (e == ParseError::kTruncated && prefix) {
      out.partial = true;
      break;
    }
    if (e != ParseError::kNone) return e;
    const size_t fixed = owner.end;  // TYPE, CLASS, TTL, RDLENGTH, then RDATA
    if (fixed + 10 > size || fixed + 10 + be16(m + fixed + 8) > size) {
      if (prefix) {
        out.partial = true;
        break;
      }
      return ParseError::kTruncated;
    }
    const uint16_t type = be16(m + fixed);
    const uint16_t klass = be16(m + fixed + 2);
    uint32_t ttl = be32(m + fixed + 4);
    if (ttl > 0x7fffffffU) ttl = 0;  // RFC 2181 §8: a TTL with the top bit set means zero
    const size_t rdlen = be16(m + fixed + 8);
    const size_t rdata = fixed + 10;
    pos = rdata + rdlen;
    if (klass != kClassIn) continue;
    Record rec;
    rec.owner = owner.hash;
    rec.ttl = ttl;
    rec.type = type;
    if (type == kTypeA || type == kTypeAaaa) {
      if (rdlen != (type == kTypeA ? 4U : 16U)) return ParseError::kBadRdata;
      rec.rdata = static_cast<uint16_t>(rdata);
    } else if (type == kTypeCname) {
      NameRead target;
      if (const auto te = read_name(msg, rdata, nullptr, target); te != ParseError::kNone) {
        return te == ParseError::kTruncated ? ParseError::kBadRdata : te;
      }
      if (target.end != rdata + rdlen) return ParseError::kBadRdata;
      rec.target = target.hash;
      ++out.cname_count;
    } else {
      continue;
    }
    if (records == kMaxRecords) {
      out.records_dropped = true;
      continue;
    }
    records_[records++] = rec;
  }
  // Authority and additional sections: not used, but a message must hold what its counts say.
  const size_t rest = size_t{be16(m + 8)} + be16(m + 10);
  for (size_t i = 0; i < rest && !out.partial; ++i) {
    NameRead owner;
    const auto e = read_name(msg, pos, nullptr, owner);
    const bool whole = e == ParseError::kNone && owner.end + 10 <= size &&
                       owner.end + 10 + be16(m + owner.end + 8) <= size;
    if (!whole && (e == ParseError::kNone || e == ParseError::kTruncated)) {
      if (!prefix) return ParseError::kTruncated;
      out.partial = true;
      break;
    }
    if (e != ParseError::kNone) return e;
    pos = owner.end + 10 + be16(m + owner.end + 8);
  }
  resolve(msg, records, heads, out);
  return ParseError::kNone;
}

// Follows the chains from each question through the CNAME records, in whatever order they come,
// and attributes every A/AAAA record on a chain to the chain's question. Each name is visited
// once (a CNAME to a name already on a chain is ignored), so a CNAME loop ends.
void Parser::resolve(std::span<const uint8_t> msg, size_t records, std::span<const uint64_t> heads,
                     Response& out) noexcept {
  size_t names = 0;
  for (size_t q = 0; q < out.question_count; ++q) {
    chain_[names++] = ChainName{heads[q], UINT32_MAX, static_cast<uint8_t>(q), 0};
  }
  const uint8_t* m = msg.data();
  for (size_t w = 0; w < names; ++w) {
    const ChainName cur = chain_[w];
    for (size_t r = 0; r < records; ++r) {
      const Record& rec = records_[r];
      if (rec.owner != cur.hash) continue;
      const uint32_t ttl = std::min(cur.ttl, rec.ttl);
      if (rec.type == kTypeCname) {
        bool seen = false;
        for (size_t k = 0; k < names && !seen; ++k) seen = chain_[k].hash == rec.target;
        if (seen) continue;
        if (names == kMaxChain) {
          out.chain_dropped = true;
          continue;
        }
        chain_[names++] =
            ChainName{rec.target, ttl, cur.question, static_cast<uint8_t>(cur.depth + 1)};
        continue;
      }
      if (out.address_count == kMaxAddresses) {
        out.addresses_dropped = true;
        continue;
      }
      AddressAnswer& a = out.addresses[out.address_count++];
      a.addr = rec.type == kTypeA ? IpAddr::from_v4_bytes(m + rec.rdata)
                                  : IpAddr::from_v6_bytes(m + rec.rdata);
      a.ttl = ttl;
      a.question = cur.question;
      a.depth = cur.depth;
    }
  }
}

}  // namespace egressd::dns
