// The settings table: one row per setting, read by the flag parser, the environment, the YAML
// file, --help and docs/configuration.md. Each row's apply function validates and assigns.
#include "config/settings.h"

#include <algorithm>
#include <array>
#include <chrono>

#include <fmt/format.h>

#include "egressd/common/ip.h"
#include "egressd/common/kube_names.h"
#include "egressd/common/log.h"
#include "egressd/common/one_line.h"

namespace egressd::config::detail {
namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using std::chrono::seconds;

// Bounds (docs/configuration.md explains each choice).
constexpr milliseconds kMinReadInterval{100};
constexpr milliseconds kMaxReadInterval{3'600'000};
constexpr seconds kMaxSeriesTtl{7 * 24 * 3600};
constexpr uint64_t kMaxMaxFlows = 100'000'000;
constexpr uint64_t kMaxQueueCapacity = 1'048'576;
constexpr uint64_t kMaxReducerShards = 256;
constexpr uint64_t kMinEbpfMapEntries = 1024;
constexpr uint64_t kMaxEbpfMapEntries = 16'777'216;

Status problem(std::string text) {
  return fail(Errc::kInvalidArgument, std::move(text));
}

// Go's strconv.ParseBool, which castai/egressd's flag package uses.
std::optional<bool> parse_bool(std::string_view s) {
  if (s == "1" || s == "t" || s == "T" || s == "true" || s == "TRUE" || s == "True") return true;
  if (s == "0" || s == "f" || s == "F" || s == "false" || s == "FALSE" || s == "False") {
    return false;
  }
  return std::nullopt;
}

// Plain decimal digits only: no sign, no exponent, no separators.
std::optional<uint64_t> parse_uint(std::string_view s) {
  if (s.empty()) return std::nullopt;
  uint64_t v = 0;
  for (const char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    const auto digit = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - digit) / 10) return std::nullopt;
    v = v * 10 + digit;
  }
  return v;
}

Status require_scalar(const RawValue& v) {
  if (v.items) return problem("expected a single value, not a list");
  return {};
}

// A duration in [lo, hi] (`range` says so in words) that is a whole multiple of `Unit`, the
// resolution of the Config field, so that no value is silently truncated.
template <typename Unit>
Result<Unit> bounded_duration(const RawValue& v, Unit lo, Unit hi, std::string_view range,
                              std::string_view unit_word) {
  if (auto s = require_scalar(v); !s) return std::unexpected(std::move(s.error()));
  auto d = parse_duration(v.text);
  if (!d) return fail(Errc::kInvalidArgument, "expected a duration like 5s or 500ms");
  if (*d < lo || *d > hi) return fail(Errc::kInvalidArgument, fmt::format("must be {}", range));
  const auto whole = std::chrono::duration_cast<Unit>(*d);
  if (nanoseconds(whole) != *d) {
    return fail(Errc::kInvalidArgument, fmt::format("expected a whole number of {}", unit_word));
  }
  return whole;
}

Status apply_read_interval(Config& c, const RawValue& v) {
  auto d = bounded_duration(v, kMinReadInterval, kMaxReadInterval, "between 100ms and 1h",
                            "milliseconds");
  if (!d) return std::unexpected(std::move(d.error()));
  c.read_interval = *d;
  return {};
}

Status apply_series_ttl(Config& c, const RawValue& v) {
  auto d = bounded_duration(v, seconds{1}, kMaxSeriesTtl, "between 1s and 168h", "seconds");
  if (!d) return std::unexpected(std::move(d.error()));
  c.metrics_series_ttl = *d;
  return {};
}

Status apply_ct_mode(Config& c, const RawValue& v) {
  if (auto s = require_scalar(v); !s) return s;
  if (v.text == "auto") {
    c.ct_mode = CtMode::kAuto;
  } else if (v.text == "netfilter") {
    c.ct_mode = CtMode::kNetfilter;
  } else if (v.text == "ebpf") {
    c.ct_mode = CtMode::kEbpf;
  } else if (v.text == "cilium") {
    c.ct_mode = CtMode::kCilium;
  } else {
    return problem("expected one of: auto, netfilter, ebpf, cilium");
  }
  return {};
}

