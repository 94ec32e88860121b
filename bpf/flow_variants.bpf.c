// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Variants of the flow program for measurements only (bench/bpf_flow_bench.cpp, and the churn test
 * of tests/integration, which reports the real datapath cost), built from the same lib/ code:
 *  - egressd_bench_floor: a per-CPU array counter, the cheapest useful TC program (the floor);
 *  - egressd_bench_new_flow: the flow program with the key's initiator varied on every run, so
 *    each packet takes the new-flow path (insert) — the variation costs one per-CPU counter bump;
 *  - egressd_bench_ct_lookup: the flow program resolving NAT with bpf_skb_ct_lookup() on the
 *    packet's tuple instead of reading skb->_nfct: the alternative docs/ebpf.md measured. */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#include <bpf/bpf_helpers.h>

#include "egressd/abi/flow.h"
#include "lib/aggregate.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} egressd_bench_seq SEC(".maps");

SEC("tc")
int egressd_bench_floor(struct __sk_buff *skb)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&egressd_bench_seq, &zero);

	if (n)
		*n += 1;
	return TC_ACT_UNSPEC;
}

SEC("tc")
int egressd_bench_new_flow(struct __sk_buff *skb)
{
	struct egressd_flow_key key = {};
	struct egressd_pkt pkt = {};
	__u32 reply = 0, zero = 0;
	__u64 *seq;

	if (egressd_flow_tc_key(skb, true, &key, &reply, &pkt) != EGRESSD_PARSE_OK)
		return TC_ACT_UNSPEC;
	seq = bpf_map_lookup_elem(&egressd_bench_seq, &zero);
	if (!seq)
		return TC_ACT_UNSPEC;
	*seq += 1;
	*(__u32 *)&key.orig_src[12] ^= (__u32)*seq;
	egressd_stat_inc(EGRESSD_FLOW_STAT_EGRESS_PACKETS);
	egressd_account(&key, reply, pkt.bytes);
	return TC_ACT_UNSPEC;
}

struct bpf_ct_opts___egressd {
	__s32 netns_id;
	__s32 error;
	__u8 l4proto;
	__u8 dir;
	__u16 ct_zone_id;
	__u8 ct_zone_dir;
	__u8 reserved[3];
};

extern struct nf_conn___egressd *bpf_skb_ct_lookup(struct __sk_buff *skb,
						   struct bpf_sock_tuple *tuple, __u32 tuple_len,
						   struct bpf_ct_opts___egressd *opts,
						   __u32 opts_len) __ksym;
extern void bpf_ct_release(struct nf_conn___egressd *ct) __ksym;

/* IPv4 TCP only: enough to price a lookup against reading skb->_nfct. */
SEC("tc")
int egressd_bench_ct_lookup(struct __sk_buff *skb)
{
	struct bpf_ct_opts___egressd opts = {.netns_id = -1, .l4proto = IPPROTO_TCP};
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct egressd_flow_key key = {};
	struct bpf_sock_tuple tuple = {};
	struct egressd_pkt pkt = {};
	struct iphdr *ip = data + sizeof(struct ethhdr);
	__u16 *ports = data + sizeof(struct ethhdr) + sizeof(struct iphdr);
	struct nf_conn___egressd *ct;

	if (egressd_parse_tc(skb, true, &key, &pkt) != EGRESSD_PARSE_OK)
		return TC_ACT_UNSPEC;
	if ((void *)(ports + 2) > data_end || pkt.family != 4)
		return TC_ACT_UNSPEC;
	tuple.ipv4.saddr = ip->saddr;
	tuple.ipv4.daddr = ip->daddr;
	tuple.ipv4.sport = ports[0];
	tuple.ipv4.dport = ports[1];
	ct = bpf_skb_ct_lookup(skb, &tuple, sizeof(tuple.ipv4), &opts, sizeof(opts));
	if (ct) {
		/* What the production program reads from skb->_nfct, here from the lookup. */
		egressd_copy_ct_addr(key.orig_src, &ct->tuplehash[0].tuple.src.u3, 4);
		egressd_copy_ct_addr(key.reply_src, &ct->tuplehash[1].tuple.src.u3, 4);
		bpf_ct_release(ct);
	} else {
		egressd_stat_inc(
		    EGRESSD_FLOW_STAT_NO_CONNTRACK); /* the bench checks hit and miss */
	}
	egressd_stat_inc(EGRESSD_FLOW_STAT_EGRESS_PACKETS);
	egressd_account(&key, 0, pkt.bytes);
	return TC_ACT_UNSPEC;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
