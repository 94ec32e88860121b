#include "egressd/flow.h"

namespace egressd {

std::string_view source_name(SourceKind kind) noexcept {
  switch (kind) {
    case SourceKind::kNetfilter: return "netfilter";
    case SourceKind::kEbpf: return "ebpf";
    case SourceKind::kCilium: return "cilium";
  }
  return "unknown";
}

}  // namespace egressd
