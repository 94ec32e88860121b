#include "kube/index_builder.h"

#include <algorithm>
#include <functional>

namespace egressd::kube {
namespace {

constexpr uint32_t kNone = UINT32_MAX;
constexpr size_t kMaxNodeAddresses = 16;  // node_ips_ entries encode the index in 4 bits
constexpr size_t kSmallString = 15;       // libstdc++'s in-object string capacity

uint8_t phase_code(std::string_view phase) {
  if (phase.empty()) return 0;
  if (phase == "Pending") return 1;
  if (phase == "Running") return 2;
  return 3;
}

size_t heap_bytes(const std::string& s) {
  return s.capacity() > kSmallString ? s.capacity() + 1 : 0;
}

}  // namespace

IndexBuilder::IndexBuilder(std::string this_node, std::vector<IpAddr> extra_node_ips)
    : extra_node_ips_(std::move(extra_node_ips)) {
  index_.this_node_ = std::move(this_node);
  // This node's record always exists (pinned by one reference), so pods and the Node object
  // find it and local endpoints include the extra addresses before the Node object arrives.
  if (!index_.this_node_.empty()) index_.this_node_id_ = node_ref(index_.this_node_);
}

uint32_t IndexBuilder::intern(std::string_view text) {
  if (text.empty()) return kNone;
  if (const auto it = string_ids_.find(std::string(text)); it != string_ids_.end()) {
    ++string_refs_[it->second];
    return it->second;
  }
  uint32_t id = 0;
  if (!free_strings_.empty()) {
    id = free_strings_.back();
    free_strings_.pop_back();
    index_.strings_.mut(id) = std::string(text);
    string_refs_[id] = 1;
  } else {
    id = static_cast<uint32_t>(index_.strings_.size());
    index_.strings_.push_back(std::string(text));
    string_refs_.push_back(1);
  }
  string_ids_.emplace(std::string(text), id);
  return id;
}

void IndexBuilder::release(uint32_t id) {
  if (id == kNone || --string_refs_[id] > 0) return;
  string_ids_.erase(index_.strings_[id]);
  std::string().swap(index_.strings_.mut(id));
  free_strings_.push_back(id);
}

uint32_t IndexBuilder::node_ref(std::string_view name) {
  if (name.empty()) return kNone;
  uint32_t id = 0;
  if (const auto it = node_ids_.find(std::string(name)); it != node_ids_.end()) {
    id = it->second;
  } else {
    if (!free_nodes_.empty()) {
      id = free_nodes_.back();
      free_nodes_.pop_back();
    } else {
      id = static_cast<uint32_t>(index_.nodes_.size());
      index_.nodes_.push_back({});
      node_gen_.push_back(0);
    }
    NodeRecord& rec = index_.nodes_.mut(id);
    rec = NodeRecord{};
    rec.name = std::string(name);
    node_ids_.emplace(std::string(name), id);
  }
  ++index_.nodes_.mut(id).pod_refs;
  return id;
}

void IndexBuilder::node_unref(uint32_t id) {
  if (id == kNone) return;
  --index_.nodes_.mut(id).pod_refs;
  free_node_if_unused(id);
}

void IndexBuilder::free_node_if_unused(uint32_t id) {
  const NodeRecord& rec = index_.nodes_[id];
  if (rec.known || rec.pod_refs > 0) return;
  node_ids_.erase(rec.name);
  NodeRecord& w = index_.nodes_.mut(id);
  release(w.zone_id);
  release(w.region_id);
  w = NodeRecord{};
  free_nodes_.push_back(id);
}

size_t IndexBuilder::pod_key_hash(uint32_t id) const noexcept {
  const PodRecord& p = index_.pods_[id];
  return std::hash<std::string_view>{}(p.name) ^ (p.namespace_id * 0x9E3779B97F4A7C15ULL);
}

uint32_t IndexBuilder::find_pod(uint32_t namespace_id, std::string_view name) const {
  const size_t hash = std::hash<std::string_view>{}(name) ^ (namespace_id * 0x9E3779B97F4A7C15ULL);
  return pod_keys_.find(hash, [&](uint32_t id) {
    const PodRecord& p = index_.pods_[id];
    return p.namespace_id == namespace_id && p.name == name;
  });
}

uint32_t IndexBuilder::find_pod_by_key(std::string_view namespace_name,
                                       std::string_view name) const {
  const auto ns = string_ids_.find(std::string(namespace_name));
  return ns == string_ids_.end() ? kNone : find_pod(ns->second, name);
}

bool IndexBuilder::is_local(uint32_t pod_id) const noexcept {
  return index_.this_node_id_ != kNone && index_.pods_[pod_id].node_id == index_.this_node_id_;
}

namespace {

// Which of two live pods claiming one IP owns it: Running first (a Pending pod has an IP as soon
// as its sandbox exists, so a Running pod with the same IP means the Pending object is stale),
// then the newer pod (an IP reused by a new pod belongs to the new pod), else the incumbent.
bool wins_over(const auto& challenger, const auto& incumbent) {
  const bool a = challenger.phase == 2;
  const bool b = incumbent.phase == 2;
  if (a != b) return a;
  return challenger.created > incumbent.created;
}

}  // namespace

void IndexBuilder::index_pod_ip(uint32_t id, const IpAddr& ip) {
  const auto& pods = index_.pods_;
  const size_t hash = IpAddrHash{}(ip);
  const auto holds = [&](uint32_t e) { return pods[e >> 1].ips[e & 1] == ip; };
  const auto rehash = [&](uint32_t e) { return IpAddrHash{}(pods[e >> 1].ips[e & 1]); };
  const PodRecord& rec = pods[id];
  const uint32_t k = rec.ips[0] == ip ? 0 : 1;
  const uint32_t entry = id << 1 | k;
  const uint32_t current = index_.pod_ips_.find(hash, holds);
  if (current == IdTable::kEmpty) {
    index_.pod_ips_.insert(hash, entry, rehash);
    return;
  }
  if (current >> 1 == id) return;
  ++index_.ip_conflicts_;
  if (wins_over(rec, pods[current >> 1])) {
    index_.pod_ips_.replace(hash, holds, entry);
    losers_.emplace(ip, current >> 1);
  } else {
    losers_.emplace(ip, id);
  }
}

void IndexBuilder::unindex_pod_ip(uint32_t id, const IpAddr& ip) {
  const auto& pods = index_.pods_;
  const auto range = losers_.equal_range(ip);
  for (auto it = range.first; it != range.second; ++it) {
    if (it->second == id) {
      losers_.erase(it);
      return;
    }
  }
  const size_t hash = IpAddrHash{}(ip);
  const auto mine = [&](uint32_t e) { return e >> 1 == id && pods[e >> 1].ips[e & 1] == ip; };
  const auto rehash = [&](uint32_t e) { return IpAddrHash{}(pods[e >> 1].ips[e & 1]); };
  // The best remaining claimant, if any, takes the address over.
  auto best = losers_.end();
  const auto claimants = losers_.equal_range(ip);
  for (auto it = claimants.first; it != claimants.second; ++it) {
    if (best == losers_.end() || wins_over(pods[it->second], pods[best->second])) best = it;
  }
  if (best == losers_.end()) {
    index_.pod_ips_.erase(hash, mine, rehash);
    return;
  }
  const uint32_t heir = best->second;
  losers_.erase(best);
  index_.pod_ips_.replace(hash, mine, heir << 1 | (pods[heir].ips[0] == ip ? 0U : 1U));
}

void IndexBuilder::upsert_pod(const Pod& pod) {
  const std::string_view ns = pod.namespace_name.empty() ? std::string_view("default")
                                                         : std::string_view(pod.namespace_name);
  const uint32_t existing = find_pod_by_key(ns, pod.name);
  // Terminal pods keep status.podIPs but the IP may already belong to a new pod; host-network
  // pods share the node's addresses and are accounted to the node; a pod without an IP owns none.
  if (pod.is_terminal() || pod.host_network || pod.ips.empty() || pod.name.empty()) {
    if (existing != kNone) remove_pod(existing);
    return;
  }
  const std::string workload = workload_of(pod);
  const uint8_t phase = phase_code(pod.phase);
  const size_t ip_count = std::min<size_t>(pod.ips.size(), 2);
  if (existing != kNone) {
    const PodRecord& old = index_.pods_[existing];
    const bool same_ips =
        old.ip_count == ip_count &&
        std::equal(pod.ips.begin(), pod.ips.begin() + static_cast<ptrdiff_t>(ip_count),
                   old.ips.begin());
    const std::string_view old_node =
        old.node_id == kNone ? std::string_view{} : index_.nodes_[old.node_id].name;
    pod_gen_[existing] = pod_generation_;
    if (same_ips && old.phase == phase && old.created == pod.created && old_node == pod.node_name &&
        index_.text(old.workload_id) == workload) {
      return;  // nothing enrichment uses changed: no chunk is touched
    }
  }
  // Reference the new strings before releasing the old ones, so shared ones are not freed.
  const uint32_t node_id = node_ref(pod.node_name);
  const uint32_t workload_id = intern(workload);
  uint32_t id = existing;
  if (id != kNone) {
    const PodRecord old = index_.pods_[id];
    for (uint8_t k = 0; k < old.ip_count; ++k) unindex_pod_ip(id, old.ips[k]);
    if (is_local(id)) local_dirty_ = true;
    node_unref(old.node_id);
    release(old.workload_id);
    PodRecord& rec = index_.pods_.mut(id);
    rec.node_id = node_id;
    rec.workload_id = workload_id;
    rec.phase = phase;
    rec.created = pod.created;
    rec.ip_count = static_cast<uint8_t>(ip_count);
    for (size_t k = 0; k < ip_count; ++k) rec.ips[k] = pod.ips[k];
  } else {
    PodRecord rec;
    rec.name = pod.name;
    rec.namespace_id = intern(ns);  // part of the key: an existing record keeps its own
    rec.node_id = node_id;
    rec.workload_id = workload_id;
    rec.phase = phase;
    rec.created = pod.created;
    rec.ip_count = static_cast<uint8_t>(ip_count);
    for (size_t k = 0; k < ip_count; ++k) rec.ips[k] = pod.ips[k];
    index_.name_bytes_ += heap_bytes(rec.name);
    if (!free_pods_.empty()) {
      id = free_pods_.back();
      free_pods_.pop_back();
      index_.pods_.mut(id) = std::move(rec);
    } else {
      id = static_cast<uint32_t>(index_.pods_.size());
      index_.pods_.push_back(std::move(rec));
      pod_gen_.push_back(0);
    }
    pod_gen_[id] = pod_generation_;
    pod_keys_.insert(pod_key_hash(id), id, [&](uint32_t e) { return pod_key_hash(e); });
    ++index_.pod_count_;
  }
  const PodRecord& rec = index_.pods_[id];
  for (uint8_t k = 0; k < rec.ip_count; ++k) index_pod_ip(id, rec.ips[k]);
  if (is_local(id)) local_dirty_ = true;
  dirty_ = true;
}

void IndexBuilder::remove_pod(uint32_t id) {
  const PodRecord old = index_.pods_[id];
  for (uint8_t k = 0; k < old.ip_count; ++k) unindex_pod_ip(id, old.ips[k]);
  if (is_local(id)) local_dirty_ = true;
  pod_keys_.erase(
      pod_key_hash(id), [&](uint32_t e) { return e == id; },
      [&](uint32_t e) { return pod_key_hash(e); });
  release(old.namespace_id);
  node_unref(old.node_id);
  release(old.workload_id);
  index_.name_bytes_ -= heap_bytes(old.name);
  index_.pods_.mut(id) = PodRecord{};
  free_pods_.push_back(id);
  --index_.pod_count_;
  dirty_ = true;
}

void IndexBuilder::delete_pod(std::string_view namespace_name, std::string_view name) {
  const uint32_t id = find_pod_by_key(namespace_name.empty() ? "default" : namespace_name, name);
  if (id != kNone) remove_pod(id);
}

void IndexBuilder::index_node_ips(uint32_t id) {
  const auto& nodes = index_.nodes_;
  const auto& addrs = nodes[id].addresses;
  const auto rehash = [&](uint32_t e) { return IpAddrHash{}(nodes[e >> 4].addresses[e & 15]); };
  for (uint32_t k = 0; k < std::min(addrs.size(), kMaxNodeAddresses); ++k) {
    const IpAddr ip = addrs[k];
    const size_t hash = IpAddrHash{}(ip);
    // Two nodes listing one address: the first keeps it.
    const uint32_t current = index_.node_ips_.find(
        hash, [&](uint32_t e) { return nodes[e >> 4].addresses[e & 15] == ip; });
    if (current == IdTable::kEmpty) index_.node_ips_.insert(hash, id << 4 | k, rehash);
  }
}

void IndexBuilder::unindex_node_ips(uint32_t id) {
  const auto& nodes = index_.nodes_;
  const auto& addrs = nodes[id].addresses;
  const auto rehash = [&](uint32_t e) { return IpAddrHash{}(nodes[e >> 4].addresses[e & 15]); };
  for (uint32_t k = 0; k < std::min(addrs.size(), kMaxNodeAddresses); ++k) {
    const uint32_t entry = id << 4 | k;
    index_.node_ips_.erase(IpAddrHash{}(addrs[k]), [&](uint32_t e) { return e == entry; }, rehash);
  }
}

void IndexBuilder::upsert_node(const Node& node) {
  if (node.name.empty()) return;
  const uint32_t id = node_ref(node.name);  // temporary reference: keeps the record alive
  node_gen_[id] = node_generation_;
  std::vector<IpAddr> addresses = node.addresses;
  if (id == index_.this_node_id_) {
    // Addresses found on this host but not in the Node object (docker0, a second NIC) still
    // name this node as a peer.
    for (const IpAddr& ip : extra_node_ips_) {
      if (std::find(addresses.begin(), addresses.end(), ip) == addresses.end()) {
        addresses.push_back(ip);
      }
    }
  }
  const NodeRecord& old = index_.nodes_[id];
  const bool unchanged = old.known && old.addresses == addresses &&
                         index_.text(old.zone_id) == node.zone &&
                         index_.text(old.region_id) == node.region;
  if (!unchanged) {
    if (old.known) unindex_node_ips(id);
    const uint32_t zone = intern(node.zone);
    const uint32_t region = intern(node.region);
    NodeRecord& rec = index_.nodes_.mut(id);
    release(rec.zone_id);
    release(rec.region_id);
    if (!rec.known) ++index_.node_count_;
    rec.known = true;
    rec.zone_id = zone;
    rec.region_id = region;
    rec.addresses = std::move(addresses);
    index_node_ips(id);
    if (id == index_.this_node_id_) local_dirty_ = true;
    dirty_ = true;
  }
  node_unref(id);
}

void IndexBuilder::delete_node(std::string_view name) {
  const auto it = node_ids_.find(std::string(name));
  if (it == node_ids_.end()) return;
  const uint32_t id = it->second;
  if (!index_.nodes_[id].known) return;
  unindex_node_ips(id);
  NodeRecord& rec = index_.nodes_.mut(id);
  release(rec.zone_id);
  release(rec.region_id);
  rec.zone_id = kNone;
  rec.region_id = kNone;
  rec.addresses.clear();
  rec.known = false;
  --index_.node_count_;
  if (id == index_.this_node_id_) local_dirty_ = true;
  dirty_ = true;
  free_node_if_unused(id);
}

void IndexBuilder::begin_resync(Kind kind) {
  if (kind == Kind::kPods) {
    ++pod_generation_;
  } else {
    ++node_generation_;
  }
}

void IndexBuilder::end_resync(Kind kind) {
  if (kind == Kind::kPods) {
    for (uint32_t id = 0; id < index_.pods_.size(); ++id) {
      if (!index_.pods_[id].name.empty() && pod_gen_[id] != pod_generation_) remove_pod(id);
    }
    return;
  }
  std::vector<std::string> gone;
  for (uint32_t id = 0; id < index_.nodes_.size(); ++id) {
    const NodeRecord& rec = index_.nodes_[id];
    if (rec.known && node_gen_[id] != node_generation_) gone.push_back(rec.name);
  }
  for (const auto& name : gone) delete_node(name);
}

void IndexBuilder::rebuild_local_endpoints() {
  std::vector<IpAddr> pod_ips;
  std::vector<IpAddr> node_ips = extra_node_ips_;
  const uint32_t self = index_.this_node_id_;
  if (self != kNone) {
    const NodeRecord& node = index_.nodes_[self];
    if (node.known) node_ips = node.addresses;  // includes extra_node_ips_
    for (size_t id = 0; id < index_.pods_.size(); ++id) {
      const PodRecord& p = index_.pods_[id];
      if (p.name.empty() || p.node_id != self) continue;
      pod_ips.insert(pod_ips.end(), p.ips.begin(), p.ips.begin() + p.ip_count);
    }
  }
  index_.local_ = std::make_shared<const LocalEndpoints>(pod_ips, node_ips);
  local_dirty_ = false;
}

std::shared_ptr<const ClusterIndex> IndexBuilder::snapshot() {
  if (local_dirty_) rebuild_local_endpoints();
  dirty_ = false;
  return std::make_shared<const ClusterIndex>(index_);
}

}  // namespace egressd::kube
