#include "egressd/common/cpu_quota.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>

namespace egressd {

size_t cpus_within_quota(size_t cpus, const std::string& cgroup_root) {
  cpus = std::max<size_t>(cpus, 1);
  double quota = -1;
  double period = 0;
  if (std::ifstream v2(cgroup_root + "/cpu.max"); v2) {
    std::string q;
    if (v2 >> q >> period && q != "max") quota = std::strtod(q.c_str(), nullptr);
  } else {
    std::ifstream q1(cgroup_root + "/cpu/cpu.cfs_quota_us");
    std::ifstream p1(cgroup_root + "/cpu/cpu.cfs_period_us");
    if (!(q1 >> quota) || !(p1 >> period)) quota = -1;
  }
  if (quota > 0 && period > 0) {
    cpus = std::min(cpus, static_cast<size_t>(std::max(1.0, std::ceil(quota / period))));
  }
  return cpus;
}

}  // namespace egressd
