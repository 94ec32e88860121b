/* Shared by BPF programs and userspace: plain C, fixed-width fields, explicit padding, no
 * bitfields, bools or pointers. Every struct that crosses the kernel boundary is size-checked. */
#ifndef EGRESSD_ABI_COMMON_H
#define EGRESSD_ABI_COMMON_H

#include <linux/types.h>

#ifdef __cplusplus
#define EGRESSD_ABI_ASSERT(cond, msg) static_assert(cond, msg)
#else
#define EGRESSD_ABI_ASSERT(cond, msg) _Static_assert(cond, msg)
#endif

#endif /* EGRESSD_ABI_COMMON_H */
