// DNS response parser (RFC 1035 wire format) for the tracer: which addresses did a response give
// for the name the client asked, and for how long (docs/dns.md, "Parser").
//
// Zero allocation: the caller owns a Parser (scratch for the answer records) and a Response
// (fixed arrays); names are decoded into fixed buffers. Every read is bounds-checked; compression
// pointers must point strictly backwards (so a chain of them always ends) and are counted too.
// CNAME chains are followed from each question's name, in any record order, so every address is
// attributed to the name the client asked for (the head of its chain).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "egressd/common/ip.h"

namespace egressd::dns {

// Why a message was rejected. kNone: parsed (check Response::rcode for the server's verdict).
enum class ParseError : uint8_t {
  kNone = 0,
  kTruncated,    // shorter than the header or than its counts and lengths say
  kNotResponse,  // QR bit clear: a query
  kOpcode,       // not a standard QUERY (opcode != 0)
  kBadLabel,     // label type 01/10 (RFC 6891 §5 retired extended labels)
  kBadPointer,   // compression pointer forward, to itself, out of bounds, or too many jumps
  kNameTooLong,  // more than 255 octets (RFC 1035 §2.3.4)
  kBadRdata,     // A/AAAA of the wrong length, CNAME target not ending inside its RDATA
  kCount,
};
inline constexpr size_t kParseErrorCount = static_cast<size_t>(ParseError::kCount);

// "truncated", "bad_pointer", ...: metric label values.
[[nodiscard]] std::string_view parse_error_name(ParseError e) noexcept;

inline constexpr uint16_t kTypeA = 1;
inline constexpr uint16_t kTypeCname = 5;
inline constexpr uint16_t kTypeAaaa = 28;
inline constexpr uint16_t kClassIn = 1;

// A name as text: lowercase, dot-separated, no trailing dot ("." for the root); bytes other than
// printable ASCII, '.' inside a label and '\' are written \DDD (RFC 1035 §5.1), so 255 wire
// octets never need more than this.
inline constexpr size_t kMaxNameText = 1024;

// Bounds of one Response (docs/dns.md explains each).
inline constexpr size_t kMaxQuestions = 4;    // QDCOUNT is 1 in practice (RFC 9619)
inline constexpr size_t kMaxAddresses = 128;  // addresses attributed to questions
inline constexpr size_t kMaxChain = 64;       // names followed from the questions, heads included
inline constexpr size_t kMaxRecords = 512;    // A/AAAA/CNAME answer records examined

struct Question {
  uint16_t type = 0;
  uint16_t klass = 0;
  uint16_t name_len = 0;
  std::array<char, kMaxNameText> name{};
  [[nodiscard]] std::string_view text() const noexcept { return {name.data(), name_len}; }
};

struct AddressAnswer {
  IpAddr addr;
  uint32_t ttl = 0;      // seconds: the smallest TTL along the chain from the question
  uint8_t question = 0;  // index into Response::questions: the name asked
  uint8_t depth = 0;     // CNAME hops from the question's name
};

struct Response {
  uint16_t id = 0;
  uint8_t rcode = 0;               // 0 NOERROR, 3 NXDOMAIN, ...
  bool tc = false;                 // the server set TC (the client will retry over TCP)
  bool partial = false;            // the answer section ended early (TC, or a cut capture)
  bool questions_dropped = false;  // more than kMaxQuestions questions: the rest not named
  bool records_dropped = false;    // more than kMaxRecords usable answers: the rest ignored
  bool chain_dropped = false;      // more than kMaxChain names in the chains: the rest ignored
  bool addresses_dropped = false;  // more than kMaxAddresses attributed addresses
  uint16_t answer_count = 0;       // ANCOUNT
  uint16_t cname_count = 0;        // CNAME records examined
  size_t question_count = 0;
  size_t address_count = 0;
  std::array<Question, kMaxQuestions> questions;
  std::array<AddressAnswer, kMaxAddresses> addresses;

  [[nodiscard]] std::span<const AddressAnswer> answers() const noexcept {
    return {addresses.data(), address_count};
  }
};

struct ParseOptions {
  // The bytes are a prefix of the message (the capture was cut): records that end past the last
  // byte are ignored instead of rejecting the message. Questions must still be whole.
  bool prefix_only = false;
};

class Parser {
 public:
  // Parses `msg` (one DNS message, without the TCP length prefix) into `out`.
  [[nodiscard]] ParseError parse(std::span<const uint8_t> msg, Response& out,
                                 ParseOptions options = {}) noexcept;

 private:
  struct Record {
    uint64_t owner = 0;   // hash of the lowercase owner name
    uint64_t target = 0;  // CNAME: hash of the target name
    uint32_t ttl = 0;
    uint16_t type = 0;
    uint16_t rdata = 0;  // offset of the RDATA (A/AAAA)
  };
  struct ChainName {
    uint64_t hash = 0;
    uint32_t ttl = 0;
    uint8_t question = 0;
    uint8_t depth = 0;
  };
  void resolve(std::span<const uint8_t> msg, size_t records, std::span<const uint64_t> heads,
               Response& out) noexcept;

  std::array<Record, kMaxRecords> records_{};
  std::array<ChainName, kMaxChain> chain_{};
};

// A name decoded from a message (exposed for tests and the fuzzer).
struct NameRead {
  size_t end = 0;     // offset just past the name where it was found (not where pointers led)
  uint64_t hash = 0;  // of the lowercase wire form
  size_t text_len = 0;
};
// Reads the name at `off`; writes its text into `text` (kMaxNameText bytes) unless null.
[[nodiscard]] ParseError read_name(std::span<const uint8_t> msg, size_t off, char* text,
                                   NameRead& out) noexcept;

}  // namespace egressd::dns
