/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The DNS tracer's packet logic (docs/dns.md): finds UDP datagrams and TCP segments sent from the
 * DNS port and copies their payload, with a header naming the endpoints, into the ring buffer.
 * Userspace parses the messages; nothing here looks inside the DNS payload.
 *
 * Packets are read with bpf_skb_load_bytes() from `l3_off` on (0 at cgroup_skb, where the data
 * starts at the network header; the Ethernet header's length on TC), so a payload in paged
 * fragments is copied like a linear one. Every length is checked against the packet's own. */
#ifndef EGRESSD_BPF_LIB_DNS_H
#define EGRESSD_BPF_LIB_DNS_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "egressd/abi/dns.h"

/* IPv6 extension headers walked before giving up (RFC 8200 §4.1 recommends at most one of each). */
#define EGRESSD_DNS_IPV6_MAX_EXT 4

/* Load-time settings (userspace writes .rodata before load). */
const volatile __u16 egressd_dns_port = 53;
const volatile __u32 egressd_dns_capture = EGRESSD_DNS_MAX_CAPTURE;

/* A record is assembled here (too large for the 512-byte stack) and copied to the ring with
 * bpf_ringbuf_output(), whose size may vary: bpf_ringbuf_reserve() needs a constant size, which
 * would spend the full capture limit on every 100-byte response. */
struct egressd_dns_record {
	struct egressd_dns_event ev;
	__u8 data[EGRESSD_DNS_MAX_CAPTURE];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct egressd_dns_record);
} egressd_dns_scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, EGRESSD_DNS_DEFAULT_RING_BYTES);
} egressd_dns_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct egressd_dns_stats);
} egressd_dns_stats SEC(".maps");

static __always_inline void egressd_dns_stat(__u32 index)
{
	__u32 zero = 0;
	struct egressd_dns_stats *s = bpf_map_lookup_elem(&egressd_dns_stats, &zero);

	if (s && index < EGRESSD_DNS_STAT_MAX)
		s->value[index] += 1;
}

/* Where the L4 header starts and where the datagram ends, from the IP header(s). */
struct egressd_dns_l3 {
	__u32 l4_off;
	__u32 end;
	__u8 proto;
};

/* 0: parsed; 1: not for us (other protocol, a fragment); -1: malformed. */
static __always_inline int egressd_dns_ipv4(struct __sk_buff *skb, __u32 l3_off,
					    struct egressd_dns_record *rec,
					    struct egressd_dns_l3 *l3)
{
	struct iphdr ip;
	__u32 hlen, tot;
	__u32 *w;

	if (bpf_skb_load_bytes(skb, l3_off, &ip, sizeof(ip)))
		return -1;
	hlen = ip.ihl * 4;
	tot = bpf_ntohs(ip.tot_len);
	if (ip.version != 4 || hlen < sizeof(ip) || tot < hlen || l3_off + tot > skb->len)
		return -1;
	if (ip.protocol != IPPROTO_UDP && ip.protocol != IPPROTO_TCP)
		return 1;
	/* Sockets receive reassembled datagrams; a fragment here (TC) carries no whole message. */
	if (ip.frag_off & bpf_htons(0x3fff))
		return 1;
	w = (__u32 *)rec->ev.saddr;
	w[0] = 0;
	w[1] = 0;
	w[2] = bpf_htonl(0xffff);
	w[3] = ip.saddr;
	w = (__u32 *)rec->ev.daddr;
	w[0] = 0;
	w[1] = 0;
	w[2] = bpf_htonl(0xffff);
	w[3] = ip.daddr;
	l3->l4_off = l3_off + hlen;
	l3->end = l3_off + tot;
	l3->proto = ip.protocol;
	return 0;
}

static __always_inline int egressd_dns_ipv6(struct __sk_buff *skb, __u32 l3_off,
					    struct egressd_dns_record *rec,
					    struct egressd_dns_l3 *l3)
{
	struct ipv6hdr ip6;
	__u32 off = l3_off + sizeof(ip6), end;
	__u8 nh, ext[2];

	if (bpf_skb_load_bytes(skb, l3_off, &ip6, sizeof(ip6)))
		return -1;
	end = off + bpf_ntohs(ip6.payload_len);
	if (ip6.version != 6 || end > skb->len)
		return -1;
	nh = ip6.nexthdr;
	for (int i = 0; i < EGRESSD_DNS_IPV6_MAX_EXT; i++) {
		if (nh != IPPROTO_HOPOPTS && nh != IPPROTO_ROUTING && nh != IPPROTO_DSTOPTS)
			break;
		if (off + 2 > end || bpf_skb_load_bytes(skb, off, ext, 2))
			return -1;
		nh = ext[0];
		off += ((__u32)ext[1] + 1) * 8;
	}
	if (nh != IPPROTO_UDP && nh != IPPROTO_TCP)
		return 1; /* other protocol, a fragment, or too many extension headers */
	if (off > end)
		return -1;
	__builtin_memcpy(rec->ev.saddr, &ip6.saddr, 16);
	__builtin_memcpy(rec->ev.daddr, &ip6.daddr, 16);
	l3->l4_off = off;
	l3->end = end;
	l3->proto = nh;
	return 0;
}

