// Scope of a DNS answer: who asked. The tracer files each answer under the scope of the response's
// destination (the client's address); enrichment looks a flow's peer up under the scope of the
// flow's local endpoint. A pod's scope is the pod itself (namespace/name), so a dual-stack pod that
// resolved over IPv4 finds the name of an IPv6 peer it connects to; any other address (the node,
// host-network pods, an address the index does not know) is its own scope (docs/dns.md, "Scope").
#pragma once

#include <cstdint>

#include "egressd/common/ip.h"
#include "kube/cluster_index.h"

namespace egressd::dns {

// `index` may be null (no cluster knowledge yet): every address is then its own scope.
[[nodiscard]] uint64_t scope_of(const IpAddr& client, const kube::ClusterIndex* index) noexcept;

}  // namespace egressd::dns
