// Pod and Node objects from the JSON the API server returns. One object is parsed on its own so
// that every feed shares this code: the items of a List (inventory file, paginated initial list)
// and the "object" of a watch event. Documents are parsed with simdjson's DOM API
// (docs/inventory.md says why); these functions take an element of an already parsed document.
//
// Only the fields of model.h are read and type-checked. Everything else is skipped: the document
// as a whole is validated by simdjson (well-formed JSON, valid UTF-8), but a field egressd does
// not use may hold anything, as it may in a future API version.
#pragma once

#include <simdjson.h>

#include <optional>
#include <string_view>

#include "egressd/common/error.h"
#include "kube/model.h"

namespace egressd::kube {

enum class ObjectKind { kPod, kNode, kOther };

// The object's "kind": kPod, kNode or kOther (Service, ...). When the field is absent, `implied`
// (items of a PodList or NodeList may omit it); absent with nothing implied is an error.
[[nodiscard]] Result<ObjectKind> object_kind(simdjson::dom::element object,
                                             std::optional<ObjectKind> implied,
                                             std::string_view where);

// `where` names the object in error messages ("items[3]", "watch event"). Errors are
// Errc::kParse: "items[3] (Pod default/web-1): status.podIPs[1].ip: invalid IP address "x"".
// JSON null counts as absent, as in Go's encoding/json that the API server itself uses.
[[nodiscard]] Result<Pod> pod_from_json(simdjson::dom::element object, std::string_view where);
[[nodiscard]] Result<Node> node_from_json(simdjson::dom::element object, std::string_view where);

// A List, PodList or NodeList document: items of kind Pod and Node are parsed, others counted in
// Inventory::skipped_items. One page of a paginated list is such a document too.
[[nodiscard]] Result<Inventory> inventory_from_json(simdjson::dom::element document);

// One document holding one Pod or Node (`kubectl get pod NAME -o json`).
[[nodiscard]] Result<Pod> parse_pod(std::string_view json);
[[nodiscard]] Result<Node> parse_node(std::string_view json);

}  // namespace egressd::kube
