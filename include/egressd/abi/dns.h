/* ABI of bpf/dns.bpf.c, the DNS tracer (docs/dns.md).
 *
 * The program sees every packet delivered to a socket of the node (cgroup_skb ingress on the
 * cgroup v2 root: pods and host processes alike, every network namespace) and copies those that
 * come from the DNS port (UDP datagrams, TCP segments with payload) into a ring buffer: one
 * record = struct egressd_dns_event followed by `captured` bytes of the L4 payload. Userspace
 * parses the messages (TCP: after reassembling the 2-byte length-prefixed stream). */
#ifndef EGRESSD_ABI_DNS_H
#define EGRESSD_ABI_DNS_H

#include "egressd/abi/common.h"

/* Most payload bytes copied per packet (a power of two). A UDP response larger than this (EDNS
 * allows up to 4096; the DNS flag day 2020 default is 1232) is cut: userspace keeps the records
 * that fit and counts the cut. A TCP segment is copied whole up to this size; a longer one
 * desynchronises its stream, which userspace drops and counts. */
#define EGRESSD_DNS_MAX_CAPTURE 2048

/* Default ring buffer size; userspace sets its own before load. */
#define EGRESSD_DNS_DEFAULT_RING_BYTES (1024 * 1024)

#define EGRESSD_DNS_PROTO_UDP 17
#define EGRESSD_DNS_PROTO_TCP 6

/* TCP flags of the segment (struct egressd_dns_event.tcp_flags), as in the TCP header. */
#define EGRESSD_DNS_TCP_FIN 0x01
#define EGRESSD_DNS_TCP_SYN 0x02
#define EGRESSD_DNS_TCP_RST 0x04

/* Header of a ring buffer record. Addresses are 16 bytes in network order, IPv4 stored
 * IPv4-mapped (::ffff:a.b.c.d), the layout of egressd::IpAddr. */
struct egressd_dns_event {
  __u64 cgroup_id;   /* cgroup v2 id of the receiving socket */
  __u8 saddr[16];    /* the DNS server (source of the response) */
  __u8 daddr[16];    /* the client (the socket's address: a pod, or the node) */
  __u16 sport;       /* host order */
  __u16 dport;       /* host order */
  __u8 proto;        /* EGRESSD_DNS_PROTO_UDP or _TCP */
  __u8 tcp_flags;    /* TCP: FIN/SYN/RST bits of the segment; UDP: 0 */
  __u16 pad;         /* zero */
  __u32 tcp_seq;     /* TCP: sequence number of the first payload byte (host order) */
  __u32 payload_len; /* L4 payload length in the packet */
  __u32 captured;    /* bytes that follow this header: min(payload_len, capture limit) */
};
EGRESSD_ABI_ASSERT(sizeof(struct egressd_dns_event) == 64, "dns event layout");

/* Per-CPU statistics, one __u64 each in struct egressd_dns_stats. */
enum egressd_dns_stat {
  EGRESSD_DNS_STAT_UDP = 0,        /* UDP responses copied to the ring */
  EGRESSD_DNS_STAT_TCP = 1,        /* TCP segments from the DNS port copied to the ring */
  EGRESSD_DNS_STAT_CUT = 2,        /* copied, but cut at the capture limit */
  EGRESSD_DNS_STAT_RING_FULL = 3,  /* not copied: the ring buffer was full (lost) */
  EGRESSD_DNS_STAT_MALFORMED = 4,  /* from the DNS port but headers inconsistent: skipped */
  EGRESSD_DNS_STAT_LOAD_ERROR = 5, /* bpf_skb_load_bytes() failed: skipped */
  EGRESSD_DNS_STAT_MAX = 6,
};

struct egressd_dns_stats {
  __u64 value[EGRESSD_DNS_STAT_MAX];
};
EGRESSD_ABI_ASSERT(sizeof(struct egressd_dns_stats) == sizeof(__u64) * EGRESSD_DNS_STAT_MAX,
                   "dns stats layout");

#endif /* EGRESSD_ABI_DNS_H */
