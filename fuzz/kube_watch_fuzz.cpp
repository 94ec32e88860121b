// Fuzzes the list+watch wire formats: arbitrary bytes as a watch stream (split into lines, each
// parsed as a watch event, as the reflector does) and as one list page, for pods and nodes. Every
// valid object is applied to an IndexBuilder and its invariants are checked. Besides crashes and
// sanitizer reports it traps on an error message spanning lines, or an indexed pod IP that the
// published snapshot cannot find.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "kube/index_builder.h"
#include "kube/watch_event.h"

namespace {

using namespace egressd::kube;

void check_one_line(const egressd::Error& e) {
  if (e.message().find('\n') != std::string::npos) __builtin_trap();
}

void apply(IndexBuilder& b, const WatchEvent& ev) {
  if (const Pod* pod = std::get_if<Pod>(&ev.object)) {
    if (ev.type == WatchType::kDeleted) {
      b.delete_pod(pod->namespace_name, pod->name);
      return;
    }
    b.upsert_pod(*pod);
    const auto snap = b.snapshot();
    const bool live = !pod->is_terminal() && !pod->host_network && !pod->name.empty();
    // Some live claimant owns each of the first two addresses (the API allows one per family).
    for (size_t k = 0; live && k < pod->ips.size() && k < 2; ++k) {
      if (!snap->pod_by_ip(pod->ips[k])) __builtin_trap();
    }
  } else if (const Node* node = std::get_if<Node>(&ev.object)) {
    if (ev.type == WatchType::kDeleted) {
      b.delete_node(node->name);
    } else {
      b.upsert_node(*node);
      if (!node->name.empty() && !b.snapshot()->node_by_name(node->name)) __builtin_trap();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  for (const ObjectKind kind : {ObjectKind::kPod, ObjectKind::kNode}) {
    IndexBuilder builder("node-a", {egressd::IpAddr::v4(0x7f000001)});
    WatchParser parser(kind);
    size_t start = 0;
    while (start <= input.size()) {
      size_t nl = input.find('\n', start);
      if (nl == std::string_view::npos) nl = input.size();
      const auto ev = parser.parse(input.substr(start, nl - start));
      if (ev) {
        apply(builder, *ev);
      } else {
        check_one_line(ev.error());
      }
      start = nl + 1;
    }
    simdjson::dom::parser page_parser;
    const auto page = parse_list_page(
        page_parser, input, kind, [&](Pod&& p) { builder.upsert_pod(p); },
        [&](Node&& n) { builder.upsert_node(n); }, check_one_line);
    if (!page) check_one_line(page.error());
    (void)builder.snapshot()->local_endpoints();
  }
  return 0;
}
