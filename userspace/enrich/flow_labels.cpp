#include "enrich/flow_labels.h"

#include <functional>

namespace egressd::enrich {

size_t FlowLabelsHash::operator()(const FlowLabels& l) const noexcept {
  size_t h = 0xcbf29ce484222325ULL;
  l.for_each([&](std::string_view /*name*/, const std::string& v) {
    h ^= std::hash<std::string>{}(v) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
  });
  return h;
}

std::string proto_name(uint8_t proto) {
  switch (proto) {
    case 0: return "ANY";
    case 1: return "ICMP";
    case 6: return "TCP";
    case 17: return "UDP";
    case 58: return "ICMPv6";
    default: return std::to_string(proto);
  }
}

}  // namespace egressd::enrich
