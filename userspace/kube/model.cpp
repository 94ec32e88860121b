#include "kube/model.h"

#include <cctype>

namespace egressd::kube {

std::string workload_of(const Pod& pod) {
  if (pod.owner.kind.empty()) return {};
  std::string kind = pod.owner.kind;
  std::string_view name = pod.owner.name;
  // The Deployment controller names a ReplicaSet "<deployment>-<pod-template-hash>" and puts the
  // hash on its pods (kubernetes/pkg/controller/deployment/sync.go); a ReplicaSet without that
  // shape was created by hand and is the workload itself.
  if (kind == "ReplicaSet" && !pod.pod_template_hash.empty()) {
    const std::string suffix = "-" + pod.pod_template_hash;
    if (name.size() > suffix.size() && name.ends_with(suffix)) {
      kind = "Deployment";
      name.remove_suffix(suffix.size());
    }
  }
  for (char& c : kind) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  kind += '/';
  kind += name;
  return kind;
}

}  // namespace egressd::kube
