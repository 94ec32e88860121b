// Helpers shared by the conntrack unit tests: fixture loading, a visitor that keeps what it is
// given, and a builder of hand-made ctnetlink messages (libmnl's own put functions).
#pragma once

#include <endian.h>

#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <sys/socket.h>

#include "conntrack/ct_parser.h"
#include "conntrack/nl_attr.h"

namespace egressd::conntrack::testing {

inline std::vector<uint8_t> load_fixture(const std::string& name) {
  const std::string path = std::string(EGRESSD_SOURCE_DIR) + "/tests/fixtures/conntrack/" + name;
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline std::string load_text(const std::string& name) {
  const auto bytes = load_fixture(name);
  return {bytes.begin(), bytes.end()};
}

class CollectingVisitor final : public EntryVisitor {
 public:
  void on_entry(const CtEntry& entry, MessageKind kind) override {
    entries.push_back(entry);
    kinds.push_back(kind);
  }
  std::vector<CtEntry> entries;
  std::vector<MessageKind> kinds;
};

inline WalkResult walk(std::span<const uint8_t> bytes, CollectingVisitor& v,
                       const WalkOptions& options = {}) {
  return walk_messages(bytes, options, v);
}

// Splits a buffer of messages into one vector per message (each 4-byte aligned by construction).
inline std::vector<std::vector<uint8_t>> split_messages(const std::vector<uint8_t>& bytes) {
  std::vector<std::vector<uint8_t>> out;
  int len = static_cast<int>(bytes.size());
  for (const auto* m = reinterpret_cast<const nlmsghdr*>(bytes.data()); nlmsg_fits(m, len);
       m = mnl_nlmsg_next(m, &len)) {
    const auto* p = reinterpret_cast<const uint8_t*>(m);
    out.emplace_back(p, p + m->nlmsg_len);
  }
  return out;
}

// Builds one netlink message in a 4-byte aligned buffer with libmnl's put functions.
class MessageBuilder {
 public:
  explicit MessageBuilder(uint16_t type = ct_msg_type(IPCTNL_MSG_CT_NEW), uint8_t family = AF_INET,
                          uint16_t flags = NLM_F_MULTI)
      : buf_(4096 / sizeof(uint32_t), 0) {
    nlh_ = mnl_nlmsg_put_header(buf_.data());
    nlh_->nlmsg_type = type;
    nlh_->nlmsg_flags = flags;
    if ((type >> 8) == NFNL_SUBSYS_CTNETLINK) {
      auto* gen = static_cast<nfgenmsg*>(mnl_nlmsg_put_extra_header(nlh_, sizeof(nfgenmsg)));
      gen->nfgen_family = family;
      gen->version = NFNETLINK_V0;
    }
  }
  nlattr* nest(uint16_t type) { return mnl_attr_nest_start(nlh_, type); }
  void end(nlattr* n) { mnl_attr_nest_end(nlh_, n); }
  void u8(uint16_t type, uint8_t v) { mnl_attr_put_u8(nlh_, type, v); }
  void be16(uint16_t type, uint16_t v) { mnl_attr_put_u16(nlh_, type, htons(v)); }
  void be32(uint16_t type, uint32_t v) { mnl_attr_put_u32(nlh_, type, htonl(v)); }
  void be64(uint16_t type, uint64_t v) { mnl_attr_put_u64(nlh_, type, htobe64(v)); }
  void raw(uint16_t type, std::span<const uint8_t> v) {
    mnl_attr_put(nlh_, type, v.size(), v.data());
  }
  void v4(uint16_t type, const char* dotted) {
    uint8_t b[4];
    inet_pton(AF_INET, dotted, b);
    raw(type, b);
  }
  void v6(uint16_t type, const char* text) {
    uint8_t b[16];
    inet_pton(AF_INET6, text, b);
    raw(type, b);
  }
  // A whole tuple: CTA_TUPLE_IP {src, dst} and CTA_TUPLE_PROTO {num, ports}.
  void tuple(uint16_t type, const char* src, const char* dst, uint8_t proto, uint16_t sport,
             uint16_t dport) {
    const bool six = std::strchr(src, ':') != nullptr;
    nlattr* t = nest(type);
    nlattr* ip = nest(CTA_TUPLE_IP);
    if (six) {
      v6(CTA_IP_V6_SRC, src);
      v6(CTA_IP_V6_DST, dst);
    } else {
      v4(CTA_IP_V4_SRC, src);
      v4(CTA_IP_V4_DST, dst);
    }
    end(ip);
    nlattr* p = nest(CTA_TUPLE_PROTO);
    u8(CTA_PROTO_NUM, proto);
    be16(CTA_PROTO_SRC_PORT, sport);
    be16(CTA_PROTO_DST_PORT, dport);
    end(p);
    end(t);
  }
  void counters(uint16_t type, uint64_t packets, uint64_t bytes) {
    nlattr* c = nest(type);
    be64(CTA_COUNTERS_PACKETS, packets);
    be64(CTA_COUNTERS_BYTES, bytes);
    end(c);
  }
  // A complete, valid TCP/IPv4 entry 10.0.0.1:1000 -> 10.0.0.2:80 with counters and an id.
  static MessageBuilder valid_v4() {
    MessageBuilder b;
    b.tuple(CTA_TUPLE_ORIG, "10.0.0.1", "10.0.0.2", 6, 1000, 80);
    b.tuple(CTA_TUPLE_REPLY, "10.0.0.2", "10.0.0.1", 6, 80, 1000);
    b.counters(CTA_COUNTERS_ORIG, 3, 300);
    b.counters(CTA_COUNTERS_REPLY, 2, 200);
    b.be32(CTA_ID, 77);
    return b;
  }

  nlmsghdr* header() { return nlh_; }
  // Bytes of the message (nlmsg_len), 4-byte aligned storage.
  [[nodiscard]] std::span<const uint8_t> bytes() const {
    return {reinterpret_cast<const uint8_t*>(buf_.data()), nlh_->nlmsg_len};
  }
  [[nodiscard]] std::span<uint8_t> mutable_bytes() {
    return {reinterpret_cast<uint8_t*>(buf_.data()), nlh_->nlmsg_len};
  }
  // Offset of the first attribute of the message payload.
  static constexpr size_t kAttrOffset = kNlmsgHdrLen + nl_align(sizeof(nfgenmsg));

 private:
  std::vector<uint32_t> buf_;
  nlmsghdr* nlh_;
};

// Concatenates messages into one 4-byte aligned buffer.
class Buffer {
 public:
  void add(std::span<const uint8_t> msg) {
    bytes_.insert(bytes_.end(), msg.begin(), msg.end());
    bytes_.resize(nl_align(bytes_.size()), 0);
  }
  [[nodiscard]] std::span<const uint8_t> bytes() {
    aligned_.assign((bytes_.size() + 3) / 4, 0);
    std::memcpy(aligned_.data(), bytes_.data(), bytes_.size());
    return {reinterpret_cast<const uint8_t*>(aligned_.data()), bytes_.size()};
  }

 private:
  std::vector<uint8_t> bytes_;
  std::vector<uint32_t> aligned_;
};

// A control message (NLMSG_DONE or NLMSG_ERROR) with an int status payload.
inline std::vector<uint32_t> control_message(uint16_t type, int32_t status, uint16_t flags = 0,
                                             size_t payload = sizeof(int32_t)) {
  std::vector<uint32_t> buf((kNlmsgHdrLen + 32) / 4, 0);
  auto* nlh = mnl_nlmsg_put_header(buf.data());
  nlh->nlmsg_type = type;
  nlh->nlmsg_flags = flags;
  auto* p = static_cast<uint8_t*>(mnl_nlmsg_put_extra_header(nlh, nl_align(payload)));
  std::memcpy(p, &status, std::min(payload, sizeof(status)));
  nlh->nlmsg_len = static_cast<uint32_t>(kNlmsgHdrLen + payload);
  buf.resize((nl_align(nlh->nlmsg_len)) / 4);
  return buf;
}

inline std::span<const uint8_t> as_bytes(const std::vector<uint32_t>& v, size_t n) {
  return {reinterpret_cast<const uint8_t*>(v.data()), n};
}

}  // namespace egressd::conntrack::testing
