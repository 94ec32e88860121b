// The syntax Kubernetes allows for the names and label values egressd reads from the API server
// or an inventory file (k8s.io/apimachinery/pkg/util/validation): what does not match was not
// written by Kubernetes, and egressd refuses it rather than putting a NUL, a newline or a control
// character into a metric label or a log line.
#pragma once

#include <string_view>

namespace egressd::kube {

// RFC 1123 label: [a-z0-9]([-a-z0-9]*[a-z0-9])?, at most 63 (namespace names).
[[nodiscard]] bool is_dns_label(std::string_view s) noexcept;
// RFC 1123 subdomain: dot-separated parts of the label syntax (no per-part cap), at most 253 in
// all (pod, node, owner names).
[[nodiscard]] bool is_dns_subdomain(std::string_view s) noexcept;
// A label value: empty, or at most 63 of [-_.a-zA-Z0-9] starting and ending alphanumeric (zones).
[[nodiscard]] bool is_label_value(std::string_view s) noexcept;
// A kind ("ReplicaSet"): a letter then letters and digits, at most 63.
[[nodiscard]] bool is_kind(std::string_view s) noexcept;

}  // namespace egressd::kube
