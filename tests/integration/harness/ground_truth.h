// Ground truth, independent of the agent: the node namespace's nftables per-pair counters (table
// `egressd_truth`, topology.cpp) read with `nft -j`. A pair is one direction of traffic:
// (source, destination, L4 protocol) as the node's forward/input/output hooks see it, i.e. with
// the service DNAT already applied and the masquerade not yet applied (the real peer and the pod).
#pragma once

#include <compare>
#include <cstdint>
#include <map>
#include <ostream>
#include <string>

namespace egressd::testing {

struct PairKey {
  std::string src;  // canonical text (inet.h canonical_ip)
  std::string dst;
  uint8_t proto = 0;  // IANA protocol number

  friend auto operator<=>(const PairKey&, const PairKey&) = default;
};

struct PacketCount {
  uint64_t packets = 0;
  uint64_t bytes = 0;

  PacketCount& operator+=(const PacketCount& o) noexcept {
    packets += o.packets;
    bytes += o.bytes;
    return *this;
  }
  friend bool operator==(const PacketCount&, const PacketCount&) = default;
};

using PairCounts = std::map<PairKey, PacketCount>;

// All pairs counted in the node namespace since the table was created (or last reset).
[[nodiscard]] PairCounts read_truth(const std::string& node_netns);

// Forgets all pairs (flushes the sets).
void reset_truth(const std::string& node_netns);

// Parses `nft -j -p list table inet egressd_truth` output (exposed for the harness self-test).
[[nodiscard]] PairCounts parse_truth_json(const std::string& json);

// GoogleTest printers, so failed comparisons show addresses instead of bytes.
void PrintTo(const PairKey& key, std::ostream* os);
void PrintTo(const PacketCount& count, std::ostream* os);

[[nodiscard]] std::string proto_label(uint8_t proto);  // "TCP", "UDP", "ICMP", "ICMPv6", "47"
[[nodiscard]] std::string to_string(const PairCounts& pairs);

}  // namespace egressd::testing
