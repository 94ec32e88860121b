/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Per-CPU aggregation of packets into flow counters, double-buffered for the reader.
 *
 * The programs add to the buffer that slot EGRESSD_FLOW_ACTIVE_SLOT of egressd_flow_active (an
 * array of maps) points to. Userspace switches the slot to the other buffer; the update of an
 * array of maps returns only after an RCU grace period (maybe_wait_bpf_programs() in
 * kernel/bpf/syscall.c, commit 1ae80cf31938 "bpf: wait for running BPF programs when updating
 * map-in-map"), so no program still writes the old buffer when userspace drains it. Nothing is
 * lost between a lookup and a delete, which batched lookup-and-delete on a live map cannot
 * promise: a program may add to an element after its value was copied and before it was freed.
 *
 * A full buffer does not lose bytes silently: the packet goes to the overflow ring buffer with
 * its key, and if that is full too, its bytes and packet are counted as lost. */
#ifndef EGRESSD_BPF_LIB_AGGREGATE_H
#define EGRESSD_BPF_LIB_AGGREGATE_H

#include <linux/bpf.h>
#include <linux/errno.h>

#include <bpf/bpf_helpers.h>

#include "egressd/abi/flow.h"
#include "lib/conntrack.bpf.h"
#include "lib/packet.bpf.h"

/* Default capacity of each buffer; userspace sets its own before load. Preallocated: inserting a
 * key into a per-CPU hash without preallocation allocates per-CPU memory, measured at ~10 us per
 * new flow against ~0.25 us preallocated (bench/bpf_flow_bench.cpp). The price is memory fixed at
 * load: about max_entries x (100 + 32 x possible CPUs) bytes per buffer. */
#define EGRESSD_FLOW_DEFAULT_ENTRIES 65536

struct egressd_flow_map {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, EGRESSD_FLOW_DEFAULT_ENTRIES);
	__type(key, struct egressd_flow_key);
	__type(value, struct egressd_flow_counters);
};

struct egressd_flow_map egressd_flows_a SEC(".maps");
struct egressd_flow_map egressd_flows_b SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);
	__type(key, __u32);
	__array(values, struct egressd_flow_map);
} egressd_flow_active SEC(".maps") = {
    .values = {[EGRESSD_FLOW_ACTIVE_SLOT] = &egressd_flows_a},
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct egressd_flow_stats);
} egressd_flow_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} egressd_flow_overflow SEC(".maps");

static __always_inline struct egressd_flow_stats *egressd_stats(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&egressd_flow_stats, &zero);
}

static __always_inline void egressd_stat_inc(__u32 index)
{
	struct egressd_flow_stats *s = egressd_stats();

	if (s && index < EGRESSD_FLOW_STAT_MAX)
		s->value[index] += 1;
}

static __always_inline void egressd_add(struct egressd_flow_counters *c, __u32 reply, __u64 bytes)
{
	if (reply) {
		c->reply_bytes += bytes;
		c->reply_packets += 1;
	} else {
		c->orig_bytes += bytes;
		c->orig_packets += 1;
	}
}

static __always_inline void egressd_overflow(const struct egressd_flow_key *key, __u32 reply,
					     __u64 bytes)
{
	struct egressd_flow_stats *s = egressd_stats();
	struct egressd_flow_overflow *rec;

	rec = bpf_ringbuf_reserve(&egressd_flow_overflow, sizeof(*rec), 0);
	if (!rec) {
		if (s) {
			s->value[EGRESSD_FLOW_STAT_LOST_PACKETS] += 1;
			s->value[EGRESSD_FLOW_STAT_LOST_BYTES] += bytes;
		}
		return;
	}
	__builtin_memcpy(&rec->key, key, sizeof(rec->key));
	rec->reply = reply;
	rec->bytes = bytes;
	bpf_ringbuf_submit(rec, 0);
	if (s)
		s->value[EGRESSD_FLOW_STAT_MAP_FULL] += 1;
}

/* Adds one packet of `bytes` to the active buffer. Per-CPU values are written without atomics:
 * every program here runs with bottom halves off, so nothing else on this CPU writes them. */
static __always_inline void egressd_account(const struct egressd_flow_key *key, __u32 reply,
					    __u64 bytes)
{
	struct egressd_flow_counters *c, init = {};
	__u32 slot = EGRESSD_FLOW_ACTIVE_SLOT;
	void *flows;
	long err;

	flows = bpf_map_lookup_elem(&egressd_flow_active, &slot);
	if (!flows) {
		egressd_overflow(key, reply, bytes);
		return;
	}
	c = bpf_map_lookup_elem(flows, key);
	if (c) {
		egressd_add(c, reply, bytes);
		return;
	}
	egressd_add(&init, reply, bytes);
	err = bpf_map_update_elem(flows, key, &init, BPF_NOEXIST);
	if (!err)
		return;
	if (err == -EEXIST) {
		/* Another CPU inserted the key since our lookup. */
		c = bpf_map_lookup_elem(flows, key);
		if (c) {
			egressd_add(c, reply, bytes);
			return;
		}
	}
	egressd_overflow(key, reply, bytes);
}

/* TC egress: parses the frame and keys it by its conntrack entry when it has one. Returns
 * EGRESSD_PARSE_OK with the key, direction and length filled, or the stat index of a skip. */
static __always_inline __u32 egressd_flow_tc_key(struct __sk_buff *skb, bool l2,
						 struct egressd_flow_key *key, __u32 *reply,
						 struct egressd_pkt *pkt)
{
	struct sk_buff___egressd *kskb;
	__u32 verdict;

	verdict = egressd_parse_tc(skb, l2, key, pkt);
	if (verdict != EGRESSD_PARSE_OK)
		return verdict;
	*reply = 0;
	kskb = bpf_cast_to_kern_ctx(skb);
	if (!egressd_key_from_nfct(egressd_skb_nfct(kskb), pkt->family, key, reply))
		egressd_stat_inc(EGRESSD_FLOW_STAT_NO_CONNTRACK);
	return EGRESSD_PARSE_OK;
}

static __always_inline void egressd_flow_tc(struct __sk_buff *skb, bool l2)
{
	struct egressd_flow_key key = {};
	struct egressd_pkt pkt = {};
	__u32 reply = 0, verdict;

	verdict = egressd_flow_tc_key(skb, l2, &key, &reply, &pkt);
	if (verdict != EGRESSD_PARSE_OK) {
		egressd_stat_inc(verdict);
		return;
	}
	egressd_stat_inc(EGRESSD_FLOW_STAT_EGRESS_PACKETS);
	egressd_account(&key, reply, pkt.bytes);
}

#endif /* EGRESSD_BPF_LIB_AGGREGATE_H */
