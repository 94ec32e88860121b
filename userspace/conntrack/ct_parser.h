// Parser of ctnetlink conntrack messages (IPCTNL_MSG_CT_NEW from dumps, IPCTNL_MSG_CT_DELETE from
// DESTROY events) and a walker over a buffer of netlink messages as recv() returns them.
//
// Every length is checked before a byte is read: messages are framed with libmnl (mnl_nlmsg_ok/
// next, plus the unsigned check libmnl 1.0.4 lacks), attributes with libmnl's iterator checks
// inlined (nl_attr.h), each payload's size must be exactly its type's, and a stream that does not
// end exactly where its container ends is rejected. Bad input becomes a counted parse error,
// never a crash and never a half-filled entry handed on (docs/conntrack.md). No allocation: the
// walker reuses one CtEntry for every message.
#pragma once

#include <linux/netlink.h>

#include <cstddef>
#include <cstdint>
#include <span>

#include "conntrack/ct_entry.h"

namespace egressd::conntrack {

// IPCTNL_MSG_CT_NEW (a dump entry, or a NEW/UPDATE event) or IPCTNL_MSG_CT_DELETE (DESTROY event:
// the entry is gone and its counters are final).
enum class MessageKind : uint8_t { kNew, kDelete };

enum class ParseStatus : uint8_t {
  kOk,
  kMalformed,    // a length or layout is wrong (attribute size, nesting, trailing bytes)
  kIncomplete,   // a required attribute is missing (a tuple, its addresses or protocol)
  kUnsupported,  // nfgenmsg family other than AF_INET/AF_INET6, or tuples of mixed families
};

[[nodiscard]] const char* parse_status_name(ParseStatus status) noexcept;

// Parses the payload of one conntrack message: `payload` starts at the nfgenmsg header and ends at
// the message's nlmsg_len. `out` is overwritten; on any status but kOk its contents are
// unspecified.
[[nodiscard]] ParseStatus parse_ct_payload(std::span<const uint8_t> payload, CtEntry& out) noexcept;

class EntryVisitor {
 public:
  virtual ~EntryVisitor() = default;
  // `entry` is only valid during the call.
  virtual void on_entry(const CtEntry& entry, MessageKind kind) = 0;
};

struct WalkOptions {
  uint32_t seq = 0;     // only messages of this sequence number (0: any, as for events)
  uint32_t portid = 0;  // only messages for this port id (0: any)
};

struct WalkResult {
  size_t messages = 0;         // netlink messages framed
  size_t entries = 0;          // conntrack entries handed to the visitor
  size_t parse_errors = 0;     // conntrack messages rejected, plus one per framing error
  size_t ignored = 0;          // other messages: NOOP, ACKs, other types, foreign seq/portid
  bool done = false;           // NLMSG_DONE: the dump ended (bytes after it are ignored)
  bool interrupted = false;    // NLM_F_DUMP_INTR on some message: the dump is inconsistent
  int error = 0;               // errno of an NLMSG_ERROR or of a failed dump's NLMSG_DONE
  bool framing_error = false;  // bytes that are not a whole message; the rest was skipped

  WalkResult& operator+=(const WalkResult& o) noexcept;
};

// Walks the messages of one recv() buffer. The buffer must be 4-byte aligned (netlink messages
// are, and recv buffers are allocated so); an unaligned buffer is reported as a framing error.
// Stops at NLMSG_DONE, at an NLMSG_ERROR with a non-zero error, or at a framing error.
[[nodiscard]] WalkResult walk_messages(std::span<const uint8_t> buffer, const WalkOptions& options,
                                       EntryVisitor& visitor) noexcept;

// True if a whole message starts at `nlh` within `remaining` bytes. mnl_nlmsg_ok() plus the
// unsigned length check that libmnl 1.0.4 lacks (see walk_messages()).
[[nodiscard]] bool nlmsg_fits(const nlmsghdr* nlh, int remaining) noexcept;

// The nlmsg_type of conntrack messages: NFNL_SUBSYS_CTNETLINK << 8 | IPCTNL_MSG_CT_*.
[[nodiscard]] constexpr uint16_t ct_msg_type(uint8_t ipctnl_msg) noexcept {
  return static_cast<uint16_t>((1U /* NFNL_SUBSYS_CTNETLINK */ << 8U) | ipctnl_msg);
}

}  // namespace egressd::conntrack
