/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The conntrack entry a packet carries (sk_buff::_nfct), read without a lookup.
 *
 * By the time a packet reaches TC egress or netfilter LOCAL_IN, conntrack has attached its entry
 * to the skb (nf_conntrack_in() at PRE_ROUTING or LOCAL_OUT) and NAT has rewritten the packet.
 * The entry's original tuple source is the initiator before SNAT and its reply tuple source the
 * responder after DNAT: the accounting contract's two endpoints, whatever the packet's own
 * addresses became. Reading them is a few loads from an entry conntrack just touched, where
 * bpf_skb_ct_lookup() would hash the tuple, walk a bucket and take a reference (docs/ebpf.md has
 * the measurements).
 *
 * Kernel structs are local "flavors" (the ___egressd suffix is ignored when libbpf matches them
 * against the kernel's BTF), so only the members used here are declared and their offsets come
 * from the running kernel. The entry is read through bpf_rdonly_cast() (Linux 6.3): the verifier
 * turns the loads into exception-safe PROBE_MEM loads, and inlines the cast itself. */
#ifndef EGRESSD_BPF_LIB_CONNTRACK_H
#define EGRESSD_BPF_LIB_CONNTRACK_H

#include <linux/bpf.h>
#include <stdbool.h>

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "egressd/abi/flow.h"

/* enum ip_conntrack_info (include/uapi/linux/netfilter/nf_conntrack_common.h) */
#define EGRESSD_IP_CT_IS_REPLY 3
#define EGRESSD_IP_CT_UNTRACKED 7
#define EGRESSD_NFCT_INFOMASK 7UL

#define EGRESSD_AF_INET 2
#define EGRESSD_AF_INET6 10

union nf_inet_addr___egressd {
	__u32 all[4];
} __attribute__((preserve_access_index));

struct nf_conntrack_man___egressd {
	union nf_inet_addr___egressd u3;
	__u16 l3num;
} __attribute__((preserve_access_index));

struct nf_conntrack_tuple___egressd {
	struct nf_conntrack_man___egressd src;
} __attribute__((preserve_access_index));

struct nf_conntrack_tuple_hash___egressd {
	struct nf_conntrack_tuple___egressd tuple;
} __attribute__((preserve_access_index));

struct nf_conn___egressd {
	struct nf_conntrack_tuple_hash___egressd tuplehash[2];
} __attribute__((preserve_access_index));

struct sk_buff___egressd {
	unsigned int len;
	unsigned long _nfct;
	unsigned char *head;
	__u16 network_header;
} __attribute__((preserve_access_index));

extern void *bpf_cast_to_kern_ctx(void *obj) __ksym;
extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym;

/* sk_buff::_nfct, 0 on kernels built without conntrack. */
static __always_inline unsigned long egressd_skb_nfct(const struct sk_buff___egressd *skb)
{
	if (!bpf_core_field_exists(skb->_nfct))
		return 0;
	return skb->_nfct;
}

static __always_inline void egressd_copy_ct_addr(__u8 *dst, const union nf_inet_addr___egressd *a,
						 __u8 family)
{
	__u32 *w = (__u32 *)dst;

	if (family == 4) {
		w[0] = 0;
		w[1] = 0;
		w[2] = bpf_htonl(0xffff);
		w[3] = a->all[0];
	} else {
		w[0] = a->all[0];
		w[1] = a->all[1];
		w[2] = a->all[2];
		w[3] = a->all[3];
	}
}

/* Replaces the key's packet addresses with the entry's endpoints and says which direction the
 * packet travels. Returns false (key untouched) for a packet without an entry, an untracked one,
 * or an entry of the other address family. */
static __always_inline bool egressd_key_from_nfct(unsigned long nfct, __u8 family,
						  struct egressd_flow_key *key, __u32 *reply)
{
	unsigned long info = nfct & EGRESSD_NFCT_INFOMASK;
	unsigned long ptr = nfct & ~EGRESSD_NFCT_INFOMASK;
	struct nf_conntrack_tuple_hash___egressd *orig, *rep;
	__u32 id, off, size;

	if (!ptr || info == EGRESSD_IP_CT_UNTRACKED)
		return false;
	/* Cast to the tuple hashes, not to nf_conn: the kernel also has struct nf_conn___init,
	 * which libbpf takes for a flavor of nf_conn, so a type-id relocation of nf_conn is
	 * ambiguous. */
	id = bpf_core_type_id_kernel(struct nf_conntrack_tuple_hash___egressd);
	off = bpf_core_field_offset(struct nf_conn___egressd, tuplehash);
	size = bpf_core_type_size(struct nf_conntrack_tuple_hash___egressd);
	orig = bpf_rdonly_cast((void *)(ptr + off), id);
	rep = bpf_rdonly_cast((void *)(ptr + off + size), id);
	if (orig->tuple.src.l3num != (family == 4 ? EGRESSD_AF_INET : EGRESSD_AF_INET6))
		return false;
	egressd_copy_ct_addr(key->orig_src, &orig->tuple.src.u3, family);
	egressd_copy_ct_addr(key->reply_src, &rep->tuple.src.u3, family);
	*reply = info >= EGRESSD_IP_CT_IS_REPLY;
	return true;
}

#endif /* EGRESSD_BPF_LIB_CONNTRACK_H */
