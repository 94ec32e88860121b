// LocalEndpoints: which addresses belong to this node — the pods running on it (not host-network)
// and the node's own addresses. Sources use it to orient a connection (which side is local) per
// the accounting contract (docs/accounting.md).
//
// A LocalEndpoints value is immutable; LocalEndpointsView publishes a new one when the inventory
// changes, and readers take a reference-counted snapshot once per read, not per record.
#pragma once

#include <memory>
#include <vector>

#include "egressd/common/atomic_snapshot.h"
#include "egressd/common/ip.h"

namespace egressd {

enum class EndpointKind : uint8_t {
  kOther,      // not on this node
  kLocalPod,   // a pod of this node with its own network namespace
  kLocalNode,  // an address of the node (host-network pods and the node's own traffic)
};

class LocalEndpoints {
 public:
  LocalEndpoints() = default;
  // A pod IP listed in both wins as a pod.
  LocalEndpoints(const std::vector<IpAddr>& pod_ips, const std::vector<IpAddr>& node_ips);

  // Two lookups per conntrack entry on the dump path: an open-addressing table with linear
  // probing (no node allocation, one or two cache lines per lookup) instead of unordered_map.
  [[nodiscard]] EndpointKind classify(const IpAddr& ip) const noexcept {
    if (slots_.empty()) return EndpointKind::kOther;
    for (size_t i = IpAddrHash{}(ip)&mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.kind == EndpointKind::kOther) return EndpointKind::kOther;
      if (s.ip == ip) return s.kind;
    }
  }
  [[nodiscard]] size_t size() const noexcept { return size_; }
  // Calls fn(ip, kind) for every local address (on inventory changes, not per record).
  template <typename Fn>
  void for_each(Fn&& fn) const {
    for (const Slot& s : slots_) {
      if (s.kind != EndpointKind::kOther) fn(s.ip, s.kind);
    }
  }

 private:
  struct Slot {
    IpAddr ip;
    EndpointKind kind = EndpointKind::kOther;  // kOther marks an empty slot
  };
  void insert(const IpAddr& ip, EndpointKind kind);

  std::vector<Slot> slots_;  // capacity a power of two, at most half full
  size_t mask_ = 0;
  size_t size_ = 0;
};

// A mutex, not std::atomic<std::shared_ptr>: see atomic_snapshot.h.
class LocalEndpointsView {
 public:
  LocalEndpointsView() : current_(std::make_shared<const LocalEndpoints>()) {}
  [[nodiscard]] std::shared_ptr<const LocalEndpoints> get() const { return current_.get(); }
  void set(std::shared_ptr<const LocalEndpoints> next) { current_.set(std::move(next)); }

 private:
  AtomicSnapshot<LocalEndpoints> current_;
};

}  // namespace egressd
