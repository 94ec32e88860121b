/* ABI of bpf/selftest.bpf.c: the smallest CO-RE program of the project. It proves the whole BPF
 * pipeline (clang -target bpf, bpftool gen object/skeleton, CO-RE relocation against the running
 * kernel's BTF, load-time rodata, per-CPU maps, BPF_PROG_TEST_RUN) in tests/bpf. */
#ifndef EGRESSD_ABI_SELFTEST_H
#define EGRESSD_ABI_SELFTEST_H

#include "egressd/abi/common.h"

enum egressd_selftest_l3 {
  EGRESSD_SELFTEST_L3_IPV4 = 0,
  EGRESSD_SELFTEST_L3_IPV6 = 1,
  EGRESSD_SELFTEST_L3_OTHER = 2,     /* an Ethernet frame of another type */
  EGRESSD_SELFTEST_L3_TRUNCATED = 3, /* shorter than an Ethernet header */
  EGRESSD_SELFTEST_L3_MAX = 4,
};

/* Value of the per-CPU array egressd_selftest_counts, indexed by enum egressd_selftest_l3. */
struct egressd_selftest_counter {
  __u64 packets;
  __u64 bytes;
};
EGRESSD_ABI_ASSERT(sizeof(struct egressd_selftest_counter) == 16, "selftest counter layout");

/* What the program learned from CO-RE relocations, written to .bss on every run. */
struct egressd_selftest_core {
  __u32 skb_len_offset; /* offsetof(struct sk_buff, len) in the running kernel */
  __u32 has_nf_conn;    /* the running kernel's BTF has struct nf_conn */
  __u32 tag;            /* copy of the load-time constant egressd_selftest_tag */
  __u32 pad;
  __u64 runs;
};
EGRESSD_ABI_ASSERT(sizeof(struct egressd_selftest_core) == 24, "selftest core layout");

#endif /* EGRESSD_ABI_SELFTEST_H */
