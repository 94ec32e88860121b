#include "kube/object_json.h"

#include <algorithm>
#include <cstdint>
#include <string>

#include <fmt/format.h>

#include "kube/json_reader.h"

namespace egressd::kube {
namespace {

using simdjson::dom::element;
using simdjson::dom::object;

// The API server stores labels as map[string]string; egressd reads only these keys.
constexpr std::string_view kPodTemplateHash = "pod-template-hash";
constexpr std::string_view kZone = "topology.kubernetes.io/zone";
constexpr std::string_view kZoneBeta = "failure-domain.beta.kubernetes.io/zone";
constexpr std::string_view kRegion = "topology.kubernetes.io/region";
constexpr std::string_view kRegionBeta = "failure-domain.beta.kubernetes.io/region";

void add_unique(std::vector<IpAddr>& ips, const IpAddr& ip) {
  if (std::find(ips.begin(), ips.end(), ip) == ips.end()) ips.push_back(ip);
}

// Reads metadata.name (required, non-empty) and returns metadata for the caller's other fields.
std::optional<object> read_metadata(JsonReader& r, object root, std::string& name) {
  const auto meta = r.get_object(root, "metadata", JsonPath{});
  if (!meta) {
    r.missing(JsonPath{}, "metadata");
    return std::nullopt;
  }
  const auto n = r.get_string(*meta, "name", JsonPath{"metadata"});
  if (!n || n->empty()) {
    r.missing(JsonPath{"metadata"}, "name");
    return std::nullopt;
  }
  name = *n;
  return meta;
}

// The label's value, or "" when absent or empty (an empty zone label says nothing).
std::string_view label(JsonReader& r, std::optional<object> labels, std::string_view key) {
  if (!labels) return {};
  return r.get_string(*labels, key, JsonPath{"metadata.labels"}).value_or(std::string_view{});
}

void read_owner(JsonReader& r, object meta, Pod& pod) {
  const auto refs = r.get_array(meta, "ownerReferences", JsonPath{"metadata"});
  if (!refs) return;
  int64_t i = 0;
  for (element item : *refs) {
    const JsonPath at{"metadata.ownerReferences", i++};
    const auto ref = r.as_object(item, at);
    if (!ref) continue;
    // The API allows at most one controller reference; take the first as the workload.
    if (!r.get_bool(*ref, "controller", at).value_or(false) || !pod.owner.kind.empty()) continue;
    const auto kind = r.get_string(*ref, "kind", at);
    const auto name = r.get_string(*ref, "name", at);
    if (!kind || kind->empty()) r.missing(at, "kind");
    if (!name || name->empty()) r.missing(at, "name");
    if (r.failed()) return;
    pod.owner.kind = *kind;
    pod.owner.name = *name;
  }
}

void read_pod_ips(JsonReader& r, object status, Pod& pod) {
  if (const auto ips = r.get_array(status, "podIPs", JsonPath{"status"})) {
    int64_t i = 0;
    for (element item : *ips) {
      const JsonPath at{"status.podIPs", i++};
      const auto entry = r.as_object(item, at);
      if (!entry) continue;
      const auto text = r.get_string(*entry, "ip", at);
      if (!text) {
        r.missing(at, "ip");
        continue;
      }
      if (const auto ip = r.parse_ip(*text, at, "ip")) add_unique(pod.ips, *ip);
    }
  }
  if (!pod.ips.empty()) return;
  // Clusters before dual-stack (Kubernetes < 1.16) only set podIP.
  const auto text = r.get_string(status, "podIP", JsonPath{"status"});
  if (text && !text->empty()) {
    if (const auto ip = r.parse_ip(*text, JsonPath{"status"}, "podIP")) pod.ips.push_back(*ip);
  }
}

}  // namespace

Result<ObjectKind> object_kind(element obj, std::optional<ObjectKind> implied,
                               std::string_view where) {
  JsonReader r(where, "");
  const auto root = r.as_object(obj, JsonPath{});
  if (!root) return std::unexpected(r.take_error());
  const auto kind = r.get_string(*root, "kind", JsonPath{});
  if (r.failed()) return std::unexpected(r.take_error());
  if (!kind || kind->empty()) {
    if (implied) return *implied;
    r.missing(JsonPath{}, "kind");
    return std::unexpected(r.take_error());
  }
  if (*kind == "Pod") return ObjectKind::kPod;
  if (*kind == "Node") return ObjectKind::kNode;
  return ObjectKind::kOther;
}

Result<Pod> pod_from_json(element obj, std::string_view where) {
  JsonReader r(where, "Pod");
  const auto root = r.as_object(obj, JsonPath{});
  if (!root) return std::unexpected(r.take_error());
  Pod pod;
  const auto meta = read_metadata(r, *root, pod.name);
  if (!meta) return std::unexpected(r.take_error());
  // The API server always sets the namespace; a hand-written inventory may omit it, and then it
  // means what it means to kubectl: "default".
  pod.namespace_name =
      r.get_string(*meta, "namespace", JsonPath{"metadata"}).value_or(std::string_view{});
  if (pod.namespace_name.empty()) pod.namespace_name = "default";
  r.set_object(pod.namespace_name, pod.name);
  pod.uid = r.get_string(*meta, "uid", JsonPath{"metadata"}).value_or(std::string_view{});
  const auto labels = r.get_object(*meta, "labels", JsonPath{"metadata"});
  pod.pod_template_hash = label(r, labels, kPodTemplateHash);
  read_owner(r, *meta, pod);

  if (const auto spec = r.get_object(*root, "spec", JsonPath{})) {
    pod.node_name = r.get_string(*spec, "nodeName", JsonPath{"spec"}).value_or(std::string_view{});
    pod.host_network = r.get_bool(*spec, "hostNetwork", JsonPath{"spec"}).value_or(false);
  }
  if (const auto status = r.get_object(*root, "status", JsonPath{})) {
    pod.phase = r.get_string(*status, "phase", JsonPath{"status"}).value_or(std::string_view{});
    read_pod_ips(r, *status, pod);
  }
  if (r.failed()) return std::unexpected(r.take_error());
  return pod;
}

Result<Node> node_from_json(element obj, std::string_view where) {
  JsonReader r(where, "Node");
  const auto root = r.as_object(obj, JsonPath{});
  if (!root) return std::unexpected(r.take_error());
  Node node;
  const auto meta = read_metadata(r, *root, node.name);
  if (!meta) return std::unexpected(r.take_error());
  r.set_object({}, node.name);
  const auto labels = r.get_object(*meta, "labels", JsonPath{"metadata"});
  node.zone = label(r, labels, kZone);
  if (node.zone.empty()) node.zone = label(r, labels, kZoneBeta);
  node.region = label(r, labels, kRegion);
  if (node.region.empty()) node.region = label(r, labels, kRegionBeta);

  const auto status = r.get_object(*root, "status", JsonPath{});
  const auto addresses =
      status ? r.get_array(*status, "addresses", JsonPath{"status"}) : std::nullopt;
  if (addresses) {
    int64_t i = 0;
    for (element item : *addresses) {
      const JsonPath at{"status.addresses", i++};
      const auto entry = r.as_object(item, at);
      if (!entry) continue;
      const auto type = r.get_string(*entry, "type", at);
      // Hostname, InternalDNS and ExternalDNS hold names, not addresses: not indexed.
      if (!type || (*type != "InternalIP" && *type != "ExternalIP")) continue;
      const auto text = r.get_string(*entry, "address", at);
      if (!text) {
        r.missing(at, "address");
        continue;
      }
      if (const auto ip = r.parse_ip(*text, at, "address")) add_unique(node.addresses, *ip);
    }
  }
  if (r.failed()) return std::unexpected(r.take_error());
  return node;
}

Result<Inventory> inventory_from_json(element document) {
  JsonReader r("document", "");
  const auto root = r.as_object(document, JsonPath{});
  if (!root) return std::unexpected(r.take_error());
  const auto kind = r.get_string(*root, "kind", JsonPath{});
  if (r.failed()) return std::unexpected(r.take_error());
  std::optional<ObjectKind> implied;
  if (kind == "PodList") {
    implied = ObjectKind::kPod;
  } else if (kind == "NodeList") {
    implied = ObjectKind::kNode;
  } else if (kind != "List") {
    return fail(Errc::kParse,
                fmt::format("document: kind: expected List, PodList or NodeList, got {}",
                            kind ? quote(*kind) : std::string("nothing")));
  }
  Inventory inv;
  const auto items = r.get_array(*root, "items", JsonPath{});
  if (r.failed()) return std::unexpected(r.take_error());
  if (!items) return inv;  // `"items": null` is how Go encodes an empty list
  size_t index = 0;
  char where[32];
  for (element item : *items) {
    const auto end = fmt::format_to_n(where, sizeof(where) - 1, "items[{}]", index++).out;
    const std::string_view at(where, static_cast<size_t>(end - where));
    const auto item_kind = object_kind(item, implied, at);
    if (!item_kind) return std::unexpected(item_kind.error());
    switch (*item_kind) {
      case ObjectKind::kPod: {
        auto pod = pod_from_json(item, at);
        if (!pod) return std::unexpected(std::move(pod.error()));
        inv.pods.push_back(std::move(*pod));
        break;
      }
      case ObjectKind::kNode: {
        auto node = node_from_json(item, at);
        if (!node) return std::unexpected(std::move(node.error()));
        inv.nodes.push_back(std::move(*node));
        break;
      }
      case ObjectKind::kOther: ++inv.skipped_items; break;
    }
  }
  return inv;
}

namespace {

template <typename T>
Result<T> parse_one(std::string_view json, Result<T> (*from)(element, std::string_view)) {
  if (json.empty()) return fail(Errc::kParse, "malformed JSON: empty document");
  simdjson::dom::parser parser;
  element doc;
  if (const auto err = parser.parse(json.data(), json.size()).get(doc)) {
    return fail(Errc::kParse, fmt::format("malformed JSON: {}", simdjson::error_message(err)));
  }
  return from(doc, "object");
}

}  // namespace

Result<Pod> parse_pod(std::string_view json) {
  return parse_one<Pod>(json, pod_from_json);
}
Result<Node> parse_node(std::string_view json) {
  return parse_one<Node>(json, node_from_json);
}

}  // namespace egressd::kube
