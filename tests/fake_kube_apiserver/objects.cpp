#include "objects.h"

#include <fstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace egressd::testing {
namespace {

using nlohmann::json;

enum Slot : int {
  kName,
  kNs,
  kUid,
  kGenName,
  kLabels,
  kOwners,
  kCreated,
  kNode,
  kHostNet,
  kPhase,
  kPodIp,
  kPodIps,
  kAddresses,
  kSlots
};
const char* const kSentinels[kSlots] = {
    "@@NAME@@", "@@NS@@",      "@@UID@@",   "@@GEN@@",   "@@LABELS@@", "@@OWNERS@@", "@@CREATED@@",
    "@@NODE@@", "@@HOSTNET@@", "@@PHASE@@", "@@PODIP@@", "@@PODIPS@@", "@@ADDRS@@"};

json fixture_item(const std::string& name) {
  std::ifstream in(std::string(EGRESSD_SOURCE_DIR) + "/tests/fixtures/inventory/cluster.json");
  const json doc = json::parse(in);
  for (const auto& item : doc["items"]) {
    if (item["metadata"]["name"] == name) return item;
  }
  throw std::runtime_error("fixture item " + name + " not found");
}

json sentinel(Slot s) {
  return kSentinels[s];
}

// Splits the dumped template at each quoted sentinel.
void split(const std::string& text, std::vector<std::string>& parts, std::vector<int>& slots) {
  size_t pos = 0;
  while (true) {
    size_t best = std::string::npos;
    int which = -1;
    for (int s = 0; s < kSlots; ++s) {
      const size_t at = text.find(std::string("\"") + kSentinels[s] + "\"", pos);
      if (at < best) {
        best = at;
        which = s;
      }
    }
    if (which < 0) {
      parts.push_back(text.substr(pos));
      return;
    }
    parts.push_back(text.substr(pos, best - pos));
    slots.push_back(which);
    pos = best + std::char_traits<char>::length(kSentinels[which]) + 2;
  }
}

std::string render(const std::vector<std::string>& parts, const std::vector<int>& slots,
                   const std::string (&values)[kSlots]) {
  std::string out;
  out.reserve(8192);
  for (size_t i = 0; i < slots.size(); ++i) {
    out += parts[i];
    out += values[slots[i]];
  }
  out += parts.back();
  return out;
}

std::string quoted(const std::string& s) {
  return json(s).dump();
}

}  // namespace

ObjectFactory::ObjectFactory() {
  json pod = fixture_item("checkout-5f7d9c8b6d-2xq9w");
  auto& meta = pod["metadata"];
  meta["name"] = sentinel(kName);
  meta["namespace"] = sentinel(kNs);
  meta["uid"] = sentinel(kUid);
  meta["generateName"] = sentinel(kGenName);
  meta["labels"] = sentinel(kLabels);
  meta["ownerReferences"] = sentinel(kOwners);
  meta["creationTimestamp"] = sentinel(kCreated);
  meta["resourceVersion"] = "0";
  pod["spec"]["nodeName"] = sentinel(kNode);
  pod["spec"]["hostNetwork"] = sentinel(kHostNet);
  pod["status"]["phase"] = sentinel(kPhase);
  pod["status"]["podIP"] = sentinel(kPodIp);
  pod["status"]["podIPs"] = sentinel(kPodIps);
  split(pod.dump(), pod_parts_, pod_slots_);

  json node = fixture_item("worker-a");
  node["metadata"]["name"] = sentinel(kName);
  node["metadata"]["labels"] = sentinel(kLabels);
  node["metadata"]["resourceVersion"] = "0";
  node["status"]["addresses"] = sentinel(kAddresses);
  split(node.dump(), node_parts_, node_slots_);
}

std::string ObjectFactory::pod(const PodSpec& spec) const {
  std::string v[kSlots];
  const std::string rs = spec.deployment.empty() ? "" : spec.deployment + "-" + spec.template_hash;
  v[kName] = quoted(spec.name);
  v[kNs] = quoted(spec.namespace_name);
  // A deterministic UUID-shaped uid per namespace/name.
  const size_t h = std::hash<std::string>{}(spec.namespace_name + "/" + spec.name);
  char uid[40];
  std::snprintf(uid, sizeof(uid), "%08zx-%04zx-4%03zx-8%03zx-%012zx", h & 0xffffffff,
                (h >> 32) & 0xffff, (h >> 48) & 0xfff, (h >> 20) & 0xfff, h & 0xffffffffffff);
  v[kUid] = quoted(uid);
  v[kGenName] = quoted(rs.empty() ? spec.name + "-" : rs + "-");
  json labels = {{"app.kubernetes.io/name", spec.deployment.empty() ? spec.name : spec.deployment}};
  if (!rs.empty()) labels["pod-template-hash"] = spec.template_hash;
  v[kLabels] = labels.dump();
  json owners = json::array();
  if (!rs.empty()) {
    owners.push_back({{"apiVersion", "apps/v1"},
                      {"blockOwnerDeletion", true},
                      {"controller", true},
                      {"kind", "ReplicaSet"},
                      {"name", rs},
                      {"uid", "e2b7c4d9-1a3f-4e8b-b6c5-9d0a1f2e3b4c"}});
  }
  v[kOwners] = owners.dump();
  v[kCreated] = quoted(spec.created);
  v[kNode] = quoted(spec.node);
  v[kHostNet] = spec.host_network ? "true" : "false";
  v[kPhase] = quoted(spec.phase);
  v[kPodIp] = quoted(spec.ips.empty() ? "" : spec.ips.front());
  json ips = json::array();
  for (const auto& ip : spec.ips) ips.push_back({{"ip", ip}});
  v[kPodIps] = ips.dump();
  return render(pod_parts_, pod_slots_, v);
}

std::string ObjectFactory::node(const NodeSpec& spec) const {
  std::string v[kSlots];
  v[kName] = quoted(spec.name);
  json labels = {{"kubernetes.io/arch", "amd64"},
                 {"kubernetes.io/hostname", spec.name},
                 {"kubernetes.io/os", "linux"},
                 {"node.kubernetes.io/instance-type", "m6i.xlarge"}};
  if (!spec.zone.empty()) labels["topology.kubernetes.io/zone"] = spec.zone;
  if (!spec.region.empty()) labels["topology.kubernetes.io/region"] = spec.region;
  v[kLabels] = labels.dump();
  json addrs = json::array();
  for (const auto& ip : spec.internal_ips)
    addrs.push_back({{"address", ip}, {"type", "InternalIP"}});
  addrs.push_back({{"address", spec.name}, {"type", "Hostname"}});
  v[kAddresses] = addrs.dump();
  return render(node_parts_, node_slots_, v);
}

}  // namespace egressd::testing
