#include "app/agent.h"

#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <functional>
#include <memory>

#include "app/host_addresses.h"
#include "cilium/cilium_source.h"
#include "conntrack/netfilter_source.h"
#include "dns/name_cache.h"
#include "dns/scope.h"
#include "dns/tracer.h"
#include "ebpf/ebpf_source.h"
#include "egressd/common/clock.h"
#include "egressd/common/log.h"
#include "egressd/common/self_metrics.h"
#include "egressd/local_endpoints.h"
#include "egressd/version.h"
#include "exporter/flow_metrics.h"
#include "exporter/http_server.h"
#include "exporter/metrics_endpoint.h"
#include "kube/cluster_index.h"
#include "kube/inventory.h"
#include "kube/kube_client.h"
#include "pipeline/reducer.h"

namespace egressd::app {

namespace {

Result<std::shared_ptr<const kube::ClusterIndex>> build_index(const config::Config& cfg) {
  kube::Inventory inventory;
  if (!cfg.inventory_path.empty()) {
    auto loaded = kube::load_inventory(cfg.inventory_path);
    if (!loaded) return std::unexpected(std::move(loaded.error()).wrap("loading --inventory"));
    inventory = std::move(*loaded);
    spdlog::info("inventory {}: {} pods, {} nodes ({} other items ignored)", cfg.inventory_path,
                 inventory.pods.size(), inventory.nodes.size(), inventory.skipped_items);
  } else {
    spdlog::info("no --inventory: every local address is attributed to node {}", cfg.node_name);
  }
  auto own = host_addresses();
  if (!own) return std::unexpected(std::move(own.error()));
  auto index = std::make_shared<const kube::ClusterIndex>(std::move(inventory), cfg.node_name,
                                                          std::move(*own));
  if (!cfg.inventory_path.empty() && !index->node_by_name(cfg.node_name)) {
    spdlog::warn("node {} is not in the inventory: its zone is unknown (set --node-name)",
                 cfg.node_name);
  }
  spdlog::info("node {}: {} local endpoints (pods and node addresses), zone \"{}\"", cfg.node_name,
               index->local_endpoints()->size(), index->this_zone());
  return index;
}

// Checks nf_conntrack_acct, enabling it when allowed; exported as a gauge by the source.
void ensure_accounting(const config::Config& cfg) {
  auto enabled = conntrack::accounting_enabled(cfg.netfilter_sysctl_dir);
  if (!enabled) {
    spdlog::error("cannot read conntrack accounting setting: {}", enabled.error().message());
    return;
  }
  if (*enabled) return;
  if (!cfg.enable_conntrack_accounting) {
    spdlog::error(
        "net.netfilter.nf_conntrack_acct is 0 in this network namespace: conntrack "
        "entries carry no byte counters and are not exported; run `egressd init` (the Helm "
        "chart's conntrackAccounting.init) or drop --enable-conntrack-accounting=false");
    return;
  }
  if (auto st = conntrack::enable_accounting(cfg.netfilter_sysctl_dir); !st) {
    spdlog::error(
        "net.netfilter.nf_conntrack_acct is 0 and cannot be enabled ({}): conntrack "
        "entries carry no byte counters and are not exported",
        st.error().message());
    return;
  }
  spdlog::warn(
      "enabled net.netfilter.nf_conntrack_acct: connections opened before now have no "
      "counters and are not exported");
}

// The API client when there is no --inventory and a kubeconfig or the in-cluster environment
// (docs/kubernetes.md); nullptr in standalone mode.
Result<std::unique_ptr<kube::KubeClient>> make_kube_client(const config::Config& cfg,
                                                           exporter::ClusterIndexView& index,
                                                           LocalEndpointsView& endpoints,
                                                           SelfMetrics& metrics) {
  if (!cfg.inventory_path.empty()) return nullptr;
  Result<kube::ApiConfig> api = fail(Errc::kNotFound, "no API server");
  if (!cfg.kubeconfig_path.empty()) {
    api = kube::load_kubeconfig(cfg.kubeconfig_path);
  } else if (kube::in_cluster_available(config::current_environment())) {
    api = kube::in_cluster_config(config::current_environment());
  } else {
    return nullptr;
  }
  if (!api) return std::unexpected(std::move(api.error()));
  auto own = host_addresses();
  if (!own) return std::unexpected(std::move(own.error()));
  kube::KubeClientOptions options;
  options.this_node = cfg.node_name;
  options.extra_node_ips = std::move(*own);
  options.watch_list = cfg.kube_watch_list;
  spdlog::info("kube: watching pods and nodes at {} ({})", api->server, api->source);
  return kube::KubeClient::create(*api, std::move(options), index, endpoints, metrics);
}

// Waits for the API client's first complete index (the sources need local endpoints to orient
// flows), logging while it takes long. False if SIGTERM/SIGINT came first.
bool wait_for_kube_sync(kube::KubeClient& client) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  const timespec step{0, 100'000'000};
  for (int waited = 0; !client.wait_synced(std::chrono::milliseconds(0)); ++waited) {
    if (sigtimedwait(&set, nullptr, &step) > 0) return false;
    if (waited % 100 == 99)
      spdlog::warn("kube: still waiting for the initial list of pods and nodes");
  }
  return true;
}

// --ct-mode cilium, or auto with Cilium's conntrack maps pinned: the Cilium source
// (docs/cilium.md). Logs why.
bool choose_cilium(const config::Config& cfg) {
  if (cfg.ct_mode == config::CtMode::kCilium) return true;
  if (cfg.ct_mode != config::CtMode::kAuto) return false;
  std::vector<std::string> roots;
  if (!cfg.bpf_root.empty()) roots.push_back(cfg.bpf_root);
  if (auto root = cilium::find_cilium_maps(roots)) {
    spdlog::info("--ct-mode auto: Cilium's conntrack maps are pinned under {}/tc/globals", *root);
    return true;
  }
  spdlog::info("--ct-mode auto: no Cilium conntrack maps pinned (under {})",
               cfg.bpf_root.empty() ? "/sys/fs/bpf or /run/cilium/bpffs" : cfg.bpf_root);
  return false;
}

Result<std::unique_ptr<Source>> make_cilium(const config::Config& cfg,
                                            const LocalEndpointsView& endpoints, BatchSink& sink,
                                            SelfMetrics& metrics, const Clock& clock) {
  std::optional<cilium::Layout> layout;
  switch (cfg.cilium_layout) {
    case config::CiliumLayout::kUnset: break;
    case config::CiliumLayout::kA: layout = cilium::Layout::kA; break;
    case config::CiliumLayout::kB: layout = cilium::Layout::kB; break;
    case config::CiliumLayout::kC: layout = cilium::Layout::kC; break;
    case config::CiliumLayout::kD: layout = cilium::Layout::kD; break;
  }
  cilium::ClockSetting clock_setting = cilium::ClockSetting::kAuto;
  switch (cfg.cilium_clock) {
    case config::CiliumClock::kAuto: break;
    case config::CiliumClock::kKtime: clock_setting = cilium::ClockSetting::kKtime; break;
    case config::CiliumClock::kJiffies: clock_setting = cilium::ClockSetting::kJiffies; break;
  }
  auto options = cilium::make_options(
      {cfg.read_interval, cfg.bpf_root, cfg.cilium_version, layout, clock_setting});
  if (!options) return std::unexpected(std::move(options.error()));
  options->clock = &clock;
  return cilium::make_cilium_source(*options, endpoints, sink, metrics);
}

// The flow source: Cilium's conntrack maps when chosen; else the eBPF source (docs/ebpf.md) for
// --ct-mode ebpf and auto, where auto falls back to netfilter conntrack, saying why, when BPF
// cannot run here (no BTF, no permission, kernel too old); else netfilter conntrack.
Result<std::unique_ptr<Source>> make_source(const config::Config& cfg, bool use_cilium,
                                            const LocalEndpointsView& endpoints, BatchSink& sink,
                                            SelfMetrics& metrics, const Clock& clock) {
  if (use_cilium) return make_cilium(cfg, endpoints, sink, metrics, clock);
  if (cfg.ct_mode == config::CtMode::kEbpf || cfg.ct_mode == config::CtMode::kAuto) {
    ebpf::EbpfSourceOptions options;
    options.clock = &clock;
    options.read_interval = cfg.read_interval;
    options.map_entries = static_cast<uint32_t>(cfg.ebpf_map_entries);
    auto source = ebpf::make_ebpf_source(options, endpoints, sink, metrics);
    if (source || cfg.ct_mode == config::CtMode::kEbpf) return source;
    spdlog::warn(
        "--ct-mode auto: the eBPF source cannot run here ({}); falling back to netfilter "
        "conntrack",
        source.error().message());
  }
  ensure_accounting(cfg);
  conntrack::NetfilterSourceOptions options;
  options.clock = &clock;
  options.read_interval = cfg.read_interval;
  return conntrack::make_netfilter_source(options, endpoints, sink, metrics);
}

// This node's pod addresses whose namespace is in --exclude-namespaces: the reducer drops their
// records (enrichment re-checks, for pods it learns of first).
std::shared_ptr<const pipeline::LocalIpSet> excluded_local_ips(
    const kube::ClusterIndex& index, const std::vector<std::string>& namespaces) {
  auto set = std::make_shared<pipeline::LocalIpSet>();
  if (namespaces.empty()) return set;
  index.local_endpoints()->for_each([&](const IpAddr& ip, EndpointKind kind) {
    if (kind != EndpointKind::kLocalPod) return;
    const auto pod = index.pod_by_ip(ip);
    if (!pod) return;
    if (std::find(namespaces.begin(), namespaces.end(), pod->namespace_name) != namespaces.end()) {
      set->insert(ip);
    }
  });
  return set;
}

// --exclude-namespaces applies in the reducer, before its key bound (docs/pipeline.md). The set
// follows the index (the API client replaces it) and is recomputed only when the index changes.
std::function<std::shared_ptr<const pipeline::LocalIpSet>()> excluded_locals(
    const exporter::ClusterIndexView& view, std::vector<std::string> namespaces) {
  struct Cache {
    std::shared_ptr<const kube::ClusterIndex> index;
    std::shared_ptr<const pipeline::LocalIpSet> set;
  };
  return [&view, namespaces = std::move(namespaces), cache = std::make_shared<Cache>()] {
    if (auto now = view.get(); now != cache->index) {
      cache->set = excluded_local_ips(*now, namespaces);
      cache->index = std::move(now);
    }
    return cache->set;
  };
}

// The DNS tracer (docs/dns.md), independent of the flow source: a cache that names external
// peers and the program that fills it. Where the kernel cannot run it, one warning says why and
// the agent runs without the dst_dns_name label (cache left null).
struct DnsNaming {
  std::unique_ptr<dns::NameCache> cache;
  std::unique_ptr<dns::DnsTracer> tracer;
};

DnsNaming start_dns_naming(const config::Config& cfg, const exporter::ClusterIndexView& index,
                           SelfMetrics& metrics, const Clock& clock) {
  DnsNaming n;
  Gauge& running = metrics.gauge("egressd_dns_tracer_running",
                                 "1 while the DNS tracer runs (--ebpf-dns-tracer-enabled).");
  if (!cfg.ebpf_dns_tracer_enabled) {
    spdlog::info("dns tracer: disabled (--ebpf-dns-tracer-enabled=false)");
    return n;
  }
  n.cache = std::make_unique<dns::NameCache>(
      dns::NameCacheOptions{static_cast<size_t>(cfg.dns_cache_size), cfg.dns_min_ttl,
                            cfg.dns_max_ttl},
      clock, metrics);
  dns::DnsTracerOptions options;
  options.port = cfg.dns_port;
  options.cgroup_path = cfg.dns_cgroup_path;
  const auto scope = [&index](const IpAddr& client) {
    return dns::scope_of(client, index.get().get());
  };
  auto tracer = dns::DnsTracer::start(options, *n.cache, scope, metrics, clock);
  if (!tracer) {
    spdlog::warn("dns tracer: cannot run here ({}); dst_dns_name is not exported",
                 tracer.error().message());
    n.cache.reset();
    return n;
  }
  n.tracer = std::move(*tracer);
  running.set(1);
  spdlog::info("dns tracer: cgroup_skb ingress on {}, responses from port {}, cache {} entries",
               n.tracer->cgroup_path(), cfg.dns_port, cfg.dns_cache_size);
  return n;
}

void wait_for_termination() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  int sig = 0;
  while (sigwait(&set, &sig) != 0) {
  }
  spdlog::info("received {}, shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
}

}  // namespace

