#include "harness/ground_truth.h"

#include <simdjson.h>

#include <fmt/format.h>

#include "harness/inet.h"
#include "harness/process.h"
#include "harness/util.h"

namespace egressd::testing {
namespace {

constexpr const char* kTable = "egressd_truth";

std::string_view as_string(simdjson::simdjson_result<simdjson::dom::element> e,
                           std::string_view what) {
  std::string_view s;
  if (e.get_string().get(s) != simdjson::SUCCESS) {
    throw HarnessError(fmt::format("nft json: {} is not a string", what));
  }
  return s;
}

uint64_t as_u64(simdjson::simdjson_result<simdjson::dom::element> e, std::string_view what) {
  uint64_t v = 0;
  if (e.get_uint64().get(v) != simdjson::SUCCESS) {
    throw HarnessError(fmt::format("nft json: {} is not an unsigned integer", what));
  }
  return v;
}

}  // namespace

PairCounts parse_truth_json(const std::string& json) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (const auto err = parser.parse(json).get(doc); err != simdjson::SUCCESS) {
    throw HarnessError(fmt::format("nft json: {}", simdjson::error_message(err)));
  }
  simdjson::dom::array objects;
  if (doc["nftables"].get_array().get(objects) != simdjson::SUCCESS) {
    throw HarnessError("nft json: no nftables array");
  }
  PairCounts pairs;
  for (simdjson::dom::element object : objects) {
    simdjson::dom::array elems;
    // Sets without elements have no "elem" key.
    if (object["set"]["elem"].get_array().get(elems) != simdjson::SUCCESS) {
      continue;
    }
    for (simdjson::dom::element item : elems) {
      simdjson::dom::array concat;
      if (item["elem"]["val"]["concat"].get_array().get(concat) != simdjson::SUCCESS ||
          concat.size() != 3) {
        throw HarnessError("nft json: set element is not a 3-part concatenation");
      }
      PairKey key{canonical_ip(as_string(concat.at(0), "saddr")),
                  canonical_ip(as_string(concat.at(1), "daddr")),
                  static_cast<uint8_t>(as_u64(concat.at(2), "l4proto (run nft with -p)"))};
      const auto counter = item["elem"]["counter"];
      pairs[key] +=
          PacketCount{as_u64(counter["packets"], "packets"), as_u64(counter["bytes"], "bytes")};
    }
  }
  return pairs;
}

PairCounts read_truth(const std::string& node_netns) {
  // -p: protocols as numbers; addresses stay addresses.
  return parse_truth_json(
      run_checked({"nft", "-j", "-p", "list", "table", "inet", kTable}, in_netns_opts(node_netns)));
}

void reset_truth(const std::string& node_netns) {
  run_checked({"nft", "-f", "-"},
              in_netns_opts(node_netns,
                            fmt::format("flush set inet {0} v4\nflush set inet {0} v6\n", kTable)));
}

std::string proto_label(uint8_t proto) {
  switch (proto) {
    case 1: return "ICMP";
    case 6: return "TCP";
    case 17: return "UDP";
    case 58: return "ICMPv6";
    default: return std::to_string(proto);
  }
}

void PrintTo(const PairKey& key, std::ostream* os) {
  *os << key.src << " -> " << key.dst << " " << proto_label(key.proto);
}

void PrintTo(const PacketCount& count, std::ostream* os) {
  *os << count.packets << " packets/" << count.bytes << " bytes";
}

std::string to_string(const PairCounts& pairs) {
  std::string s;
  for (const auto& [k, v] : pairs) {
    s += fmt::format("  {} -> {} {}: {} packets, {} bytes\n", k.src, k.dst, proto_label(k.proto),
                     v.packets, v.bytes);
  }
  return s.empty() ? "  (none)\n" : s;
}

}  // namespace egressd::testing
