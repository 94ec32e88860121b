#include "harness/conntrack.h"

#include <charconv>
#include <sstream>

#include <fmt/format.h>
#include <netinet/in.h>

#include "harness/inet.h"
#include "harness/process.h"
#include "harness/util.h"

namespace egressd::testing {
namespace {

template <typename T>
T parse_number(std::string_view text, std::string_view what) {
  T v{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size()) {
    throw HarnessError(fmt::format("conntrack output: bad {} '{}'", what, text));
  }
  return v;
}

std::vector<std::string> tuple_args(uint8_t proto, const CtTuple& t) {
  std::vector<std::string> args = {"-p",      std::to_string(proto),
                                   "-s",      t.src,
                                   "-d",      t.dst,
                                   "--sport", std::to_string(t.sport),
                                   "--dport", std::to_string(t.dport)};
  // No -f: conntrack-tools rejects it for -G/-D and infers the family from the addresses.
  return args;
}

}  // namespace

std::vector<CtEntry> parse_conntrack_extended(const std::string& text) {
  // ipv4 2 tcp 6 118 TIME_WAIT src=A dst=B sport=1 dport=2 packets=3 bytes=4 src=B dst=A ...
  std::vector<CtEntry> entries;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream words(line);
    std::vector<std::string> w;
    for (std::string word; words >> word;) {
      w.push_back(word);
    }
    if (w.size() < 6) {
      continue;
    }
    CtEntry e;
    e.line = line;
    e.family = w[0];
    e.proto = parse_number<uint8_t>(w[3], "protocol");
    int tuple = -1;  // 0: original direction, 1: reply direction
    for (size_t i = 5; i < w.size(); ++i) {
      const size_t eq = w[i].find('=');
      if (eq == std::string::npos) {
        if (i == 5 && w[i].front() != '[') {
          e.state = w[i];
        }
        continue;
      }
      const std::string key = w[i].substr(0, eq);
      const std::string value = w[i].substr(eq + 1);
      if (key == "src") {
        ++tuple;
      }
      if (tuple < 0 || tuple > 1) {
        continue;
      }
      CtTuple& t = tuple == 0 ? e.orig : e.reply;
      PacketCount& c = tuple == 0 ? e.orig_count : e.reply_count;
      if (key == "src") {
        t.src = canonical_ip(value);
      } else if (key == "dst") {
        t.dst = canonical_ip(value);
      } else if (key == "sport") {
        t.sport = parse_number<uint16_t>(value, "sport");
      } else if (key == "dport") {
        t.dport = parse_number<uint16_t>(value, "dport");
      } else if (key == "packets") {
        c.packets = parse_number<uint64_t>(value, "packets");
        e.has_counters = true;
      } else if (key == "bytes") {
        c.bytes = parse_number<uint64_t>(value, "bytes");
      }
    }
    entries.push_back(std::move(e));
  }
  return entries;
}

std::vector<CtEntry> conntrack_list(const std::string& netns) {
  return parse_conntrack_extended(
      run_checked({"conntrack", "-L", "-o", "extended"}, in_netns_opts(netns)));
}

PairCounts pairs_from_conntrack(const std::vector<CtEntry>& entries) {
  PairCounts pairs;
  for (const auto& e : entries) {
    pairs[PairKey{e.orig.src, e.reply.src, e.proto}] += e.orig_count;
    pairs[PairKey{e.reply.src, e.orig.src, e.proto}] += e.reply_count;
  }
  return pairs;
}

std::vector<CtEntry> conntrack_get(const std::string& netns, uint8_t proto, const CtTuple& orig) {
  std::vector<std::string> argv = {"conntrack", "-G", "-o", "extended"};
  const auto tuple = tuple_args(proto, orig);
  argv.insert(argv.end(), tuple.begin(), tuple.end());
  const RunResult r = run(argv, in_netns_opts(netns));
  // conntrack -G exits 1 with "0 flow entries" when there is no such entry.
  return r.ok() ? parse_conntrack_extended(r.out) : std::vector<CtEntry>{};
}

void conntrack_delete(const std::string& netns, uint8_t proto, const CtTuple& orig) {
  std::vector<std::string> argv = {"conntrack", "-D"};
  const auto tuple = tuple_args(proto, orig);
  argv.insert(argv.end(), tuple.begin(), tuple.end());
  const RunResult r = run(argv, in_netns_opts(netns));
  if (!r.ok() || r.err.find(" 1 flow entries have been deleted") == std::string::npos) {
    throw HarnessError("conntrack delete did not delete exactly one entry: " + r.describe());
  }
}

bool conntrack_wait_state(const std::string& netns, const CtTuple& orig, const std::string& state,
                          std::chrono::milliseconds timeout) {
  return poll_until(
      [&] {
        const auto entries = conntrack_get(netns, IPPROTO_TCP, orig);
        return entries.size() == 1 && entries[0].state == state;
      },
      timeout, 10ms);
}

void conntrack_flush(const std::string& netns) {
  run_checked({"conntrack", "-F"}, in_netns_opts(netns));
}

}  // namespace egressd::testing