Status run_init(const config::Config& cfg) {
  if (auto st = conntrack::enable_accounting(cfg.netfilter_sysctl_dir); !st) {
    return std::unexpected(std::move(st.error()).wrap("init"));
  }
  spdlog::info("init: net.netfilter.nf_conntrack_acct=1 in this network namespace (through {})",
               cfg.netfilter_sysctl_dir);
  return {};
}

Status run_agent(const config::Config& cfg) {
  spdlog::info("egressd {} starting on node {}, read interval {} ms", kVersion, cfg.node_name,
               cfg.read_interval.count());
  SystemClock clock;
  SelfMetrics metrics;
  metrics
      .gauge("egressd_build_info", "Always 1; the version label says which build runs.",
             {{"version", kVersion}})
      .set(1);

  auto index = build_index(cfg);
  if (!index) return std::unexpected(std::move(index.error()));
  exporter::ClusterIndexView index_view(*index);
  LocalEndpointsView endpoints;
  endpoints.set((*index)->local_endpoints());

  // Source selection: Cilium's conntrack maps (--ct-mode cilium, or auto when they are pinned),
  // else the eBPF source (ebpf, or auto when the kernel can run it), else netfilter conntrack.
  // The source itself is made below, once the local endpoints are known.
  const bool use_cilium = choose_cilium(cfg);

  exporter::FlowMetricsOptions flow_options;
  flow_options.series_ttl = cfg.metrics_series_ttl;
  flow_options.enrich.exclude_namespaces = cfg.exclude_namespaces;
  flow_options.enrich.workload_labels = cfg.workload_labels;
  const DnsNaming dns_naming = start_dns_naming(cfg, index_view, metrics, clock);
  flow_options.enrich.dns_names = dns_naming.cache.get();
  exporter::FlowMetrics flows(flow_options, index_view, metrics, clock);

  pipeline::ReducerOptions reducer_options;
  reducer_options.interval = cfg.read_interval;
  reducer_options.queue_capacity = cfg.queue_capacity;
  reducer_options.limits.max_flows = cfg.max_flows;
  reducer_options.limits.group_public_ips = cfg.group_public_ips;
  reducer_options.shards = cfg.reducer_shards;
  reducer_options.excluded_locals = excluded_locals(index_view, cfg.exclude_namespaces);
  auto reducer = pipeline::Reducer::create(reducer_options, flows, metrics, clock);
  if (!reducer) return std::unexpected(std::move(reducer.error()));

  std::vector<exporter::HttpRoute> routes;
  routes.push_back({"/metrics", [&] {
                      return exporter::HttpResponse{200, "text/plain; version=0.0.4; charset=utf-8",
                                                    exporter::render_metrics(metrics, flows)};
                    }});
  routes.push_back({"/healthz", [] { return exporter::HttpResponse{200, "text/plain", "ok\n"}; }});
  routes.push_back({"/readyz", [&] {
                      return flows.snapshots() > 0
                                 ? exporter::HttpResponse{200, "text/plain", "ready\n"}
                                 : exporter::HttpResponse{503, "text/plain",
                                                          "waiting for the first interval\n"};
                    }});
  auto http =
      exporter::HttpServer::start(cfg.http_listen_address, cfg.http_listen_port, std::move(routes));
  if (!http) return std::unexpected(std::move(http.error()));
  spdlog::info("serving /metrics, /healthz, /readyz on {}:{}", cfg.http_listen_address,
               (*http)->port());

  auto kube = make_kube_client(cfg, index_view, endpoints, metrics);
  if (!kube) return std::unexpected(std::move(kube.error()));
  if (*kube) {
    (*kube)->start();
    if (!wait_for_kube_sync(**kube)) {
      spdlog::info("terminated before the first Kubernetes sync; stopped");
      return {};
    }
    const auto synced = index_view.get();
    spdlog::info("kube: {} pods, {} nodes indexed; node {}: {} local endpoints, zone \"{}\"",
                 synced->pod_count(), synced->node_count(), cfg.node_name,
                 synced->local_endpoints()->size(), synced->this_zone());
  }

  // The source's own producer token on the reducer's queue (declared after the reducer, so it
  // goes first).
  const auto producer = (*reducer)->producer();
  auto source = make_source(cfg, use_cilium, endpoints, *producer, metrics, clock);
  if (!source) return std::unexpected(std::move(source.error()));
  const std::string source_kind(source_name((*source)->kind()));
  spdlog::info("source: {} (--ct-mode {})", source_kind, config::ct_mode_name(cfg.ct_mode));
  metrics
      .gauge("egressd_source_info", "The flow source in use (value 1).", {{"source", source_kind}})
      .set(1);

  (*reducer)->start();
  if (auto st = (*source)->start(); !st) {
    (*reducer)->stop();
    return std::unexpected(std::move(st.error()));
  }

  wait_for_termination();
  // Order matters: the source stops producing, the reducer applies what is queued and publishes
  // the last partial interval, then the HTTP server goes away.
  (*source)->stop();
  spdlog::debug("source stopped");
  if (*kube) (*kube)->stop();
  (*reducer)->stop();
  spdlog::debug("reducer stopped, last interval published");
  http->reset();
  spdlog::info("stopped");
  return {};
}

}  // namespace egressd::app