std::vector<std::string> split_list(std::string_view text) {
  std::vector<std::string> out;
  while (true) {
    const size_t comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (!item.empty()) out.emplace_back(item);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

Status apply_exclude_namespaces(Config& c, const RawValue& v) {
  std::vector<std::string> items = v.items ? *v.items : split_list(v.text);
  for (const auto& ns : items) {
    if (!kube::is_dns_label(ns)) {
      return problem(fmt::format(
          "{} is not a namespace name (lowercase letters, digits and '-', at most 63)", quote(ns)));
    }
  }
  std::sort(items.begin(), items.end());
  items.erase(std::unique(items.begin(), items.end()), items.end());
  c.exclude_namespaces = std::move(items);
  return {};
}

Status apply_bool(bool& field, const RawValue& v) {
  if (auto s = require_scalar(v); !s) return s;
  const auto b = parse_bool(v.text);
  if (!b) return problem("expected true or false");
  field = *b;
  return {};
}

Status apply_group_public_ips(Config& c, const RawValue& v) {
  return apply_bool(c.group_public_ips, v);
}

Status apply_conntrack_accounting(Config& c, const RawValue& v) {
  return apply_bool(c.enable_conntrack_accounting, v);
}

Status apply_log_level(Config& c, const RawValue& v) {
  if (auto s = require_scalar(v); !s) return s;
  if (!log::parse_level(v.text)) return problem("expected one of: trace, debug, info, warn, error");
  c.log_level = v.text;
  return {};
}

Status apply_port(Config& c, const RawValue& v) {
  if (auto s = require_scalar(v); !s) return s;
  const auto n = parse_uint(v.text);
  if (!n || *n > 65535) return problem("expected a port number from 0 to 65535");
  c.http_listen_port = static_cast<uint16_t>(*n);
  return {};
}

Status apply_listen_address(Config& c, const RawValue& v) {
  if (auto s = require_scalar(v); !s) return s;
  if (!IpAddr::parse(v.text)) {
    return problem("expected an IP address literal like 0.0.0.0, 127.0.0.1 or ::");
  }
  c.http_listen_address = v.text;
  return {};
}

// Checked for existence after all sources are merged (a relative path from the config file is
// resolved against the file's directory first).
Status apply_inventory(Config& c, const RawValue& v) {
  if (auto s = require_scalar(v); !s) return s;
  c.inventory_path = v.text;
  return {};
}

// Node names are DNS subdomains in Kubernetes; a hand-written inventory may be looser, so only
// what can never match an object name is refused.
Status apply_node_name(Config& c, const RawValue& v) {
  if (auto s = require_scalar(v); !s) return s;
  if (v.text.empty() || v.text.size() > 253) return problem("expected 1 to 253 characters");
  for (const char ch : v.text) {
    const auto u = static_cast<unsigned char>(ch);
    if (u <= 0x20 || u == 0x7f || ch == '/') {
      return problem("must not contain spaces, control characters or '/'");
    }
  }
  c.node_name = v.text;
  return {};
}

Status apply_count(uint64_t& field, const RawValue& v, uint64_t max) {
  if (auto s = require_scalar(v); !s) return s;
  const auto n = parse_uint(v.text);
  if (!n || *n == 0 || *n > max) {
    return problem(fmt::format("expected a whole number from 1 to {}", max));
  }
  field = *n;
  return {};
}

Status apply_max_flows(Config& c, const RawValue& v) {
  return apply_count(c.max_flows, v, kMaxMaxFlows);
}

Status apply_queue_capacity(Config& c, const RawValue& v) {
  return apply_count(c.queue_capacity, v, kMaxQueueCapacity);
}

// 0 asks the reducer for one shard per CPU the process may use (affinity and cgroup quota).
Status apply_reducer_shards(Config& c, const RawValue& v) {
  if (auto s = require_scalar(v); !s) return s;
  const auto n = parse_uint(v.text);
  if (!n || *n > kMaxReducerShards) {
    return problem(
        fmt::format("expected 0 (one per CPU) or a whole number up to {}", kMaxReducerShards));
  }
  c.reducer_shards = *n;
  return {};
}

Status apply_ebpf_map_entries(Config& c, const RawValue& v) {
  if (auto s = require_scalar(v); !s) return s;
  const auto n = parse_uint(v.text);
  if (!n || *n < kMinEbpfMapEntries || *n > kMaxEbpfMapEntries) {
    return problem(fmt::format("expected a whole number from {} to {}", kMinEbpfMapEntries,
                               kMaxEbpfMapEntries));
  }
  c.ebpf_map_entries = *n;
  return {};
}

// Settings of the Cilium source (docs/cilium.md). The version is checked for syntax here; which
// versions have a known layout is the Cilium module's knowledge, checked when the source opens.
Status apply_bpf_root(Config& c, const RawValue& v) {
  if (auto s = require_scalar(v); !s) return s;
  if (v.text.empty() || v.text.front() != '/') return problem("expected an absolute path");
  c.bpf_root = v.text;
  return {};
}

Status apply_netfilter_sysctl_dir(Config& c, const RawValue& v) {
  if (auto s = require_scalar(v); !s) return s;
  if (v.text.empty() || v.text.front() != '/') return problem("expected an absolute path");
  c.netfilter_sysctl_dir = v.text;
  return {};
}

Status apply_cilium_version(Config& c, const RawValue& v) {
  if (auto s = require_scalar(v); !s) return s;
  std::string_view t = v.text;
  if (!t.empty() && t.front() == 'v') t.remove_prefix(1);
  const size_t dot = t.find('.');
  const auto digits = [](std::string_view d) {
    return !d.empty() && d.size() <= 4 &&
           std::all_of(d.begin(), d.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
  };
  const std::string_view rest = dot == std::string_view::npos ? "" : t.substr(dot + 1);
  const size_t end = rest.find_first_of(".-+");
  if (dot == std::string_view::npos || !digits(t.substr(0, dot)) || !digits(rest.substr(0, end))) {
    return problem("expected a Cilium version like 1.16 or v1.16.3");
  }
  c.cilium_version = v.text;
  return {};
}

Status apply_cilium_layout(Config& c, const RawValue& v) {
  if (auto s = require_scalar(v); !s) return s;
  if (v.text.size() == 1) {
    switch (v.text[0]) {
      case 'A':
      case 'a': c.cilium_layout = CiliumLayout::kA; return {};
      case 'B':
      case 'b': c.cilium_layout = CiliumLayout::kB; return {};
      case 'C':
      case 'c': c.cilium_layout = CiliumLayout::kC; return {};
      case 'D':
      case 'd': c.cilium_layout = CiliumLayout::kD; return {};
      default: break;
    }
  }
  return problem("expected one of: A, B, C, D");
}

Status apply_cilium_clock(Config& c, const RawValue& v) {
  if (auto s = require_scalar(v); !s) return s;
  if (v.text == "auto") {
    c.cilium_clock = CiliumClock::kAuto;
  } else if (v.text == "ktime") {
    c.cilium_clock = CiliumClock::kKtime;
  } else if (v.text == "jiffies") {
    c.cilium_clock = CiliumClock::kJiffies;
  } else {
    return problem("expected one of: auto, ktime, jiffies");
  }
  return {};
}

// Checked for existence after all sources are merged, like --inventory (docs/kubernetes.md).
Status apply_kubeconfig(Config& c, const RawValue& v) {
  if (auto s = require_scalar(v); !s) return s;
  c.kubeconfig_path = v.text;
  return {};
}

Status apply_workload_labels(Config& c, const RawValue& v) {
  return apply_bool(c.workload_labels, v);
}

Status apply_kube_watch_list(Config& c, const RawValue& v) {
  return apply_bool(c.kube_watch_list, v);
}

// The DNS tracer (docs/dns.md). TTL clamps are whole seconds; --dns-min-ttl <= --dns-max-ttl is
// checked once all sources are merged.
constexpr seconds kMaxDnsTtl{7 * 24 * 3600};
constexpr uint64_t kMaxDnsCacheSize = 16'777'216;

Status apply_dns_tracer(Config& c, const RawValue& v) {
  return apply_bool(c.ebpf_dns_tracer_enabled, v);
}

Status apply_dns_cgroup_path(Config& c, const RawValue& v) {
  if (auto s = require_scalar(v); !s) return s;
  if (v.text.empty() || v.text.front() != '/') return problem("expected an absolute path");
  c.dns_cgroup_path = v.text;
  return {};
}

Status apply_dns_port(Config& c, const RawValue& v) {
  if (auto s = require_scalar(v); !s) return s;
  const auto n = parse_uint(v.text);
  if (!n || *n == 0 || *n > 65535) return problem("expected a port number from 1 to 65535");
  c.dns_port = static_cast<uint16_t>(*n);
  return {};
}

Status apply_dns_min_ttl(Config& c, const RawValue& v) {
  auto d = bounded_duration(v, seconds{0}, kMaxDnsTtl, "between 0s and 168h", "seconds");
  if (!d) return std::unexpected(std::move(d.error()));
  c.dns_min_ttl = *d;
  return {};
}

Status apply_dns_max_ttl(Config& c, const RawValue& v) {
  auto d = bounded_duration(v, seconds{1}, kMaxDnsTtl, "between 1s and 168h", "seconds");
  if (!d) return std::unexpected(std::move(d.error()));
  c.dns_max_ttl = *d;
  return {};
}

Status apply_dns_cache_size(Config& c, const RawValue& v) {
  return apply_count(c.dns_cache_size, v, kMaxDnsCacheSize);
}

Status apply_config(Config& c, const RawValue& v) {
  if (auto s = require_scalar(v); !s) return s;
  c.config_file = v.text;
  return {};
}

// The order here is the order of --help and docs/configuration.md.
const std::array<Setting, 30> kTable{{
    {{"read-interval", "EGRESSD_READ_INTERVAL", "DURATION", "5s",
      "interval between two reads of the flow sources (100ms to 1h)"},
     apply_read_interval},
    {{"ct-mode", "EGRESSD_CT_MODE", "MODE", "auto",
      "flow source: auto (best available), ebpf (in-kernel flow counters), netfilter (kernel "
      "conntrack over netlink) or cilium (Cilium's conntrack maps)"},
     apply_ct_mode},
    {{"exclude-namespaces", "EGRESSD_EXCLUDE_NAMESPACES", "LIST", "kube-system",
      "comma-separated namespaces whose pods are not reported"},
     apply_exclude_namespaces},
    {{"group-public-ips", "EGRESSD_GROUP_PUBLIC_IPS", "BOOL", "false",
      "report every public destination IP as 0.0.0.0 to bound cardinality"},
     apply_group_public_ips,
     true},
    {{"log-level", "EGRESSD_LOG_LEVEL", "LEVEL", "info", "trace, debug, info, warn or error"},
     apply_log_level},
    {{"http-listen-port", "EGRESSD_HTTP_LISTEN_PORT", "PORT", "6061",
      "port of /metrics and /healthz (0: any free port)"},
     apply_port},
    {{"http-listen-address", "EGRESSD_HTTP_LISTEN_ADDRESS", "ADDRESS", "0.0.0.0",
      "IPv4 or IPv6 address literal the HTTP server binds"},
     apply_listen_address},
    {{"inventory", "EGRESSD_INVENTORY", "FILE", "",
      "standalone mode: Kubernetes List of Pods and Nodes in JSON (docs/inventory.md)"},
     apply_inventory},
    {{"node-name", "EGRESSD_NODE_NAME", "NAME", "",
      "this node's name (else env NODE_NAME, else the host name)"},
     apply_node_name},
    {{"metrics-series-ttl", "EGRESSD_METRICS_SERIES_TTL", "DURATION", "10m",
      "drop a metric series idle this long (longer than --read-interval, at most 168h)"},
     apply_series_ttl},
    {{"max-flows", "EGRESSD_MAX_FLOWS", "COUNT", "1000000",
      "most flow keys per interval; more fold into one key per local endpoint (counted)"},
     apply_max_flows},
    {{"queue-capacity", "EGRESSD_QUEUE_CAPACITY", "COUNT", "1024",
      "record batches queued between sources and reducer; more are dropped and counted"},
     apply_queue_capacity},
    {{"reducer-shards", "EGRESSD_REDUCER_SHARDS", "COUNT", "0",
      "slices of the flow keys reduced in parallel, 1 to 256 (0: one per CPU available)"},
     apply_reducer_shards},
    {{"ebpf-map-entries", "EGRESSD_EBPF_MAP_ENTRIES", "COUNT", "65536",
      "flow keys the eBPF source counts per read interval; more go through an overflow ring"},
     apply_ebpf_map_entries},
    {{"enable-conntrack-accounting", "EGRESSD_ENABLE_CONNTRACK_ACCOUNTING", "BOOL", "true",
      "set net.netfilter.nf_conntrack_acct=1 at start (needs CAP_NET_ADMIN)"},
     apply_conntrack_accounting,
     true},
    {{"netfilter-sysctl-dir", "EGRESSD_NETFILTER_SYSCTL_DIR", "PATH", "/proc/sys/net/netfilter",
      "directory of nf_conntrack_acct that init writes (a container's /proc/sys is read-only: "
      "mount the host's elsewhere)"},
     apply_netfilter_sysctl_dir},
    {{"bpf-root", "EGRESSD_BPF_ROOT", "PATH", "",
      "bpffs holding Cilium's pins (default: /sys/fs/bpf, then /run/cilium/bpffs)"},
     apply_bpf_root},
    {{"cilium-version", "EGRESSD_CILIUM_VERSION", "VERSION", "",
      "Cilium version (1.11 to 1.19): picks the conntrack layout when the maps have no BTF"},
     apply_cilium_version},
    {{"cilium-layout", "EGRESSD_CILIUM_LAYOUT", "LAYOUT", "",
      "Cilium conntrack value layout A, B, C or D (docs/cilium.md), instead of --cilium-version"},
     apply_cilium_layout},
    {{"cilium-clock", "EGRESSD_CILIUM_CLOCK", "CLOCK", "auto",
      "clock of Cilium entry lifetimes: auto, ktime or jiffies"},
     apply_cilium_clock},
    {{"kubeconfig", "EGRESSD_KUBECONFIG", "FILE", "",
      "watch the API server of this kubeconfig (default: in-cluster service account)"},
     apply_kubeconfig},
    {{"workload-labels", "EGRESSD_WORKLOAD_LABELS", "BOOL", "false",
      "add src_workload and dst_workload labels (deployment/web); more series"},
     apply_workload_labels,
     true},
    {{"kube-watch-list", "EGRESSD_KUBE_WATCH_LIST", "BOOL", "false",
      "initial sync as one streaming watch (sendInitialEvents); pages where unsupported"},
     apply_kube_watch_list,
     true},
    {{"ebpf-dns-tracer-enabled", "EGRESSD_EBPF_DNS_TRACER_ENABLED", "BOOL", "true",
      "name external peers (dst_dns_name) from the DNS responses pods receive (eBPF; skipped "
      "with a log line where the kernel cannot)"},
     apply_dns_tracer,
     true},
    {{"dns-port", "EGRESSD_DNS_PORT", "PORT", "53", "port DNS responses come from"},
     apply_dns_port},
    {{"dns-cgroup-path", "EGRESSD_DNS_CGROUP_PATH", "PATH", "",
      "cgroup v2 directory whose sockets the DNS tracer watches (default: the root of the "
      "hierarchy this process sees; in a container, mount the host's and name it)"},
     apply_dns_cgroup_path},
    {{"dns-min-ttl", "EGRESSD_DNS_MIN_TTL", "DURATION", "1m",
      "keep a DNS name at least this long, and while its flow has traffic"},
     apply_dns_min_ttl},
    {{"dns-max-ttl", "EGRESSD_DNS_MAX_TTL", "DURATION", "1h",
      "forget a DNS name after at most this long, whatever its TTL (at most 168h)"},
     apply_dns_max_ttl},
    {{"dns-cache-size", "EGRESSD_DNS_CACHE_SIZE", "COUNT", "65536",
      "most (pod, address) -> name entries; the least recently used makes room (counted)"},
     apply_dns_cache_size},
    {{"config", "EGRESSD_CONFIG", "FILE", "", "YAML file of settings (keys are flag names)"},
     apply_config,
     false,
     false},
}};

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0U : 1U)});
      diag = up;
    }
  }
  return row[b.size()];
}

}  // namespace

