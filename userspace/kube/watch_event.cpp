#include "kube/watch_event.h"

#include <fmt/format.h>

#include "kube/json_reader.h"
#include "kube/object_json.h"

namespace egressd::kube {
namespace {

using simdjson::dom::element;
using simdjson::dom::object;

std::optional<WatchType> watch_type(std::string_view t) {
  if (t == "ADDED") return WatchType::kAdded;
  if (t == "MODIFIED") return WatchType::kModified;
  if (t == "DELETED") return WatchType::kDeleted;
  if (t == "BOOKMARK") return WatchType::kBookmark;
  if (t == "ERROR") return WatchType::kError;
  return std::nullopt;
}

std::string_view kind_name(ObjectKind kind) {
  return kind == ObjectKind::kPod ? "Pod" : "Node";
}

// metadata.resourceVersion of an object, "" when absent.
std::string resource_version(JsonReader& r, object obj) {
  const auto meta = r.get_object(obj, "metadata", JsonPath{});
  if (!meta) return {};
  return std::string(
      r.get_string(*meta, "resourceVersion", JsonPath{"metadata"}).value_or(std::string_view{}));
}

Result<element> parse_document(simdjson::dom::parser& parser, std::string_view json,
                               size_t readable = 0) {
  if (json.empty()) return fail(Errc::kParse, "malformed JSON: empty document");
  element doc;
  // With the padding already there, no copy: at 100k pods a list is ~700 MB of pages, and a
  // fresh padded buffer per page costs a page fault per 4 KiB besides the memcpy.
  const bool copy = readable < json.size() + simdjson::SIMDJSON_PADDING;
  if (const auto err = parser.parse(json.data(), json.size(), copy).get(doc)) {
    return fail(Errc::kParse, fmt::format("malformed JSON: {}", simdjson::error_message(err)));
  }
  return doc;
}

}  // namespace

Result<WatchEvent> WatchParser::parse(std::string_view line) {
  auto doc = parse_document(parser_, line);
  if (!doc) return std::unexpected(std::move(doc.error()).wrap("watch event"));
  JsonReader r("watch event", "");
  const auto root = r.as_object(*doc, JsonPath{});
  if (!root) return std::unexpected(r.take_error());
  const auto type_text = r.get_string(*root, "type", JsonPath{});
  const auto obj = r.get_object(*root, "object", JsonPath{});
  if (r.failed()) return std::unexpected(r.take_error());
  if (!type_text) r.missing(JsonPath{}, "type");
  if (!obj) r.missing(JsonPath{}, "object");
  if (r.failed()) return std::unexpected(r.take_error());
  const auto type = watch_type(*type_text);
  if (!type) {
    return fail(Errc::kParse,
                fmt::format("watch event: type: unknown event type {}", quote(*type_text)));
  }
  WatchEvent ev;
  ev.type = *type;
  ev.resource_version = resource_version(r, *obj);
  if (r.failed()) return std::unexpected(r.take_error());
  if (ev.type == WatchType::kBookmark) {
    // {"metadata":{"resourceVersion":"..","annotations":{"k8s.io/initial-events-end":"true"}}}
    if (const auto meta = r.get_object(*obj, "metadata", JsonPath{"object"})) {
      if (const auto notes = r.get_object(*meta, "annotations", JsonPath{"object.metadata"})) {
        ev.initial_events_end = r.get_string(*notes, "k8s.io/initial-events-end",
                                             JsonPath{"object.metadata.annotations"})
                                    .value_or("") == "true";
      }
    }
    if (r.failed()) return std::unexpected(r.take_error());
    return ev;
  }
  if (ev.type == WatchType::kError) {
    // A metav1.Status: {"kind":"Status","status":"Failure","message":...,"reason":...,"code":410}
    int64_t code = 0;
    if (const auto err = (*obj)["code"].get(code); err && err != simdjson::NO_SUCH_FIELD) {
      return fail(Errc::kParse, "watch event ERROR: object.code: expected an integer");
    }
    ev.code = code;
    ev.reason = std::string(r.get_string(*obj, "reason", JsonPath{"object"}).value_or(""));
    ev.message = std::string(r.get_string(*obj, "message", JsonPath{"object"}).value_or(""));
    if (r.failed()) return std::unexpected(r.take_error());
    return ev;
  }
  const auto where = fmt::format("watch event {}", *type_text);
  element object_element;
  if ((*doc)["object"].get(object_element) != simdjson::SUCCESS) {
    return fail(Errc::kInternal, "watch event: object vanished");
  }
  const auto kind = object_kind(object_element, kind_, where);
  if (!kind) return std::unexpected(kind.error());
  if (*kind != kind_) {
    return fail(Errc::kParse, fmt::format("{}: object: expected a {}", where, kind_name(kind_)));
  }
  if (kind_ == ObjectKind::kPod) {
    auto pod = pod_from_json(object_element, where);
    if (!pod) return std::unexpected(std::move(pod.error()));
    ev.object = std::move(*pod);
  } else {
    auto node = node_from_json(object_element, where);
    if (!node) return std::unexpected(std::move(node.error()));
    ev.object = std::move(*node);
  }
  return ev;
}

Result<ListPage> parse_list_page(simdjson::dom::parser& parser, std::string_view json,
                                 ObjectKind kind, const std::function<void(Pod&&)>& on_pod,
                                 const std::function<void(Node&&)>& on_node,
                                 const std::function<void(const Error&)>& on_error,
                                 size_t readable) {
  auto doc = parse_document(parser, json, readable);
  if (!doc) return std::unexpected(std::move(doc.error()).wrap("list page"));
  JsonReader r("list page", "");
  const auto root = r.as_object(*doc, JsonPath{});
  if (!root) return std::unexpected(r.take_error());
  const auto list_kind = r.get_string(*root, "kind", JsonPath{});
  const std::string_view expected = kind == ObjectKind::kPod ? "PodList" : "NodeList";
  if (r.failed()) return std::unexpected(r.take_error());
  if (list_kind && *list_kind != expected) {
    return fail(Errc::kParse,
                fmt::format("list page: kind: expected {}, got {}", expected, quote(*list_kind)));
  }
  ListPage page;
  if (const auto meta = r.get_object(*root, "metadata", JsonPath{})) {
    page.resource_version = std::string(
        r.get_string(*meta, "resourceVersion", JsonPath{"metadata"}).value_or(std::string_view{}));
    page.continue_token = std::string(
        r.get_string(*meta, "continue", JsonPath{"metadata"}).value_or(std::string_view{}));
  }
  const auto items = r.get_array(*root, "items", JsonPath{});
  if (r.failed()) return std::unexpected(r.take_error());
  if (page.resource_version.empty()) {
    return fail(Errc::kParse, "list page: metadata.resourceVersion: missing");
  }
  if (!items) return page;  // `"items": null` is how Go encodes an empty list
  char where[32];
  for (element item : *items) {
    const auto end = fmt::format_to_n(where, sizeof(where) - 1, "items[{}]", page.items++).out;
    const std::string_view at(where, static_cast<size_t>(end - where));
    const auto item_kind = object_kind(item, kind, at);
    if (!item_kind || *item_kind != kind) {
      ++page.invalid_items;
      on_error(item_kind
                   ? Error(Errc::kParse, fmt::format("{}: expected a {}", at, kind_name(kind)))
                   : item_kind.error());
      continue;
    }
    if (kind == ObjectKind::kPod) {
      auto pod = pod_from_json(item, at);
      if (pod) {
        on_pod(std::move(*pod));
      } else {
        ++page.invalid_items;
        on_error(pod.error());
      }
    } else {
      auto node = node_from_json(item, at);
      if (node) {
        on_node(std::move(*node));
      } else {
        ++page.invalid_items;
        on_error(node.error());
      }
    }
  }
  return page;
}

}  // namespace egressd::kube
