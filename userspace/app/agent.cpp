#include "app/agent.h"

#include <pthread.h>
#include <signal.h>

#include <memory>

#include "app/host_addresses.h"
#include "conntrack/netfilter_source.h"
#include "egressd/common/clock.h"
#include "egressd/common/log.h"
#include "egressd/common/self_metrics.h"
#include "egressd/local_endpoints.h"
#include "egressd/version.h"
#include "export/flow_metrics.h"
#include "export/http_server.h"
#include "export/metrics_endpoint.h"
#include "kube/cluster_index.h"
#include "kube/inventory.h"
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
  if (!cfg.inventory_path.empty() && index->node_by_name(cfg.node_name) == nullptr) {
    spdlog::warn("node {} is not in the inventory: its zone is unknown (set --node-name)",
                 cfg.node_name);
  }
  spdlog::info("node {}: {} local endpoints (pods and node addresses), zone \"{}\"", cfg.node_name,
               index->local_endpoints()->size(), index->this_zone());
  return index;
}

// Checks nf_conntrack_acct, enabling it when allowed; exported as a gauge by the source.
void ensure_accounting(const config::Config& cfg) {
  auto enabled = conntrack::accounting_enabled();
  if (!enabled) {
    spdlog::error("cannot read conntrack accounting setting: {}", enabled.error().message());
    return;
  }
  if (*enabled) return;
  if (!cfg.enable_conntrack_accounting) {
    spdlog::error(
        "net.netfilter.nf_conntrack_acct is 0 in this network namespace: conntrack "
        "entries carry no byte counters and are not exported; run `egressd init` or "
        "drop --enable-conntrack-accounting=false");
    return;
  }
  if (auto st = conntrack::enable_accounting(); !st) {
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

Status run_init(const config::Config& /*config*/) {
  if (auto st = conntrack::enable_accounting(); !st) {
    return std::unexpected(std::move(st.error()).wrap("init"));
  }
  spdlog::info("init: net.netfilter.nf_conntrack_acct=1 in this network namespace");
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

  // Source selection: netfilter conntrack is the only source of this build.
  spdlog::info("source: netfilter conntrack (--ct-mode {})", config::ct_mode_name(cfg.ct_mode));
  metrics
      .gauge("egressd_source_info", "The flow source in use (value 1).", {{"source", "netfilter"}})
      .set(1);
  ensure_accounting(cfg);

  exporter::FlowMetricsOptions flow_options;
  flow_options.series_ttl = cfg.metrics_series_ttl;
  flow_options.enrich.exclude_namespaces = cfg.exclude_namespaces;
  exporter::FlowMetrics flows(flow_options, index_view, metrics, clock);

  pipeline::ReducerOptions reducer_options;
  reducer_options.interval = cfg.read_interval;
  reducer_options.queue_capacity = cfg.queue_capacity;
  reducer_options.limits.max_flows = cfg.max_flows;
  reducer_options.limits.group_public_ips = cfg.group_public_ips;
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

  conntrack::NetfilterSourceOptions source_options;
  source_options.read_interval = cfg.read_interval;
  auto source = conntrack::make_netfilter_source(source_options, endpoints, **reducer, metrics);
  if (!source) return std::unexpected(std::move(source.error()));

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
  (*reducer)->stop();
  spdlog::debug("reducer stopped, last interval published");
  http->reset();
  spdlog::info("stopped");
  return {};
}

}  // namespace egressd::app
