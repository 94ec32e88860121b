#include "egressd/local_endpoints.h"

#include <bit>

namespace egressd {

LocalEndpoints::LocalEndpoints(const std::vector<IpAddr>& pod_ips,
                               const std::vector<IpAddr>& node_ips) {
  const size_t capacity =
      std::bit_ceil(std::max<size_t>(8, 2 * (pod_ips.size() + node_ips.size())));
  slots_.resize(capacity);
  mask_ = capacity - 1;
  for (const auto& ip : node_ips) insert(ip, EndpointKind::kLocalNode);
  for (const auto& ip : pod_ips) insert(ip, EndpointKind::kLocalPod);  // a pod wins over the node
}

void LocalEndpoints::insert(const IpAddr& ip, EndpointKind kind) {
  for (size_t i = IpAddrHash{}(ip)&mask_;; i = (i + 1) & mask_) {
    Slot& s = slots_[i];
    if (s.kind == EndpointKind::kOther) {
      s = Slot{ip, kind};
      ++size_;
      return;
    }
    if (s.ip == ip) {
      s.kind = kind;
      return;
    }
  }
}

}  // namespace egressd
