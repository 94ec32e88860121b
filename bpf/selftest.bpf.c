// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The pipeline probe: a TC program that counts frames by L3 type and records what CO-RE resolved.
 * Packet access uses UAPI headers only; the two kernel structs it names are local "flavors"
 * (the ___egressd suffix is ignored by libbpf when matching against the kernel's BTF). */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "egressd/abi/selftest.h"

struct sk_buff___egressd {
	unsigned int len;
} __attribute__((preserve_access_index));

struct nf_conn___egressd {
	unsigned long status;
} __attribute__((preserve_access_index));

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, EGRESSD_SELFTEST_L3_MAX);
	__type(key, __u32);
	__type(value, struct egressd_selftest_counter);
} egressd_selftest_counts SEC(".maps");

/* Load-time setting: userspace writes it into .rodata between open and load. */
const volatile __u32 egressd_selftest_tag = 0;

struct egressd_selftest_core egressd_selftest_core_info = {};

SEC("tc")
int egressd_selftest(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	__u32 idx = EGRESSD_SELFTEST_L3_TRUNCATED;

	if ((void *)(eth + 1) <= data_end) {
		if (eth->h_proto == bpf_htons(ETH_P_IP))
			idx = EGRESSD_SELFTEST_L3_IPV4;
		else if (eth->h_proto == bpf_htons(ETH_P_IPV6))
			idx = EGRESSD_SELFTEST_L3_IPV6;
		else
			idx = EGRESSD_SELFTEST_L3_OTHER;
	}

	struct egressd_selftest_counter *c = bpf_map_lookup_elem(&egressd_selftest_counts, &idx);
	if (c) {
		c->packets += 1;
		c->bytes += skb->len;
	}

	egressd_selftest_core_info.skb_len_offset =
	    bpf_core_field_offset(struct sk_buff___egressd, len);
	egressd_selftest_core_info.has_nf_conn = bpf_core_type_exists(struct nf_conn___egressd);
	egressd_selftest_core_info.tag = egressd_selftest_tag;
	__sync_fetch_and_add(&egressd_selftest_core_info.runs, 1);
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
