// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* In-kernel flow pre-aggregation, the primary source of egressd (docs/ebpf.md).
 *
 * Every IP packet of the node's network namespace is counted exactly once, by one of:
 *  - egressd_flow_eth / egressd_flow_l3 on TC egress (TCX, or clsact on older kernels) of every
 *    interface but loopback and stacked upper devices: traffic the node forwards (pods) or sends;
 *  - egressd_flow_local_in on netfilter LOCAL_IN (IPv4 and IPv6): traffic delivered to the node,
 *    loopback included (a loopback packet is output and input; it is counted as input only).
 * Both hooks run after conntrack and NAT, so the packet's conntrack entry names the real
 * endpoints (lib/conntrack.bpf.h). Packets go into per-CPU, double-buffered flow maps
 * (lib/aggregate.bpf.h); userspace drains the idle buffer every interval. */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#include <bpf/bpf_helpers.h>

#include "egressd/abi/flow.h"
#include "lib/aggregate.bpf.h"

#define EGRESSD_NF_ACCEPT 1

/* The context of BPF_PROG_TYPE_NETFILTER (struct bpf_nf_ctx, include/net/netfilter/
 * nf_bpf_link.h): read-only pointers at fixed offsets, checked by the verifier. */
struct egressd_nf_ctx {
	const void *state;
	struct sk_buff___egressd *skb;
};

/* TCX runs the next program on TCX_NEXT (-1) and cls_bpf the next filter on TC_ACT_UNSPEC (-1):
 * the programs only observe and never end a chain. */
SEC("tc")
int egressd_flow_eth(struct __sk_buff *skb)
{
	egressd_flow_tc(skb, true);
	return TC_ACT_UNSPEC;
}

SEC("tc")
int egressd_flow_l3(struct __sk_buff *skb)
{
	egressd_flow_tc(skb, false);
	return TC_ACT_UNSPEC;
}

/* At LOCAL_IN the skb's data starts at the network header and len is the IP datagram's length
 * (ip_rcv_core() trimmed link-layer padding), the length conntrack and nftables count. */
static __always_inline __u32 egressd_parse_nf(const struct sk_buff___egressd *skb,
					      struct egressd_flow_key *key, struct egressd_pkt *pkt)
{
	const __u8 *l3 = skb->head + skb->network_header;
	struct egressd_src src = {.l3 = l3};
	__u32 len = skb->len;
	__u8 hdr[40];

	if (len < sizeof(struct iphdr) || bpf_probe_read_kernel(hdr, sizeof(hdr), l3))
		return EGRESSD_FLOW_STAT_TRUNCATED;
	if ((hdr[0] >> 4) == 4)
		return egressd_parse_ipv4(hdr, len, 1, key, pkt);
	if ((hdr[0] >> 4) != 6)
		return EGRESSD_FLOW_STAT_BAD_HEADER;
	if (len < sizeof(struct ipv6hdr))
		return EGRESSD_FLOW_STAT_TRUNCATED;
	return egressd_parse_ipv6(hdr, len, 1, &src, false, key, pkt);
}

SEC("netfilter")
int egressd_flow_local_in(struct egressd_nf_ctx *ctx)
{
	struct sk_buff___egressd *skb = ctx->skb;
	struct egressd_flow_key key = {};
	struct egressd_pkt pkt = {};
	__u32 reply = 0, verdict;

	verdict = egressd_parse_nf(skb, &key, &pkt);
	if (verdict != EGRESSD_PARSE_OK) {
		egressd_stat_inc(verdict);
		return EGRESSD_NF_ACCEPT;
	}
	if (!egressd_key_from_nfct(egressd_skb_nfct(skb), pkt.family, &key, &reply))
		egressd_stat_inc(EGRESSD_FLOW_STAT_NO_CONNTRACK);
	egressd_stat_inc(EGRESSD_FLOW_STAT_LOCAL_IN_PACKETS);
	egressd_account(&key, reply, pkt.bytes);
	return EGRESSD_NF_ACCEPT;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
