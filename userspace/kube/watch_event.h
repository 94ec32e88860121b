// The wire formats of list+watch, parsed without any I/O so they can be fuzzed
// (fuzz/kube_watch_fuzz.cpp): one line of a watch stream, and one page of a paginated list.
//
// A watch response is a stream of JSON objects, one per line: {"type": "ADDED" | "MODIFIED" |
// "DELETED" | "BOOKMARK" | "ERROR", "object": {...}} (Kubernetes API concepts, "Efficient
// detection of changes"). BOOKMARK objects carry only metadata.resourceVersion; ERROR objects are
// a metav1.Status whose `code` 410 means the resourceVersion is too old and the client must list
// again. A list page is a PodList/NodeList with metadata.resourceVersion and, when more pages
// follow, metadata.continue ("Retrieving large results sets in chunks").
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <variant>

#include "egressd/common/error.h"
#include "kube/model.h"
#include "kube/object_json.h"

namespace egressd::kube {

enum class WatchType { kAdded, kModified, kDeleted, kBookmark, kError };

struct WatchEvent {
  WatchType type = WatchType::kAdded;
  std::string resource_version;  // the object's (or the bookmark's) metadata.resourceVersion
  std::variant<std::monostate, Pod, Node> object;  // ADDED/MODIFIED/DELETED of the expected kind
  // BOOKMARK with the annotation "k8s.io/initial-events-end": "true": a watch with
  // sendInitialEvents=true has sent every existing object (KEP-3157, "watch-list").
  bool initial_events_end = false;
  // ERROR: the Status fields. code 410 with reason "Expired" or "Gone": list again.
  int64_t code = 0;
  std::string reason;
  std::string message;
};

class WatchParser {
 public:
  // `kind` is what the stream watches (pods or nodes): objects of another kind are an error.
  explicit WatchParser(ObjectKind kind) : kind_(kind) {}

  // One line of the stream (without the newline). Errors are Errc::kParse, one line, naming
  // the event type and the object when known: malformed JSON, an unknown type, an object of the
  // wrong kind or with invalid fields.
  [[nodiscard]] Result<WatchEvent> parse(std::string_view line);

  // Frees the parser's buffers (they grow to the largest document parsed).
  void release() { parser_ = simdjson::dom::parser{}; }

 private:
  ObjectKind kind_;
  simdjson::dom::parser parser_;
};

struct ListPage {
  std::string resource_version;
  std::string continue_token;  // empty on the last page
  size_t items = 0;
  size_t invalid_items = 0;  // items that failed validation (skipped, reported to on_error)
};

// Parses a PodList/NodeList page with `parser` and calls on_pod/on_node per valid item. An item
// that is not a valid object of the expected kind is skipped and passed to on_error: one bad
// object must not stop a 100k-pod sync. A malformed document or wrong list kind is an error.
// `readable`: bytes that may be read from json.data(); at least json.size() + SIMDJSON_PADDING
// lets simdjson parse in place instead of copying the page into a fresh padded buffer.
[[nodiscard]] Result<ListPage> parse_list_page(simdjson::dom::parser& parser, std::string_view json,
                                               ObjectKind kind,
                                               const std::function<void(Pod&&)>& on_pod,
                                               const std::function<void(Node&&)>& on_node,
                                               const std::function<void(const Error&)>& on_error,
                                               size_t readable = 0);

}  // namespace egressd::kube
