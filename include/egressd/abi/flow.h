/* ABI of bpf/flow.bpf.c, the in-kernel flow pre-aggregation (docs/ebpf.md).
 *
 * The programs count every packet once, keyed the way conntrack keys a connection: the source of
 * the original tuple (the initiator, before SNAT) and the source of the reply tuple (the
 * responder, after DNAT), read from the packet's conntrack entry when it has one. Userspace
 * decides which side is local when it reads (the accounting contract, docs/accounting.md), so the
 * kernel needs no copy of the node's endpoints. */
#ifndef EGRESSD_ABI_FLOW_H
#define EGRESSD_ABI_FLOW_H

#include "egressd/abi/common.h"

/* Key of the per-CPU flow hash maps. Addresses are 16 bytes in network order; IPv4 is stored
 * IPv4-mapped (::ffff:a.b.c.d), the layout of egressd::IpAddr. */
struct egressd_flow_key {
  __u8 orig_src[16];  /* initiator: original-direction source (pre-SNAT) */
  __u8 reply_src[16]; /* responder: reply-direction source (post-DNAT: the real backend) */
  __u8 proto;         /* IANA L4 protocol number (after IPv6 extension headers) */
  __u8 pad[3];        /* zero: part of the hashed key */
};
EGRESSD_ABI_ASSERT(sizeof(struct egressd_flow_key) == 36, "flow key layout");

/* Value: L3 bytes (IP header included) and packets since the buffer was last drained. */
struct egressd_flow_counters {
  __u64 orig_bytes; /* initiator -> responder */
  __u64 orig_packets;
  __u64 reply_bytes; /* responder -> initiator */
  __u64 reply_packets;
};
EGRESSD_ABI_ASSERT(sizeof(struct egressd_flow_counters) == 32, "flow counters layout");

/* Record of the overflow ring buffer: one packet that found the active flow map full. */
struct egressd_flow_overflow {
  struct egressd_flow_key key;
  __u32 reply; /* 1: the packet went responder -> initiator */
  __u64 bytes;
};
EGRESSD_ABI_ASSERT(sizeof(struct egressd_flow_overflow) == 48, "overflow record layout");

/* Per-CPU statistics, one __u64 each in struct egressd_flow_stats. */
enum egressd_flow_stat {
  EGRESSD_FLOW_STAT_EGRESS_PACKETS = 0,   /* counted at TC egress */
  EGRESSD_FLOW_STAT_LOCAL_IN_PACKETS = 1, /* counted at netfilter LOCAL_IN */
  EGRESSD_FLOW_STAT_NO_CONNTRACK = 2,     /* counted by packet addresses: no conntrack entry */
  EGRESSD_FLOW_STAT_NOT_IP = 3,           /* skipped: not IPv4/IPv6 (ARP, LLDP, ...) */
  EGRESSD_FLOW_STAT_ND_MLD = 4,           /* skipped: IPv6 neighbour discovery / MLD */
  EGRESSD_FLOW_STAT_TRUNCATED = 5,        /* malformed: shorter than its headers say */
  EGRESSD_FLOW_STAT_BAD_HEADER = 6,       /* malformed: wrong version, header length < minimum */
  EGRESSD_FLOW_STAT_BAD_LENGTH = 7,       /* malformed: total/payload length inconsistent */
  EGRESSD_FLOW_STAT_EXT_HEADERS = 8,      /* malformed: IPv6 extension chain too long */
  EGRESSD_FLOW_STAT_MAP_FULL = 9,         /* packets sent to the overflow ring (map full) */
  EGRESSD_FLOW_STAT_LOST_PACKETS = 10,    /* map full and ring full: packets not counted */
  EGRESSD_FLOW_STAT_LOST_BYTES = 11,      /* ... and their bytes */
  EGRESSD_FLOW_STAT_MAX = 12,
};

struct egressd_flow_stats {
  __u64 value[EGRESSD_FLOW_STAT_MAX];
};
EGRESSD_ABI_ASSERT(sizeof(struct egressd_flow_stats) == sizeof(__u64) * EGRESSD_FLOW_STAT_MAX,
                   "flow stats layout");

/* Slot of egressd_flow_active (an array of maps) that holds the buffer the programs write. */
#define EGRESSD_FLOW_ACTIVE_SLOT 0

#endif /* EGRESSD_ABI_FLOW_H */
