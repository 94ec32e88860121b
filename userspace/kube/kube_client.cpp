#include "kube/kube_client.h"

namespace egressd::kube {

KubeClient::KubeClient(KubeClientOptions options, AtomicSnapshot<ClusterIndex>& index,
                       LocalEndpointsView& endpoints, SelfMetrics& metrics)
    : options_(std::move(options)),
      index_view_(index),
      endpoints_(endpoints),
      shared_{{}, IndexBuilder(options_.this_node, options_.extra_node_ips)},
      unreachable_(metrics.gauge("egressd_kube_api_unreachable",
                                 "1 while the last request to the Kubernetes API server failed: "
                                 "labels come from the last known indices.")),
      pods_gauge_(metrics.gauge("egressd_kube_index_pods", "Pods in the cluster index.")),
      nodes_gauge_(metrics.gauge("egressd_kube_index_nodes", "Nodes in the cluster index.")),
      bytes_gauge_(
          metrics.gauge("egressd_kube_index_bytes", "Estimated heap bytes of the cluster index.")),
      conflicts_(metrics.counter("egressd_kube_ip_conflicts_total",
                                 "Pod IPs claimed by two live pods at once (IP reuse with a "
                                 "stale object); resolved by docs/kubernetes.md's rule.")),
      publishes_counter_(metrics.counter("egressd_kube_index_publishes_total",
                                         "Cluster index snapshots published.")) {}

KubeClient::~KubeClient() {
  stop();
}

Result<std::unique_ptr<KubeClient>> KubeClient::create(const ApiConfig& config,
                                                       KubeClientOptions options,
                                                       AtomicSnapshot<ClusterIndex>& index,
                                                       LocalEndpointsView& endpoints,
                                                       SelfMetrics& metrics) {
  std::unique_ptr<KubeClient> client(new KubeClient(std::move(options), index, endpoints, metrics));
  const auto on_synced = [c = client.get()] {
    std::lock_guard lock(c->state_mutex_);
    c->sync_pending_ = true;
    c->state_cv_.notify_all();
  };
  for (const ObjectKind kind : {ObjectKind::kPod, ObjectKind::kNode}) {
    auto http = HttpClient::create(config);
    if (!http) return std::unexpected(std::move(http.error()));
    ReflectorOptions ro;
    ro.kind = kind;
    ro.page_size = client->options_.page_size;
    ro.watch_timeout = client->options_.watch_timeout;
    ro.timeouts = client->options_.timeouts;
    ro.backoff_min = client->options_.backoff_min;
    ro.backoff_max = client->options_.backoff_max;
    ro.watch_list = client->options_.watch_list;
    ro.watch_list_timeout = client->options_.watch_list_timeout;
    auto reflector =
        std::make_unique<Reflector>(ro, std::move(*http), client->shared_, metrics, on_synced);
    (kind == ObjectKind::kPod ? client->pods_ : client->nodes_) = std::move(reflector);
  }
  return client;
}

void KubeClient::start() {
  threads_.emplace_back([this](const std::stop_token& st) { pods_->run(st); });
  threads_.emplace_back([this](const std::stop_token& st) { nodes_->run(st); });
  threads_.emplace_back([this](const std::stop_token& st) { publish_loop(st); });
}

void KubeClient::stop() {
  for (auto& t : threads_) t.request_stop();
  {
    std::lock_guard lock(state_mutex_);
    state_cv_.notify_all();
  }
  threads_.clear();  // joins
}

void KubeClient::publish_now() {
  std::shared_ptr<const ClusterIndex> snap;
  {
    std::lock_guard lock(shared_.mutex);
    snap = shared_.builder.snapshot();
  }
  index_view_.set(snap);
  // Sources re-read LocalEndpoints once per interval; a new object only when it changed.
  if (snap->local_endpoints() != last_local_) {
    last_local_ = snap->local_endpoints();
    endpoints_.set(last_local_);
  }
  pods_gauge_.set(static_cast<double>(snap->pod_count()));
  nodes_gauge_.set(static_cast<double>(snap->node_count()));
  bytes_gauge_.set(static_cast<double>(snap->memory_bytes()));
  if (snap->ip_conflicts() > last_conflicts_) {
    conflicts_.inc(snap->ip_conflicts() - last_conflicts_);
    last_conflicts_ = snap->ip_conflicts();
  }
  publishes_counter_.inc();
  std::lock_guard lock(state_mutex_);
  ++publishes_;
}

void KubeClient::publish_loop(const std::stop_token& stop) noexcept {
  while (!stop.stop_requested()) {
    bool first = false;
    {
      std::unique_lock lock(state_mutex_);
      state_cv_.wait_for(lock, stop, options_.publish_interval, [&] { return sync_pending_; });
      // Consumed here, whether or not both lists are done: left set, it would turn the wait
      // above into a busy loop for the whole initial list of the other resource.
      sync_pending_ = false;
      first = !synced_;
    }
    if (stop.stop_requested()) break;
    unreachable_.set(reachable() ? 0 : 1);
    const bool both = pods_->synced() && nodes_->synced();
    if (!both) continue;  // the first snapshot is a complete one
    bool dirty = false;
    {
      std::lock_guard lock(shared_.mutex);
      dirty = shared_.builder.dirty();
    }
    if (dirty || first) publish_now();
    if (first) {
      std::lock_guard lock(state_mutex_);
      synced_ = true;
      state_cv_.notify_all();
    }
  }
}

bool KubeClient::synced() const {
  std::lock_guard lock(state_mutex_);
  return synced_;
}

bool KubeClient::wait_synced(std::chrono::milliseconds timeout) {
  std::unique_lock lock(state_mutex_);
  return state_cv_.wait_for(lock, timeout, [&] { return synced_; });
}

bool KubeClient::reachable() const {
  return pods_->reachable() && nodes_->reachable();
}

uint64_t KubeClient::publishes() const {
  std::lock_guard lock(state_mutex_);
  return publishes_;
}

}  // namespace egressd::kube
