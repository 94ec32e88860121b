// The node namespace's conntrack table through the `conntrack` tool (conntrack-tools): an
// independent second view of the same flows for the harness self-test, and the way the tests
// delete entries to make the kernel emit DESTROY events with final counters.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "harness/ground_truth.h"

namespace egressd::testing {

struct CtTuple {
  std::string src;
  std::string dst;
  uint16_t sport = 0;
  uint16_t dport = 0;
};

struct CtEntry {
  std::string family;  // "ipv4" / "ipv6"
  uint8_t proto = 0;
  std::string state;  // TCP state ("ESTABLISHED", "TIME_WAIT"), empty for UDP
  CtTuple orig;
  CtTuple reply;
  bool has_counters = false;  // false when accounting was off when the entry was created
  PacketCount orig_count;
  PacketCount reply_count;
  std::string line;  // as printed, for failure messages
};

// `conntrack -L -o extended` (both families).
[[nodiscard]] std::vector<CtEntry> conntrack_list(const std::string& netns);
[[nodiscard]] std::vector<CtEntry> parse_conntrack_extended(const std::string& text);

// The entries' counters as the node's hooks see the packets: the original direction travels
// orig.src -> reply.src (the real destination after DNAT), the reply direction the other way
// (the pod again after the masquerade is undone). Same keys as read_truth().
[[nodiscard]] PairCounts pairs_from_conntrack(const std::vector<CtEntry>& entries);

// The entry whose original tuple is `orig`, if any.
[[nodiscard]] std::vector<CtEntry> conntrack_get(const std::string& netns, uint8_t proto,
                                                 const CtTuple& orig);

// Deletes the entry with this original tuple (the kernel emits DESTROY with its final counters).
// Throws HarnessError unless exactly one entry was deleted.
void conntrack_delete(const std::string& netns, uint8_t proto, const CtTuple& orig);

// Waits until the TCP entry with this original tuple reaches `state` (e.g. "TIME_WAIT": the last
// ACK has passed the node, no packet of the connection is still in flight).
[[nodiscard]] bool conntrack_wait_state(const std::string& netns, const CtTuple& orig,
                                        const std::string& state,
                                        std::chrono::milliseconds timeout);

void conntrack_flush(const std::string& netns);

}  // namespace egressd::testing
