#include "egressd/local_endpoints.h"

namespace egressd {

LocalEndpoints::LocalEndpoints(const std::vector<IpAddr>& pod_ips,
                               const std::vector<IpAddr>& node_ips) {
  kinds_.reserve(pod_ips.size() + node_ips.size());
  for (const auto& ip : node_ips) kinds_[ip] = EndpointKind::kLocalNode;
  for (const auto& ip : pod_ips) kinds_[ip] = EndpointKind::kLocalPod;
}

}  // namespace egressd
