// Standalone inventory: a Kubernetes `List` of Pod and Node objects in JSON, the output of
// `kubectl get pods,nodes -A -o json` (also accepted: PodList, NodeList).
#pragma once

#include <string>
#include <string_view>

#include "egressd/common/error.h"
#include "kube/model.h"

namespace egressd::kube {

// Parses the document. Malformed JSON, a non-List document, or a Pod/Node item without the
// required fields (metadata.name) is an Errc::kParse error naming the item index and field.
[[nodiscard]] Result<Inventory> parse_inventory(std::string_view json);

// Reads and parses the file; Errc::kNotFound / kIo name the path.
[[nodiscard]] Result<Inventory> load_inventory(const std::string& path);

}  // namespace egressd::kube