std::string Origin::describe() const {
  switch (kind) {
    case Kind::kDefault: return "default";
    case Kind::kFlag: return "flag";
    case Kind::kEnv: return "env " + name;
    case Kind::kFile:
      return line > 0 ? fmt::format("file {}:{}", name, line) : fmt::format("file {}", name);
  }
  return "unknown";
}

std::string quote(std::string_view value) {
  return quote_one_line(value, 80);
}

std::string RawValue::shown() const {
  if (!items) return quote(text);
  std::string out = "[";
  for (size_t i = 0; i < items->size(); ++i) {
    if (i > 0) out += ", ";
    out += quote((*items)[i]);
  }
  return out + "]";
}

std::span<const Setting> table() {
  return kTable;
}

std::optional<size_t> find_setting(std::string_view name) {
  for (size_t i = 0; i < kTable.size(); ++i) {
    if (kTable[i].info.name == name) return i;
  }
  return std::nullopt;
}

std::optional<std::string_view> suggest(std::string_view name) {
  std::optional<std::string_view> best;
  size_t best_distance = 3;
  for (const auto& s : kTable) {
    const size_t d = edit_distance(name, s.info.name);
    if (d < best_distance) {
      best_distance = d;
      best = s.info.name;
    }
  }
  return best;
}

}  // namespace egressd::config::detail

namespace egressd::config {

std::span<const SettingInfo> settings() {
  static const std::vector<SettingInfo> kInfos = [] {
    std::vector<SettingInfo> out;
    for (const auto& s : detail::table()) out.push_back(s.info);
    return out;
  }();
  return kInfos;
}

std::string_view ct_mode_name(CtMode mode) noexcept {
  switch (mode) {
    case CtMode::kAuto: return "auto";
    case CtMode::kNetfilter: return "netfilter";
    case CtMode::kEbpf: return "ebpf";
    case CtMode::kCilium: return "cilium";
  }
  return "unknown";
}

}  // namespace egressd::config
