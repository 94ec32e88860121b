// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Measurement-only variants of the DNS tracer (bench/dns_parse_bench.cpp, docs/dns.md "Hook"):
 * the same packet logic on TC (an Ethernet frame: the hook the tracer could have used on the
 * host side of each pod's veth), and a floor program that only counts. Never attached by the
 * agent. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>

#include <bpf/bpf_helpers.h>

#include "lib/dns.bpf.h"

SEC("tc")
int egressd_dns_tc(struct __sk_buff *skb)
{
	egressd_dns_packet(skb, ETH_HLEN);
	return TC_ACT_UNSPEC;
}

/* The production program (bpf/dns.bpf.c), for the same measurement in the same object. */
SEC("cgroup_skb/ingress")
int egressd_dns_cgroup(struct __sk_buff *skb)
{
	egressd_dns_packet(skb, 0);
	return 1;
}

SEC("cgroup_skb/ingress")
int egressd_dns_floor(struct __sk_buff *skb)
{
	egressd_dns_stat(EGRESSD_DNS_STAT_MAX - 1);
	return 1;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
