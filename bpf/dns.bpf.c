// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The DNS tracer (docs/dns.md): a cgroup_skb ingress program on the cgroup v2 root sees every
 * packet delivered to a socket of the node — each pod's and the host's, in every network
 * namespace, after IP reassembly — whichever flow source runs. Responses from the DNS port (UDP
 * and TCP, IPv4 and IPv6) go to the ring buffer egressd_dns_events (lib/dns.bpf.h); a full ring
 * is counted in egressd_dns_stats, never silent. The program never drops anything. */
#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>

#include "lib/dns.bpf.h"

#define EGRESSD_CGROUP_SKB_PASS 1

/* At cgroup_skb the data starts at the network header. */
SEC("cgroup_skb/ingress")
int egressd_dns_ingress(struct __sk_buff *skb)
{
	egressd_dns_packet(skb, 0);
	return EGRESSD_CGROUP_SKB_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
