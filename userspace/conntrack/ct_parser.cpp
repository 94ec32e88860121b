#include "conntrack/ct_parser.h"

#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>

#include <climits>
#include <cstddef>
#include <cstring>

#include <libmnl/libmnl.h>
#include <sys/socket.h>

#include "conntrack/nl_attr.h"

namespace egressd::conntrack {

namespace {

ParseStatus parse_ip(const uint8_t* data, size_t len, uint8_t family, CtTuple& t) noexcept {
  const uint8_t* v4[2] = {nullptr, nullptr};
  const uint8_t* v6[2] = {nullptr, nullptr};
  const bool ok = for_each_attr(data, len, [&](uint16_t type, const uint8_t* p, uint16_t n) {
    switch (type) {
      case CTA_IP_V4_SRC:
      case CTA_IP_V4_DST: v4[type - CTA_IP_V4_SRC] = p; return n == 4;
      case CTA_IP_V6_SRC:
      case CTA_IP_V6_DST: v6[type - CTA_IP_V6_SRC] = p; return n == 16;
      default: return true;
    }
  });
  if (!ok) return ParseStatus::kMalformed;
  if (family == AF_INET) {
    if (v6[0] != nullptr || v6[1] != nullptr) return ParseStatus::kUnsupported;
    if (v4[0] == nullptr || v4[1] == nullptr) return ParseStatus::kIncomplete;
    t.src = IpAddr::from_v4_bytes(v4[0]);
    t.dst = IpAddr::from_v4_bytes(v4[1]);
    return ParseStatus::kOk;
  }
  if (v4[0] != nullptr || v4[1] != nullptr) return ParseStatus::kUnsupported;
  if (v6[0] == nullptr || v6[1] == nullptr) return ParseStatus::kIncomplete;
  t.src = IpAddr::from_v6_bytes(v6[0]);
  t.dst = IpAddr::from_v6_bytes(v6[1]);
  return ParseStatus::kOk;
}

ParseStatus parse_proto(const uint8_t* data, size_t len, CtTuple& t) noexcept {
  bool has_num = false;
  // ICMP and ICMPv6 use distinct attribute types (ctnetlink_icmp{,v6}_tuple_to_nlattr()).
  const bool ok = for_each_attr(data, len, [&](uint16_t type, const uint8_t* p, uint16_t n) {
    switch (type) {
      case CTA_PROTO_NUM:
        if (n != 1) return false;
        t.proto = *p;
        has_num = true;
        return true;
      case CTA_PROTO_SRC_PORT:
        if (n != 2) return false;
        t.src_port = read_be16(p);
        return true;
      case CTA_PROTO_DST_PORT:
        if (n != 2) return false;
        t.dst_port = read_be16(p);
        return true;
      case CTA_PROTO_ICMP_ID:
      case CTA_PROTO_ICMPV6_ID:
        if (n != 2) return false;
        t.icmp_id = read_be16(p);
        return true;
      case CTA_PROTO_ICMP_TYPE:
      case CTA_PROTO_ICMPV6_TYPE:
        if (n != 1) return false;
        t.icmp_type = *p;
        return true;
      case CTA_PROTO_ICMP_CODE:
      case CTA_PROTO_ICMPV6_CODE:
        if (n != 1) return false;
        t.icmp_code = *p;
        return true;
      default: return true;
    }
  });
  if (!ok) return ParseStatus::kMalformed;
  return has_num ? ParseStatus::kOk : ParseStatus::kIncomplete;
}

ParseStatus parse_tuple(const uint8_t* data, size_t len, uint8_t family, CtTuple& t) noexcept {
  t = CtTuple{};
  bool has_ip = false;
  bool has_proto = false;
  ParseStatus status = ParseStatus::kOk;
  const bool ok = for_each_attr(data, len, [&](uint16_t type, const uint8_t* p, uint16_t n) {
    switch (type) {
      case CTA_TUPLE_IP:
        has_ip = true;
        status = parse_ip(p, n, family, t);
        return status == ParseStatus::kOk;
      case CTA_TUPLE_PROTO:
        has_proto = true;
        status = parse_proto(p, n, t);
        return status == ParseStatus::kOk;
      case CTA_TUPLE_ZONE:
        if (n != 2) return false;
        t.zone = read_be16(p);
        t.has_zone = true;
        return true;
      default: return true;
    }
  });
  if (status != ParseStatus::kOk) return status;
  if (!ok) return ParseStatus::kMalformed;
  return has_ip && has_proto ? ParseStatus::kOk : ParseStatus::kIncomplete;
}

// CTA_COUNTERS32_* are the pre-2.6.27 32-bit counters; no current kernel sends them, but they are
// part of the UAPI and cost nothing to accept.
ParseStatus parse_counters(const uint8_t* data, size_t len, CtCounters& c) noexcept {
  bool has_packets = false;
  bool has_bytes = false;
  const bool ok = for_each_attr(data, len, [&](uint16_t type, const uint8_t* p, uint16_t n) {
    switch (type) {
      case CTA_COUNTERS_PACKETS:
        if (n != 8) return false;
        c.packets = read_be64(p);
        has_packets = true;
        return true;
      case CTA_COUNTERS_BYTES:
        if (n != 8) return false;
        c.bytes = read_be64(p);
        has_bytes = true;
        return true;
      case CTA_COUNTERS32_PACKETS:
        if (n != 4) return false;
        c.packets = read_be32(p);
        has_packets = true;
        return true;
      case CTA_COUNTERS32_BYTES:
        if (n != 4) return false;
        c.bytes = read_be32(p);
        has_bytes = true;
        return true;
      default: return true;  // CTA_COUNTERS_PAD
    }
  });
  if (!ok) return ParseStatus::kMalformed;
  return has_packets && has_bytes ? ParseStatus::kOk : ParseStatus::kIncomplete;
}

bool parse_timestamp(const uint8_t* data, size_t len, CtEntry& e) noexcept {
  return for_each_attr(data, len, [&](uint16_t type, const uint8_t* p, uint16_t n) {
    switch (type) {
      case CTA_TIMESTAMP_START:
        if (n != 8) return false;
        e.timestamp_start = read_be64(p);
        e.fields |= kFieldTimestampStart;
        return true;
      case CTA_TIMESTAMP_STOP:
        if (n != 8) return false;
        e.timestamp_stop = read_be64(p);
        e.fields |= kFieldTimestampStop;
        return true;
      default: return true;  // CTA_TIMESTAMP_PAD
    }
  });
}

// A 32-bit scalar attribute (network order) into `dest`, flagged in `fields`.
bool scalar32(const uint8_t* p, uint16_t n, uint32_t& dest, CtEntry& e, CtField field) noexcept {
  if (n != 4) return false;
  dest = read_be32(p);
  e.fields |= field;
  return true;
}

// An errno carried by the kernel as a negative int; anything else is not a real errno.
int errno_from_kernel(int32_t negative) noexcept {
  if (negative < 0 && negative > -4096) return -negative;
  return EPROTO;
}

}  // namespace

const char* parse_status_name(ParseStatus status) noexcept {
  switch (status) {
    case ParseStatus::kOk: return "ok";
    case ParseStatus::kMalformed: return "malformed";
    case ParseStatus::kIncomplete: return "incomplete";
    case ParseStatus::kUnsupported: return "unsupported";
  }
  return "unknown";
}

ParseStatus parse_ct_payload(std::span<const uint8_t> payload, CtEntry& out) noexcept {
  if (payload.size() < sizeof(nfgenmsg)) return ParseStatus::kMalformed;
  out = CtEntry{};
  const uint8_t family = payload[offsetof(nfgenmsg, nfgen_family)];
  if (family != AF_INET && family != AF_INET6) return ParseStatus::kUnsupported;
  out.family = family;

  bool has_orig = false;
  bool has_reply = false;
  ParseStatus status = ParseStatus::kOk;
  constexpr size_t kHeader = nl_align(sizeof(nfgenmsg));
  const bool ok =
      for_each_attr(payload.data() + kHeader, payload.size() - kHeader,
                    [&](uint16_t type, const uint8_t* p, uint16_t n) {
                      switch (type) {
                        case CTA_TUPLE_ORIG:
                          has_orig = true;
                          status = parse_tuple(p, n, family, out.orig);
                          return status == ParseStatus::kOk;
                        case CTA_TUPLE_REPLY:
                          has_reply = true;
                          status = parse_tuple(p, n, family, out.reply);
                          return status == ParseStatus::kOk;
                        case CTA_COUNTERS_ORIG:
                          status = parse_counters(p, n, out.orig_counters);
                          out.fields |= kFieldCountersOrig;
                          return status == ParseStatus::kOk;
                        case CTA_COUNTERS_REPLY:
                          status = parse_counters(p, n, out.reply_counters);
                          out.fields |= kFieldCountersReply;
                          return status == ParseStatus::kOk;
                        case CTA_TIMESTAMP: return parse_timestamp(p, n, out);
                        case CTA_ID: return scalar32(p, n, out.id, out, kFieldId);
                        case CTA_STATUS: return scalar32(p, n, out.status, out, kFieldStatus);
                        case CTA_TIMEOUT: return scalar32(p, n, out.timeout, out, kFieldTimeout);
                        case CTA_MARK: return scalar32(p, n, out.mark, out, kFieldMark);
                        case CTA_USE: return scalar32(p, n, out.use, out, kFieldUse);
                        case CTA_ZONE:
                          if (n != 2) return false;
                          out.zone = read_be16(p);
                          out.fields |= kFieldZone;
                          return true;
                        default:
                          return true;  // unused (CTA_PROTOINFO, CTA_HELP, ...) or newer than us
                      }
                    });
  if (status != ParseStatus::kOk) return status;
  if (!ok) return ParseStatus::kMalformed;
  return has_orig && has_reply ? ParseStatus::kOk : ParseStatus::kIncomplete;
}

bool nlmsg_fits(const nlmsghdr* nlh, int remaining) noexcept {
  // libmnl 1.0.4 (Debian 12) mnl_nlmsg_ok() compares `(int)nlmsg_len <= len`, so a length above
  // INT_MAX turns negative and passes (netfilter bugzilla #1691; patch "nlmsg: fix false positives
  // when validating buffer sizes", Nov 2023): compare unsigned first, reading the header only once
  // `remaining` covers it.
  return remaining >= static_cast<int>(sizeof(nlmsghdr)) &&
         nlh->nlmsg_len <= static_cast<uint32_t>(remaining) && mnl_nlmsg_ok(nlh, remaining);
}

WalkResult& WalkResult::operator+=(const WalkResult& o) noexcept {
  messages += o.messages;
  entries += o.entries;
  parse_errors += o.parse_errors;
  ignored += o.ignored;
  done = done || o.done;
  interrupted = interrupted || o.interrupted;
  if (error == 0) error = o.error;
  framing_error = framing_error || o.framing_error;
  return *this;
}

WalkResult walk_messages(std::span<const uint8_t> buffer, const WalkOptions& options,
                         EntryVisitor& visitor) noexcept {
  WalkResult r;
  if (buffer.empty()) return r;
  if (reinterpret_cast<uintptr_t>(buffer.data()) % alignof(nlmsghdr) != 0 ||
      buffer.size() > static_cast<size_t>(INT_MAX)) {
    r.framing_error = true;
    ++r.parse_errors;
    return r;
  }
  CtEntry entry;
  int len = static_cast<int>(buffer.size());
  for (const auto* nlh = reinterpret_cast<const nlmsghdr*>(buffer.data()); len > 0;
       nlh = mnl_nlmsg_next(nlh, &len)) {
    if (!nlmsg_fits(nlh, len)) {
      r.framing_error = true;
      ++r.parse_errors;
      return r;
    }
    ++r.messages;
    if ((nlh->nlmsg_flags & NLM_F_DUMP_INTR) != 0) r.interrupted = true;
    if (!mnl_nlmsg_seq_ok(nlh, options.seq) || !mnl_nlmsg_portid_ok(nlh, options.portid)) {
      ++r.ignored;  // a late reply to an earlier request on the same socket
      continue;
    }
    const std::span<const uint8_t> payload(static_cast<const uint8_t*>(mnl_nlmsg_get_payload(nlh)),
                                           nlh->nlmsg_len - kNlmsgHdrLen);
    int32_t status = 0;
    switch (nlh->nlmsg_type) {
      case NLMSG_DONE:
        // netlink_dump() copies the dump's final status into NLMSG_DONE's payload
        // (net/netlink/af_netlink.c, dump_done_errno).
        if (payload.size() >= sizeof(status)) std::memcpy(&status, payload.data(), sizeof(status));
        if (status != 0) r.error = errno_from_kernel(status);
        r.done = true;
        return r;
      case NLMSG_ERROR:
        if (payload.size() < sizeof(status)) {
          r.framing_error = true;
          ++r.parse_errors;
          return r;
        }
        std::memcpy(&status, payload.data(), sizeof(status));
        if (status != 0) {
          r.error = errno_from_kernel(status);
          return r;
        }
        ++r.ignored;  // an ACK
        continue;
      case NLMSG_OVERRUN: r.error = EOVERFLOW; return r;
      case ct_msg_type(IPCTNL_MSG_CT_NEW):
      case ct_msg_type(IPCTNL_MSG_CT_DELETE):
        if (parse_ct_payload(payload, entry) != ParseStatus::kOk) {
          ++r.parse_errors;
          continue;
        }
        ++r.entries;
        visitor.on_entry(entry, nlh->nlmsg_type == ct_msg_type(IPCTNL_MSG_CT_DELETE)
                                    ? MessageKind::kDelete
                                    : MessageKind::kNew);
        continue;
      default: ++r.ignored; continue;  // NLMSG_NOOP, expectations, other subsystems
    }
  }
  return r;
}

}  // namespace egressd::conntrack
