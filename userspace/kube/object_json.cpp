#include "kube/object_json.h"

#include <algorithm>
#include <cstdint>
#include <string>

#include <fmt/format.h>

#include "egressd/common/kube_names.h"
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
  if (!is_dns_subdomain(*n)) {
    r.invalid(JsonPath{"metadata"}, "name", fmt::format("not a Kubernetes name: {}", quote(*n)));
    return std::nullopt;
  }
  name = *n;
  return meta;
}

// A name read from an optional field, checked with `valid`; records why when it does not pass.
std::string_view checked(JsonReader& r, std::optional<std::string_view> text,
                         bool (*valid)(std::string_view) noexcept, const JsonPath& at,
                         std::string_view key, std::string_view what) {
  if (!text || text->empty()) return {};
  if (!valid(*text)) {
    r.invalid(at, key, fmt::format("not a Kubernetes {}: {}", what, quote(*text)));
    return {};
  }
  return *text;
}

// The label's value, or "" when absent or empty (an empty zone label says nothing).
std::string_view label(JsonReader& r, std::optional<object> labels, std::string_view key) {
  if (!labels) return {};
  return checked(r, r.get_string(*labels, key, JsonPath{"metadata.labels"}), is_label_value,
                 JsonPath{"metadata.labels"}, key, "label value");
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
    if (checked(r, kind, is_kind, at, "kind", "kind").empty() ||
        checked(r, name, is_dns_subdomain, at, "name", "name").empty()) {
      return;
    }
    pod.owner.kind = *kind;
    pod.owner.name = *name;
  }
}

// metav1.Time is serialized as RFC 3339 in UTC with second precision ("2024-05-01T10:00:00Z",
// k8s.io/apimachinery/pkg/apis/meta/v1/time.go); a fraction or a numeric offset is accepted too.
std::optional<int64_t> parse_timestamp(std::string_view t) {
  const auto num = [&](size_t pos, size_t len) -> std::optional<int64_t> {
    if (pos + len > t.size()) return std::nullopt;
    int64_t v = 0;
    for (size_t i = pos; i < pos + len; ++i) {
      if (t[i] < '0' || t[i] > '9') return std::nullopt;
      v = v * 10 + (t[i] - '0');
    }
    return v;
  };
  const auto y = num(0, 4), mo = num(5, 2), d = num(8, 2), h = num(11, 2), mi = num(14, 2),
             s = num(17, 2);
  if (!y || !mo || !d || !h || !mi || !s || t[4] != '-' || t[7] != '-' ||
      (t[10] != 'T' && t[10] != 't') || t[13] != ':' || t[16] != ':' || *mo < 1 || *mo > 12 ||
      *d < 1 || *d > 31 || *h > 23 || *mi > 59 || *s > 60) {
    return std::nullopt;
  }
  size_t pos = 19;
  if (pos < t.size() && t[pos] == '.') {
    ++pos;
    while (pos < t.size() && t[pos] >= '0' && t[pos] <= '9') ++pos;
  }
  int64_t offset = 0;
  if (pos < t.size() && (t[pos] == 'Z' || t[pos] == 'z')) {
    ++pos;
  } else if (pos < t.size() && (t[pos] == '+' || t[pos] == '-')) {
    const auto oh = num(pos + 1, 2), om = num(pos + 4, 2);
    if (!oh || !om || pos + 3 >= t.size() || t[pos + 3] != ':') return std::nullopt;
    offset = (t[pos] == '+' ? 1 : -1) * (*oh * 3600 + *om * 60);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != t.size()) return std::nullopt;
  // Days from the civil date (H. Hinnant, "chrono-Compatible Low-Level Date Algorithms").
  const int64_t yy = *y - (*mo <= 2 ? 1 : 0);
  const int64_t era = yy / 400;
  const int64_t yoe = yy - era * 400;
  const int64_t doy = (153 * (*mo + (*mo > 2 ? -3 : 9)) + 2) / 5 + *d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  const int64_t days = era * 146097 + doe - 719468;
  return days * 86400 + *h * 3600 + *mi * 60 + *s - offset;
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
  pod.namespace_name = checked(r, r.get_string(*meta, "namespace", JsonPath{"metadata"}),
                               is_dns_label, JsonPath{"metadata"}, "namespace", "namespace");
  if (pod.namespace_name.empty() && !r.failed()) pod.namespace_name = "default";
  r.set_object(pod.namespace_name, pod.name);
  pod.uid = r.get_string(*meta, "uid", JsonPath{"metadata"}).value_or(std::string_view{});
  if (const auto created = r.get_string(*meta, "creationTimestamp", JsonPath{"metadata"})) {
    const auto seconds = parse_timestamp(*created);
    if (seconds) {
      pod.created = *seconds;
    } else {
      r.invalid(JsonPath{"metadata"}, "creationTimestamp",
                fmt::format("invalid timestamp {}", quote(*created)));
    }
  }
  const auto labels = r.get_object(*meta, "labels", JsonPath{"metadata"});
  pod.pod_template_hash = label(r, labels, kPodTemplateHash);
  read_owner(r, *meta, pod);

  if (const auto spec = r.get_object(*root, "spec", JsonPath{})) {
    pod.node_name = checked(r, r.get_string(*spec, "nodeName", JsonPath{"spec"}), is_dns_subdomain,
                            JsonPath{"spec"}, "nodeName", "node name");
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
