#include "harness/expectations.h"

#include <array>
#include <cmath>
#include <cstring>
#include <set>

#include <arpa/inet.h>
#include <fmt/format.h>

#include "harness/cluster.h"
#include "harness/inet.h"
#include "harness/util.h"

namespace egressd::testing {
namespace {

// castai/egressd: netaddr.IP.IsPrivate — RFC 1918 and RFC 4193 (fc00::/7).
bool is_private(const std::string& ip) {
  std::array<unsigned char, 16> b{};
  if (family_of(ip) == AF_INET) {
    if (::inet_pton(AF_INET, ip.c_str(), b.data()) != 1) {
      return false;
    }
    return b[0] == 10 || (b[0] == 172 && (b[1] & 0xf0) == 16) || (b[0] == 192 && b[1] == 168);
  }
  if (::inet_pton(AF_INET6, ip.c_str(), b.data()) != 1) {
    return false;
  }
  return (b[0] & 0xfe) == 0xfc;
}

std::map<std::string, std::string> expected_labels(const SeriesKey& key) {
  const auto local = cluster::lookup(key.src_ip).value_or(cluster::EndpointInfo{});
  const auto peer = cluster::lookup(key.dst_ip).value_or(cluster::EndpointInfo{});
  const bool cross_zone =
      !local.zone.empty() && !peer.zone.empty() && local.zone != peer.zone;  // castai's rule
  return {
      {"src_ip", key.src_ip},
      {"src_pod", local.pod},
      {"src_namespace", local.kube_namespace},
      {"src_node", local.node},
      {"src_zone", local.zone},
      {"dst_ip", key.dst_ip},
      {"dst_pod", peer.pod},
      {"dst_namespace", peer.kube_namespace},
      {"dst_node", peer.node},
      {"dst_zone", peer.zone},
      {"dst_ip_type", is_private(key.dst_ip) ? "private" : "public"},
      {"cross_zone", cross_zone ? "true" : "false"},
      {"proto", key.proto},
  };
}

uint64_t exact_count(double v, const Sample& s) {
  if (!(v >= 0) || v != std::floor(v) || v > 9007199254740992.0) {
    throw HarnessError(fmt::format("{}: value {} is not an exact counter", s.name, v));
  }
  return static_cast<uint64_t>(v);
}

std::string counters_text(const SeriesCounters& c) {
  return fmt::format("tx {} B/{} pkt, rx {} B/{} pkt", c.tx_bytes, c.tx_packets, c.rx_bytes,
                     c.rx_packets);
}

std::string key_text(const SeriesKey& k) {
  return fmt::format("{} -> {} {}", k.src_ip, k.dst_ip, k.proto);
}

}  // namespace

const std::vector<std::string>& flow_label_names() {
  static const std::vector<std::string> names = {
      "src_ip",      "src_pod",    "src_namespace", "src_node", "src_zone",
      "dst_ip",      "dst_pod",    "dst_namespace", "dst_node", "dst_zone",
      "dst_ip_type", "cross_zone", "proto"};
  return names;
}

SeriesMap expected_series(const PairCounts& truth) {
  SeriesMap out;
  const auto series_for = [&](const std::string& local, const std::string& peer, uint8_t proto) {
    const SeriesKey key{local, peer, proto_label(proto)};
    auto [it, inserted] = out.try_emplace(key);
    if (inserted) {
      it->second.labels = expected_labels(key);
    }
    return &it->second.counters;
  };
  for (const auto& [pair, count] : truth) {
    if (cluster::is_local(pair.src)) {
      SeriesCounters* c = series_for(pair.src, pair.dst, pair.proto);
      c->tx_bytes += count.bytes;
      c->tx_packets += count.packets;
    }
    if (cluster::is_local(pair.dst)) {
      SeriesCounters* c = series_for(pair.dst, pair.src, pair.proto);
      c->rx_bytes += count.bytes;
      c->rx_packets += count.packets;
    }
  }
  return out;
}

SeriesMap agent_series(const std::vector<Sample>& samples) {
  SeriesMap out;
  for (const auto& s : samples) {
    uint64_t SeriesCounters::* field = nullptr;
    if (s.name == kTxBytes) {
      field = &SeriesCounters::tx_bytes;
    } else if (s.name == kRxBytes) {
      field = &SeriesCounters::rx_bytes;
    } else if (s.name == kTxPackets) {
      field = &SeriesCounters::tx_packets;
    } else if (s.name == kRxPackets) {
      field = &SeriesCounters::rx_packets;
    } else {
      continue;
    }
    const auto label = [&](const char* name) {
      const auto it = s.labels.find(name);
      return it == s.labels.end() ? std::string() : it->second;
    };
    const SeriesKey key{canonical_ip(label("src_ip")), canonical_ip(label("dst_ip")),
                        label("proto")};
    if (is_loopback_ip(key.src_ip) || is_loopback_ip(key.dst_ip)) {
      continue;
    }
    Series& series = out[key];
    series.labels = s.labels;
    series.counters.*field += exact_count(s.value, s);
  }
  return out;
}

std::string counter_diff(const SeriesMap& expected, const SeriesMap& actual) {
  std::string diff;
  std::set<SeriesKey> keys;
  for (const auto& [k, v] : expected) {
    keys.insert(k);
  }
  for (const auto& [k, v] : actual) {
    keys.insert(k);
  }
  for (const auto& k : keys) {
    const auto e = expected.find(k);
    const auto a = actual.find(k);
    if (a == actual.end()) {
      diff +=
          fmt::format("  missing  {}: want {}\n", key_text(k), counters_text(e->second.counters));
    } else if (e == expected.end()) {
      diff +=
          fmt::format("  extra    {}: got {}\n", key_text(k), counters_text(a->second.counters));
    } else if (e->second.counters != a->second.counters) {
      diff += fmt::format("  differs  {}: want {}; got {}\n", key_text(k),
                          counters_text(e->second.counters), counters_text(a->second.counters));
    }
  }
  return diff;
}

std::string label_diff(const SeriesMap& expected, const SeriesMap& actual) {
  std::string diff;
  for (const auto& [k, e] : expected) {
    const auto a = actual.find(k);
    if (a == actual.end()) {
      continue;
    }
    for (const auto& name : flow_label_names()) {
      const auto want = e.labels.find(name);
      const auto got = a->second.labels.find(name);
      if (got == a->second.labels.end()) {
        diff += fmt::format("  {}: label {} missing\n", key_text(k), name);
      } else if (canonical_ip(got->second) != canonical_ip(want->second)) {
        diff += fmt::format("  {}: {}=\"{}\", want \"{}\"\n", key_text(k), name, got->second,
                            want->second);
      }
    }
  }
  return diff;
}

std::string to_string(const SeriesMap& series) {
  std::string s;
  for (const auto& [k, v] : series) {
    s += fmt::format("  {}: {}\n", key_text(k), counters_text(v.counters));
  }
  return s.empty() ? "  (none)\n" : s;
}

}  // namespace egressd::testing
