// The addresses of the agent's own network namespace (getifaddrs): they are node addresses even
// when the inventory does not list them (loopback, secondary IPs, the pod CIDR gateway).
#pragma once

#include <vector>

#include "egressd/common/error.h"
#include "egressd/common/ip.h"

namespace egressd::app {

[[nodiscard]] Result<std::vector<IpAddr>> host_addresses();

}  // namespace egressd::app
