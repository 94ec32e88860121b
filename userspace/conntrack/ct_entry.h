// CtEntry: one conntrack entry as ctnetlink describes it, decoded into plain values.
//
// Mirrors the attributes of include/uapi/linux/netfilter/nfnetlink_conntrack.h (Linux 6.18, the
// kernel this was captured on; the layout has been stable since 2.6.x apart from added attributes,
// which the parser skips). Only what egressd needs is kept; the struct is a fixed-size value so a
// parser can fill one per message with no allocation.
#pragma once

#include <cstdint>

#include "egressd/common/ip.h"

namespace egressd::conntrack {

// One direction of a connection (CTA_TUPLE_ORIG or CTA_TUPLE_REPLY).
struct CtTuple {
  IpAddr src;
  IpAddr dst;
  uint16_t src_port = 0;  // host order; TCP/UDP/SCTP/DCCP/UDP-Lite (and GRE keys)
  uint16_t dst_port = 0;
  uint16_t icmp_id = 0;  // ICMP/ICMPv6 echo identifier (host order)
  uint8_t icmp_type = 0;
  uint8_t icmp_code = 0;
  uint8_t proto = 0;  // IANA L4 protocol number (CTA_PROTO_NUM)
  uint16_t zone = 0;  // CTA_TUPLE_ZONE (direction-specific zone), if has_zone
  bool has_zone = false;

  friend bool operator==(const CtTuple&, const CtTuple&) = default;
};

struct CtCounters {
  uint64_t packets = 0;
  uint64_t bytes = 0;
  friend bool operator==(const CtCounters&, const CtCounters&) = default;
};

// Which optional attributes a message carried (bit set = present).
enum CtField : uint32_t {
  kFieldId = 1U << 0,
  kFieldStatus = 1U << 1,
  kFieldTimeout = 1U << 2,
  kFieldMark = 1U << 3,
  kFieldZone = 1U << 4,
  kFieldCountersOrig = 1U << 5,
  kFieldCountersReply = 1U << 6,
  kFieldTimestampStart = 1U << 7,
  kFieldTimestampStop = 1U << 8,
  kFieldUse = 1U << 9,
};

struct CtEntry {
  uint8_t family = 0;         // nfgenmsg family: AF_INET or AF_INET6
  CtTuple orig;               // as the initiator sent it (pre-DNAT destination, pre-SNAT source)
  CtTuple reply;              // as the responder answers (post-DNAT source = the real backend)
  CtCounters orig_counters;   // initiator -> responder
  CtCounters reply_counters;  // responder -> initiator
  uint32_t id = 0;            // CTA_ID: stable for the entry's life (kernel hashes it, see
                              // nf_ct_get_id() in net/netfilter/nf_conntrack_core.c)
  uint32_t status = 0;        // IPS_* bits (linux/netfilter/nf_conntrack_common.h)
  uint32_t timeout = 0;       // seconds left (not sent with DESTROY events)
  uint32_t mark = 0;
  uint32_t use = 0;
  uint16_t zone = 0;             // CTA_ZONE
  uint64_t timestamp_start = 0;  // ns since boot epoch (nf_conntrack_timestamp=1)
  uint64_t timestamp_stop = 0;
  uint32_t fields = 0;  // CtField bits

  [[nodiscard]] bool has(CtField f) const noexcept { return (fields & f) != 0; }
  // Both directions' counters present: accounting was on when the entry was created
  // (ctnetlink_dump_acct() in net/netfilter/nf_conntrack_netlink.c emits both or none).
  [[nodiscard]] bool has_counters() const noexcept {
    return has(kFieldCountersOrig) && has(kFieldCountersReply);
  }
};

}  // namespace egressd::conntrack
