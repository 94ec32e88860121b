// CPUs a process may use, given the CPUs it may run on and the cgroup CPU quota it runs under.
#pragma once

#include <cstddef>
#include <string>

namespace egressd {

// `cpus` (e.g. the affinity mask's size) capped by a cgroup CPU quota under `cgroup_root` —
// v2 `cpu.max`, else v1 `cpu/cpu.cfs_quota_us` / `cpu/cpu.cfs_period_us` — rounded up, at least 1.
// No quota, "max", or unreadable files leave `cpus` as is. A pod limited to 2 CPUs on a 64-core
// node gets 2, not 64.
[[nodiscard]] size_t cpus_within_quota(size_t cpus, const std::string& cgroup_root);

}  // namespace egressd
