/* Mirror of Cilium's conntrack map layouts: a foreign ABI that egressd only reads.
 *
 * Tracks Cilium v1.11 to v1.19 (cilium/cilium bpf/lib/common.h, later bpf/lib/conntrack_types.h
 * and bpf/lib/conntrack_stats.h; Go side pkg/maps/ctmap/types.go). The key has not changed in
 * that range; the 56-byte value has four layouts (docs/cilium.md):
 *   A  v1.11-v1.15  per-direction rx/tx counters
 *   B  v1.16-v1.17  one merged packets/bytes pair (cilium/cilium#31087), ifindex at 40
 *   C  v1.18        as B, offset 40 reserved (ifindex removed)
 *   D  v1.19+       offsets 0-15 are a union with nat_addr (DSR RevDNAT, cilium/cilium#43017),
 *                   nat_port at 40
 * Fields are in host byte order except addresses, ports and rev_nat_index (network order).
 * Cilium's flag bitfield at offset 36 is mirrored as a __u16 with bit constants (no bitfields
 * here). The userspace parser reads fields by these offsets with memcpy (keys are packed and
 * unaligned in batch buffers); the structs exist for the size/offset checks and for tests that
 * build entries. */
#ifndef EGRESSD_ABI_CILIUM_CT_H
#define EGRESSD_ABI_CILIUM_CT_H

#include "egressd/abi/common.h"

#ifdef __cplusplus
#include <cstddef>
#else
#include <stddef.h>
#endif

/* Key flags (TUPLE_F_*), ORed. OUT is the absence of IN. */
#define EGRESSD_CILIUM_TUPLE_F_OUT 0x0
#define EGRESSD_CILIUM_TUPLE_F_IN 0x1
#define EGRESSD_CILIUM_TUPLE_F_RELATED 0x2
#define EGRESSD_CILIUM_TUPLE_F_SERVICE 0x4

/* Bits of the 16-bit flag word at offset 36 (struct ct_entry's bitfield, x86 bit order). */
#define EGRESSD_CILIUM_CT_RX_CLOSING 0x0001
#define EGRESSD_CILIUM_CT_TX_CLOSING 0x0002
#define EGRESSD_CILIUM_CT_NAT46 0x0004 /* unused since v1.12 */
#define EGRESSD_CILIUM_CT_LB_LOOPBACK 0x0008
#define EGRESSD_CILIUM_CT_SEEN_NON_SYN 0x0010
#define EGRESSD_CILIUM_CT_NODE_PORT 0x0020
#define EGRESSD_CILIUM_CT_PROXY_REDIRECT 0x0040
#define EGRESSD_CILIUM_CT_DSR 0x0080 /* dsr_internal since v1.16 */
#define EGRESSD_CILIUM_CT_FROM_L7LB 0x0100
#define EGRESSD_CILIUM_CT_RESERVED2 0x0200 /* unused since v1.14 */
#define EGRESSD_CILIUM_CT_FROM_TUNNEL 0x0400

/* struct ipv4_ct_tuple (__packed). Address fields are reversed relative to the connection
 * (cilium/cilium#5848): for OUT and IN entries the originator is (daddr, sport) and the responder
 * (saddr, dport). SERVICE entries are not reversed. */
struct egressd_cilium_ct_key4 {
  __be32 daddr;
  __be32 saddr;
  __be16 dport;
  __be16 sport;
  __u8 nexthdr;
  __u8 flags;
} __attribute__((packed));

/* struct ipv6_ct_tuple (__packed). */
struct egressd_cilium_ct_key6 {
  __u8 daddr[16];
  __u8 saddr[16];
  __be16 dport;
  __be16 sport;
  __u8 nexthdr;
  __u8 flags;
} __attribute__((packed));

/* Layout A, v1.11-v1.15: counters relative to the local endpoint of the entry. */
struct egressd_cilium_ct_entry_a {
  __u64 rx_packets;
  __u64 rx_bytes; /* SERVICE entries: backend_id (union) */
  __u64 tx_packets;
  __u64 tx_bytes;
  __u32 lifetime;
  __u16 flags;
  __be16 rev_nat_index;
  __u16 ifindex;
  __u8 tx_flags_seen;
  __u8 rx_flags_seen;
  __u32 src_sec_id;
  __u32 last_tx_report;
  __u32 last_rx_report;
};

/* Layout B, v1.16-v1.17: both directions summed, only when accounting is on. */
struct egressd_cilium_ct_entry_b {
  __u64 reserved0; /* v1.15's rx_packets: frozen in entries that survived the upgrade */
  __u64 backend_id;
  __u64 packets;
  __u64 bytes;
  __u32 lifetime;
  __u16 flags;
  __be16 rev_nat_index;
  __u16 ifindex;
  __u8 tx_flags_seen;
  __u8 rx_flags_seen;
  __u32 src_sec_id;
  __u32 last_tx_report;
  __u32 last_rx_report;
};

/* Layout C, v1.18: as B with offset 40 reserved. */
struct egressd_cilium_ct_entry_c {
  __u64 reserved0;
  __u64 backend_id;
  __u64 packets;
  __u64 bytes;
  __u32 lifetime;
  __u16 flags;
  __be16 rev_nat_index;
  __u16 reserved4;
  __u8 tx_flags_seen;
  __u8 rx_flags_seen;
  __u32 src_sec_id;
  __u32 last_tx_report;
  __u32 last_rx_report;
};

/* Layout D, v1.19+: union { nat_addr (CT_EGRESS) ; { reserved0, backend_id } (CT_SERVICE) }. */
struct egressd_cilium_ct_entry_d {
  __u8 nat_addr[16];
  __u64 packets;
  __u64 bytes;
  __u32 lifetime;
  __u16 flags;
  __be16 rev_nat_index;
  __be16 nat_port;
  __u8 tx_flags_seen;
  __u8 rx_flags_seen;
  __u32 src_sec_id;
  __u32 last_tx_report;
  __u32 last_rx_report;
};

