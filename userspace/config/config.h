// egressd's settings: one table of settings feeds command-line flags, environment variables and
// the optional YAML config file (docs/configuration.md).
//
// Precedence, highest first: command-line flag, environment variable (EGRESSD_<NAME>, e.g.
// EGRESSD_READ_INTERVAL; NODE_NAME for the node name), config file (--config FILE or
// EGRESSD_CONFIG; keys are the flag names), built-in default.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "egressd/common/error.h"

namespace egressd::config {

// Flow source selection. New sources (ebpf, cilium) are added here and to the --ct-mode table.
enum class CtMode { kAuto, kNetfilter, kCilium, kEbpf };

// "auto", "netfilter": the --ct-mode spelling, for logs and the exported mode label.
[[nodiscard]] std::string_view ct_mode_name(CtMode mode) noexcept;

// --cilium-layout: Cilium's conntrack value layout (docs/cilium.md), when set. Parsed here, once;
// the Cilium module knows what each layout means and which versions have it.
enum class CiliumLayout : uint8_t { kUnset, kA, kB, kC, kD };
// --cilium-clock: the clock of Cilium's entry lifetimes.
enum class CiliumClock : uint8_t { kAuto, kKtime, kJiffies };

struct Config {
  std::chrono::milliseconds read_interval{5000};  // --read-interval (Go duration: 5s, 500ms)
  CtMode ct_mode = CtMode::kAuto;                 // --ct-mode auto|netfilter
  std::vector<std::string> exclude_namespaces{"kube-system"};  // --exclude-namespaces a,b
  bool group_public_ips = false;                               // --group-public-ips
  std::string log_level = "info";                // --log-level trace|debug|info|warn|error
  uint16_t http_listen_port = 6061;              // --http-listen-port (0: pick a free port)
  std::string http_listen_address = "0.0.0.0";   // --http-listen-address (IPv4/IPv6 literal)
  std::string inventory_path;                    // --inventory FILE (standalone mode)
  std::string node_name;                         // --node-name, else NODE_NAME, else hostname
  std::chrono::seconds metrics_series_ttl{600};  // --metrics-series-ttl: idle series expiry
  uint64_t max_flows = 1'000'000;                // --max-flows: reducer key bound
  uint64_t queue_capacity = 1024;                // --queue-capacity: batches in flight
  uint64_t reducer_shards = 0;                   // --reducer-shards: 0 = one per available CPU
  bool enable_conntrack_accounting = true;       // --enable-conntrack-accounting
  uint64_t ebpf_map_entries = 65536;             // --ebpf-map-entries: eBPF flow keys/interval
  std::string bpf_root;                          // --bpf-root: bpffs holding Cilium's pins
  // --netfilter-sysctl-dir: where `init` (and the agent) write nf_conntrack_acct; a container's
  // /proc/sys is read-only, so the chart mounts the host's directory elsewhere.
  std::string netfilter_sysctl_dir = "/proc/sys/net/netfilter";
  std::string cilium_version;                         // --cilium-version 1.16 (layout without BTF)
  CiliumLayout cilium_layout = CiliumLayout::kUnset;  // --cilium-layout A|B|C|D
  CiliumClock cilium_clock = CiliumClock::kAuto;      // --cilium-clock auto|ktime|jiffies
  std::string kubeconfig_path;                        // --kubeconfig FILE (else in-cluster)
  bool workload_labels = false;                       // --workload-labels: src/dst_workload labels
  bool kube_watch_list = false;                       // --kube-watch-list: sendInitialEvents lists
  bool ebpf_dns_tracer_enabled = true;                // --ebpf-dns-tracer-enabled (docs/dns.md)
  uint16_t dns_port = 53;                             // --dns-port: responses come from this port
  std::string dns_cgroup_path;  // --dns-cgroup-path: cgroup v2 dir to attach to ("": the root)
  std::chrono::seconds dns_min_ttl{60};    // --dns-min-ttl: shortest name lifetime
  std::chrono::seconds dns_max_ttl{3600};  // --dns-max-ttl: longest name lifetime
  uint64_t dns_cache_size = 65536;         // --dns-cache-size: (pod, address) entries
  std::string config_file;                 // --config FILE
};

enum class Command { kRun, kInit, kHelp, kVersion };

struct Invocation {
  Command command = Command::kRun;
  Config config;
};

// The process environment as a map (injected so tests do not touch the real one).
using Environment = std::map<std::string, std::string>;
[[nodiscard]] Environment current_environment();

// `args` are the command-line arguments without the program name (argv[1..argc-1]).
// Parses `egressd [init] [flags]`. Every bad value, unknown flag, unknown YAML key or malformed
// file is an Errc::kInvalidArgument error, a file that cannot be opened kNotFound (or kPermission,
// kIo); message() is one line naming the setting, the value and the source it came from.
// `hostname` is the fallback node name. yaml-cpp's exceptions are caught inside.
[[nodiscard]] Result<Invocation> parse(const std::vector<std::string>& args, const Environment& env,
                                       const std::string& hostname);

// Text printed by --help: usage, commands, every setting with its default and env name.
[[nodiscard]] std::string help_text();

// One row of the settings table, for --help, docs and tests. `name` is both the flag (--name)
// and the YAML key; `env` is the environment variable.
struct SettingInfo {
  std::string_view name;
  std::string_view env;
  std::string_view value_name;    // "DURATION", "BOOL", ... as shown by --help
  std::string_view default_text;  // the default as a user would write it ("5s")
  std::string_view help;
};
[[nodiscard]] std::span<const SettingInfo> settings();

// Go-style durations as castai/egressd accepts them: "5s", "500ms", "1m30s", "2h", "250us".
[[nodiscard]] Result<std::chrono::nanoseconds> parse_duration(std::string_view text);

}  // namespace egressd::config