/* Looks at one packet whose network header is at `l3_off`; copies it to the ring if it comes from
 * the DNS port. */
static __always_inline void egressd_dns_packet(struct __sk_buff *skb, __u32 l3_off)
{
	struct egressd_dns_record *rec;
	struct egressd_dns_l3 l3 = {};
	__u32 zero = 0, payload_off, payload_len, cap;
	__be16 ports[2];
	int rc;

	if (skb->protocol != bpf_htons(ETH_P_IP) && skb->protocol != bpf_htons(ETH_P_IPV6))
		return;
	rec = bpf_map_lookup_elem(&egressd_dns_scratch, &zero);
	if (!rec)
		return;
	if (skb->protocol == bpf_htons(ETH_P_IP))
		rc = egressd_dns_ipv4(skb, l3_off, rec, &l3);
	else
		rc = egressd_dns_ipv6(skb, l3_off, rec, &l3);
	if (rc > 0)
		return;
	if (rc < 0) {
		/* A malformed IP header is the flow program's business, not ours: only packets
		 * from the DNS port are counted as malformed below. */
		return;
	}
	/* The ports: the cheap test that rejects almost every packet. */
	if (bpf_skb_load_bytes(skb, l3.l4_off, ports, sizeof(ports)))
		return;
	if (ports[0] != bpf_htons(egressd_dns_port))
		return;

	rec->ev.sport = bpf_ntohs(ports[0]);
	rec->ev.dport = bpf_ntohs(ports[1]);
	rec->ev.proto = l3.proto;
	rec->ev.tcp_flags = 0;
	rec->ev.pad = 0;
	rec->ev.tcp_seq = 0;
	if (l3.proto == IPPROTO_UDP) {
		struct udphdr udp;
		__u32 ulen;

		if (bpf_skb_load_bytes(skb, l3.l4_off, &udp, sizeof(udp))) {
			egressd_dns_stat(EGRESSD_DNS_STAT_MALFORMED);
			return;
		}
		ulen = bpf_ntohs(udp.len);
		payload_off = l3.l4_off + sizeof(udp);
		if (ulen < sizeof(udp) || l3.l4_off + ulen > l3.end) {
			egressd_dns_stat(EGRESSD_DNS_STAT_MALFORMED);
			return;
		}
		payload_len = ulen - sizeof(udp);
	} else {
		struct tcphdr tcp;
		__u32 doff;

		if (bpf_skb_load_bytes(skb, l3.l4_off, &tcp, sizeof(tcp))) {
			egressd_dns_stat(EGRESSD_DNS_STAT_MALFORMED);
			return;
		}
		doff = tcp.doff * 4;
		payload_off = l3.l4_off + doff;
		if (doff < sizeof(tcp) || payload_off > l3.end) {
			egressd_dns_stat(EGRESSD_DNS_STAT_MALFORMED);
			return;
		}
		payload_len = l3.end - payload_off;
		rec->ev.tcp_flags = (tcp.fin ? EGRESSD_DNS_TCP_FIN : 0) |
				    (tcp.syn ? EGRESSD_DNS_TCP_SYN : 0) |
				    (tcp.rst ? EGRESSD_DNS_TCP_RST : 0);
		rec->ev.tcp_seq = bpf_ntohl(tcp.seq);
		/* A bare ACK carries nothing. SYN (the server's SYN-ACK) starts a stream for
		 * userspace; FIN and RST end one. */
		if (payload_len == 0 &&
		    !(rec->ev.tcp_flags &
		      (EGRESSD_DNS_TCP_FIN | EGRESSD_DNS_TCP_RST | EGRESSD_DNS_TCP_SYN)))
			return;
	}
	rec->ev.cgroup_id = bpf_skb_cgroup_id(skb);
	rec->ev.payload_len = payload_len;
	cap = payload_len;
	if (cap > egressd_dns_capture)
		cap = egressd_dns_capture;
	if (cap > EGRESSD_DNS_MAX_CAPTURE)
		cap = EGRESSD_DNS_MAX_CAPTURE;
	rec->ev.captured = cap;
	if (cap > 0 && bpf_skb_load_bytes(skb, payload_off, rec->data, cap)) {
		egressd_dns_stat(EGRESSD_DNS_STAT_LOAD_ERROR);
		return;
	}
	if (bpf_ringbuf_output(&egressd_dns_events, rec, sizeof(rec->ev) + cap, 0)) {
		egressd_dns_stat(EGRESSD_DNS_STAT_RING_FULL);
		return;
	}
	egressd_dns_stat(l3.proto == IPPROTO_UDP ? EGRESSD_DNS_STAT_UDP : EGRESSD_DNS_STAT_TCP);
	if (cap < payload_len)
		egressd_dns_stat(EGRESSD_DNS_STAT_CUT);
}

#endif /* EGRESSD_BPF_LIB_DNS_H */
