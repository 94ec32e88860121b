/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Packet parsing for the flow programs: Ethernet (up to two VLAN tags), IPv4, IPv6 with its
 * extension headers, and the minimum L4 header each protocol needs. A packet whose lengths do not
 * add up is skipped with a reason (struct egressd_flow_stats), never read past its end: every
 * length is checked against both the linear data (for direct reads) and the packet's own length.
 *
 * Two readers share the IP-level code: TC programs read the linear data directly and fall back to
 * bpf_skb_load_bytes() for extension headers; the netfilter program copies the network header
 * with bpf_probe_read_kernel() (its context is a kernel sk_buff, not packet pointers). */
#ifndef EGRESSD_BPF_LIB_PACKET_H
#define EGRESSD_BPF_LIB_PACKET_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <stdbool.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "egressd/abi/flow.h"

/* Returned by the parsers when the packet is to be counted; anything else is a stat index. */
#define EGRESSD_PARSE_OK 0xffu

/* Extension headers walked before giving up (RFC 8200 §4.1 recommends at most one of each). The
 * set is the one conntrack skips to find the protocol (ipv6_skip_exthdr(),
 * net/ipv6/exthdrs_core.c), so both agree on what a packet's protocol is. */
#define EGRESSD_IPV6_MAX_EXT 6

#define EGRESSD_IP_OFFMASK 0x1fff  /* IPv4 fragment offset */
#define EGRESSD_IP6_OFFMASK 0xfff8 /* IPv6 fragment offset (network order after ntohs) */

struct egressd_vlan_hdr {
	__be16 tci;
	__be16 proto;
};

/* What the parser learned besides the key's addresses and protocol. */
struct egressd_pkt {
	__u32 bytes; /* L3 length: the IP datagram without link-layer header or padding */
	__u8 family; /* 4 or 6 */
};

/* Where extension headers are read from (see the file comment). */
struct egressd_src {
	struct __sk_buff *skb; /* TC */
	const __u8 *l3;	       /* netfilter: kernel address of the network header */
	__u32 l3_off;	       /* TC: offset of the network header in the frame */
};

static __always_inline int egressd_load(const struct egressd_src *src, bool tc, __u32 off,
					void *buf, __u32 len)
{
	if (tc)
		return bpf_skb_load_bytes(src->skb, src->l3_off + off, buf, len);
	return bpf_probe_read_kernel(buf, len, src->l3 + off);
}

/* Shortest L4 header conntrack needs to track the protocol (nf_conntrack_proto_*.c reads these
 * with skb_header_pointer() and calls shorter packets invalid). */
static __always_inline __u32 egressd_l4_min(__u8 proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return 20;
	case IPPROTO_UDP:
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		return 8;
	default:
		return 0;
	}
}

static __always_inline void egressd_addr_v4(__u8 *dst, const __u8 *src4)
{
	__u32 *w = (__u32 *)dst;

	w[0] = 0;
	w[1] = 0;
	w[2] = bpf_htonl(0xffff);
	w[3] = *(const __u32 *)src4;
}

static __always_inline void egressd_addr_v6(__u8 *dst, const __u8 *src16)
{
	__u32 *w = (__u32 *)dst;
	const __u32 *s = (const __u32 *)src16;

	w[0] = s[0];
	w[1] = s[1];
	w[2] = s[2];
	w[3] = s[3];
}

/* `hdr` holds at least 20 readable bytes; `avail` is the packet's length from the network header
 * on; `gso` says the kernel may have left tot_len 0 on a BIG TCP super-packet (Linux 6.3, "net:
 * add support for ipv4 big tcp"). */
static __always_inline __u32 egressd_parse_ipv4(const __u8 *hdr, __u32 avail, __u32 gso,
						struct egressd_flow_key *key,
						struct egressd_pkt *pkt)
{
	const struct iphdr *ip = (const struct iphdr *)hdr;
	__u32 hlen, tot;

	if ((hdr[0] >> 4) != 4)
		return EGRESSD_FLOW_STAT_BAD_HEADER;
	hlen = (hdr[0] & 0xf) * 4;
	if (hlen < sizeof(struct iphdr))
		return EGRESSD_FLOW_STAT_BAD_HEADER;
	tot = bpf_ntohs(ip->tot_len);
	if (tot == 0 && gso)
		tot = avail;
	if (tot < hlen)
		return EGRESSD_FLOW_STAT_BAD_LENGTH;
	if (tot > avail)
		return EGRESSD_FLOW_STAT_TRUNCATED;
	if (!(ip->frag_off & bpf_htons(EGRESSD_IP_OFFMASK)) &&
	    tot - hlen < egressd_l4_min(ip->protocol))
		return EGRESSD_FLOW_STAT_TRUNCATED;
	key->proto = ip->protocol;
	egressd_addr_v4(key->orig_src, (const __u8 *)&ip->saddr);
	egressd_addr_v4(key->reply_src, (const __u8 *)&ip->daddr);
	pkt->bytes = tot;
	pkt->family = 4;
	return EGRESSD_PARSE_OK;
}

static __always_inline bool egressd_ipv6_is_ext(__u8 nh)
{
	return nh == IPPROTO_HOPOPTS || nh == IPPROTO_ROUTING || nh == IPPROTO_FRAGMENT ||
	       nh == IPPROTO_AH || nh == IPPROTO_DSTOPTS;
}

