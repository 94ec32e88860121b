// Address classes that decide `dst_ip_type` and public-IP grouping.
#pragma once

#include "egressd/common/ip.h"

namespace egressd {

// True for addresses that are not routable on the public internet:
//   IPv4: 0.0.0.0/8, 10/8, 100.64/10 (RFC 6598 shared space, used for pod CIDRs), 127/8,
//         169.254/16, 172.16/12, 192.168/16, 198.18/15 (RFC 2544), 224/4 and 240/4;
//   IPv6: ::/128, ::1, fc00::/7 (RFC 4193 ULA), fe80::/10, ff00::/8.
// castai/egressd used Go's netaddr IsPrivate (RFC 1918 + ULA only), which called loopback and
// link-local "public"; egressd fixes that (docs/metrics.md).
[[nodiscard]] bool is_private(const IpAddr& ip) noexcept;

}  // namespace egressd