/* struct ct_stats_value of cilium_ct_stats4/6 (per-CPU; main branch, bpf/lib/conntrack_stats.h):
 * rx = CT_INGRESS lookups, tx = CT_EGRESS lookups, as layout A's counters. */
struct egressd_cilium_ct_stats {
  __u64 rx_packets;
  __u64 rx_bytes;
  __u64 tx_packets;
  __u64 tx_bytes;
};

#define EGRESSD_CILIUM_CT_KEY4_SIZE 14
#define EGRESSD_CILIUM_CT_KEY6_SIZE 38
#define EGRESSD_CILIUM_CT_VALUE_SIZE 56
#define EGRESSD_CILIUM_CT_STATS_SIZE 32

/* Offsets every layout shares, and where they differ. */
#define EGRESSD_CILIUM_CT_OFF_COUNTER0 0  /* A: rx_packets; B/C: reserved0; D: nat_addr */
#define EGRESSD_CILIUM_CT_OFF_COUNTER1 8  /* A: rx_bytes; B/C: backend_id; D: nat_addr */
#define EGRESSD_CILIUM_CT_OFF_COUNTER2 16 /* A: tx_packets; B-D: packets */
#define EGRESSD_CILIUM_CT_OFF_COUNTER3 24 /* A: tx_bytes; B-D: bytes */
#define EGRESSD_CILIUM_CT_OFF_LIFETIME 32
#define EGRESSD_CILIUM_CT_OFF_FLAGS 36
#define EGRESSD_CILIUM_CT_OFF_REV_NAT 38
#define EGRESSD_CILIUM_CT_OFF_40 40 /* A/B: ifindex; C: reserved4; D: nat_port */

EGRESSD_ABI_ASSERT(sizeof(struct egressd_cilium_ct_key4) == EGRESSD_CILIUM_CT_KEY4_SIZE,
                   "cilium ipv4_ct_tuple is 14 bytes");
EGRESSD_ABI_ASSERT(sizeof(struct egressd_cilium_ct_key6) == EGRESSD_CILIUM_CT_KEY6_SIZE,
                   "cilium ipv6_ct_tuple is 38 bytes");
EGRESSD_ABI_ASSERT(offsetof(struct egressd_cilium_ct_key4, nexthdr) == 12, "key4 nexthdr");
EGRESSD_ABI_ASSERT(offsetof(struct egressd_cilium_ct_key6, dport) == 32, "key6 dport");
EGRESSD_ABI_ASSERT(offsetof(struct egressd_cilium_ct_key6, flags) == 37, "key6 flags");
EGRESSD_ABI_ASSERT(sizeof(struct egressd_cilium_ct_entry_a) == EGRESSD_CILIUM_CT_VALUE_SIZE,
                   "layout A is 56 bytes");
EGRESSD_ABI_ASSERT(sizeof(struct egressd_cilium_ct_entry_b) == EGRESSD_CILIUM_CT_VALUE_SIZE,
                   "layout B is 56 bytes");
EGRESSD_ABI_ASSERT(sizeof(struct egressd_cilium_ct_entry_c) == EGRESSD_CILIUM_CT_VALUE_SIZE,
                   "layout C is 56 bytes");
EGRESSD_ABI_ASSERT(sizeof(struct egressd_cilium_ct_entry_d) == EGRESSD_CILIUM_CT_VALUE_SIZE,
                   "layout D is 56 bytes");
EGRESSD_ABI_ASSERT(offsetof(struct egressd_cilium_ct_entry_a, tx_packets) ==
                       EGRESSD_CILIUM_CT_OFF_COUNTER2,
                   "A tx_packets");
EGRESSD_ABI_ASSERT(offsetof(struct egressd_cilium_ct_entry_b, packets) ==
                       EGRESSD_CILIUM_CT_OFF_COUNTER2,
                   "B packets");
EGRESSD_ABI_ASSERT(offsetof(struct egressd_cilium_ct_entry_d, packets) ==
                       EGRESSD_CILIUM_CT_OFF_COUNTER2,
                   "D packets");
EGRESSD_ABI_ASSERT(offsetof(struct egressd_cilium_ct_entry_a, lifetime) ==
                       EGRESSD_CILIUM_CT_OFF_LIFETIME,
                   "A lifetime");
EGRESSD_ABI_ASSERT(offsetof(struct egressd_cilium_ct_entry_d, lifetime) ==
                       EGRESSD_CILIUM_CT_OFF_LIFETIME,
                   "D lifetime");
EGRESSD_ABI_ASSERT(offsetof(struct egressd_cilium_ct_entry_a, ifindex) == EGRESSD_CILIUM_CT_OFF_40,
                   "A ifindex");
EGRESSD_ABI_ASSERT(offsetof(struct egressd_cilium_ct_entry_c, reserved4) ==
                       EGRESSD_CILIUM_CT_OFF_40,
                   "C reserved4");
EGRESSD_ABI_ASSERT(offsetof(struct egressd_cilium_ct_entry_d, nat_port) == EGRESSD_CILIUM_CT_OFF_40,
                   "D nat_port");
EGRESSD_ABI_ASSERT(offsetof(struct egressd_cilium_ct_entry_a, src_sec_id) == 44, "src_sec_id");
EGRESSD_ABI_ASSERT(sizeof(struct egressd_cilium_ct_stats) == EGRESSD_CILIUM_CT_STATS_SIZE,
                   "ct_stats_value is 32 bytes");

#endif /* EGRESSD_ABI_CILIUM_CT_H */