/* ICMPv6 messages that belong to no flow (neighbour discovery, RFC 4861; MLD, RFC 2710/3810):
 * conntrack does not track them (nf_conntrack_proto_icmpv6.c keeps no inverse for them). */
static __always_inline bool egressd_icmpv6_is_nd_mld(__u8 type)
{
	return (type >= 130 && type <= 137) || type == 143;
}

/* `hdr` holds the 40-byte fixed header; extension headers are read through `src`. */
static __always_inline __u32 egressd_parse_ipv6(const __u8 *hdr, __u32 avail, __u32 gso,
						const struct egressd_src *src, bool tc,
						struct egressd_flow_key *key,
						struct egressd_pkt *pkt)
{
	const struct ipv6hdr *ip6 = (const struct ipv6hdr *)hdr;
	__u32 total, off = sizeof(struct ipv6hdr);
	bool first = true;
	__u8 nh, ext[8];

	if ((hdr[0] >> 4) != 6)
		return EGRESSD_FLOW_STAT_BAD_HEADER;
	total = bpf_ntohs(ip6->payload_len);
	if (total == 0) {
		/* A jumbogram (RFC 2675) or a BIG TCP super-packet (Linux 5.19). */
		if (!gso)
			return EGRESSD_FLOW_STAT_BAD_LENGTH;
		total = avail;
	} else {
		total += sizeof(struct ipv6hdr);
	}
	if (total > avail)
		return EGRESSD_FLOW_STAT_TRUNCATED;
	nh = ip6->nexthdr;
	for (int i = 0; i < EGRESSD_IPV6_MAX_EXT; i++) {
		__u32 len;

		if (!first || !egressd_ipv6_is_ext(nh))
			break;
		if (nh == IPPROTO_FRAGMENT) {
			if (off + 8 > total || egressd_load(src, tc, off, ext, 8))
				return EGRESSD_FLOW_STAT_TRUNCATED;
			/* A later fragment carries no upper-layer header. */
			if (bpf_ntohs(*(__be16 *)&ext[2]) & EGRESSD_IP6_OFFMASK)
				first = false;
			len = 8;
		} else {
			if (off + 2 > total || egressd_load(src, tc, off, ext, 2))
				return EGRESSD_FLOW_STAT_TRUNCATED;
			len = nh == IPPROTO_AH ? ((__u32)ext[1] + 2) * 4 : ((__u32)ext[1] + 1) * 8;
		}
		nh = ext[0];
		off += len;
		if (off > total)
			return EGRESSD_FLOW_STAT_TRUNCATED;
	}
	if (first && egressd_ipv6_is_ext(nh))
		return EGRESSD_FLOW_STAT_EXT_HEADERS;
	if (first) {
		if (total - off < egressd_l4_min(nh))
			return EGRESSD_FLOW_STAT_TRUNCATED;
		if (nh == IPPROTO_ICMPV6) {
			if (egressd_load(src, tc, off, ext, 1))
				return EGRESSD_FLOW_STAT_TRUNCATED;
			if (egressd_icmpv6_is_nd_mld(ext[0]))
				return EGRESSD_FLOW_STAT_ND_MLD;
		}
	}
	key->proto = nh;
	egressd_addr_v6(key->orig_src, (const __u8 *)&ip6->saddr);
	egressd_addr_v6(key->reply_src, (const __u8 *)&ip6->daddr);
	pkt->bytes = total;
	pkt->family = 6;
	return EGRESSD_PARSE_OK;
}

/* A TC program's frame: `l2` says the device has an Ethernet header (everything but L3 devices
 * such as tun, WireGuard or ipip, whose frames start at the network header). */
static __always_inline __u32 egressd_parse_tc(struct __sk_buff *skb, bool l2,
					      struct egressd_flow_key *key, struct egressd_pkt *pkt)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct egressd_src src = {.skb = skb};
	__be16 proto = skb->protocol;
	__u32 off = 0;

	if (l2) {
		struct ethhdr *eth = data;

		if ((void *)(eth + 1) > data_end)
			return EGRESSD_FLOW_STAT_TRUNCATED;
		proto = eth->h_proto;
		off = sizeof(*eth);
		for (int i = 0; i < 2; i++) {
			struct egressd_vlan_hdr *vh = data + off;

			if (proto != bpf_htons(ETH_P_8021Q) && proto != bpf_htons(ETH_P_8021AD))
				break;
			if ((void *)(vh + 1) > data_end)
				return EGRESSD_FLOW_STAT_TRUNCATED;
			proto = vh->proto;
			off += sizeof(*vh);
		}
	}
	src.l3_off = off;
	if (proto == bpf_htons(ETH_P_IP)) {
		__u8 *hdr = data + off;

		if ((void *)(hdr + sizeof(struct iphdr)) > data_end)
			return EGRESSD_FLOW_STAT_TRUNCATED;
		return egressd_parse_ipv4(hdr, skb->len - off, skb->gso_size, key, pkt);
	}
	if (proto == bpf_htons(ETH_P_IPV6)) {
		__u8 *hdr = data + off;

		if ((void *)(hdr + sizeof(struct ipv6hdr)) > data_end)
			return EGRESSD_FLOW_STAT_TRUNCATED;
		return egressd_parse_ipv6(hdr, skb->len - off, skb->gso_size, &src, true, key, pkt);
	}
	return EGRESSD_FLOW_STAT_NOT_IP;
}

#endif /* EGRESSD_BPF_LIB_PACKET_H */
