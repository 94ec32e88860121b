// KubeClient: keeps the cluster index current from the Kubernetes API server. Two reflectors
// (pods cluster-wide, nodes) list+watch into one IndexBuilder; a publisher thread turns the
// builder's changes into immutable ClusterIndex snapshots at most every `publish_interval`, and
// sets them into the same views the standalone inventory feeds (ClusterIndex for enrichment,
// LocalEndpoints for the sources). docs/kubernetes.md describes the protocol and the metrics.
//
// While the API server is unreachable the last published index stays in use; the gauge
// egressd_kube_api_unreachable says so, and the reflectors catch up when it answers again.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "egressd/common/atomic_snapshot.h"
#include "egressd/common/error.h"
#include "egressd/common/self_metrics.h"
#include "egressd/local_endpoints.h"
#include "kube/api_config.h"
#include "kube/cluster_index.h"
#include "kube/reflector.h"

namespace egressd::kube {

struct KubeClientOptions {
  std::string this_node;
  std::vector<IpAddr> extra_node_ips;  // this host's addresses (see ClusterIndex)
  uint32_t page_size = 500;
  std::chrono::seconds watch_timeout{300};
  HttpTimeouts timeouts;
  std::chrono::milliseconds backoff_min{800};
  std::chrono::milliseconds backoff_max{30000};
  std::chrono::milliseconds publish_interval{100};
  bool watch_list = false;  // sendInitialEvents streaming lists (reflector.h)
  std::chrono::seconds watch_list_timeout{60};
};

class KubeClient {
 public:
  [[nodiscard]] static Result<std::unique_ptr<KubeClient>> create(
      const ApiConfig& config, KubeClientOptions options, AtomicSnapshot<ClusterIndex>& index,
      LocalEndpointsView& endpoints, SelfMetrics& metrics);
  ~KubeClient();
  KubeClient(const KubeClient&) = delete;
  KubeClient& operator=(const KubeClient&) = delete;

  void start();
  // Stops the threads (interrupting requests in flight); idempotent.
  void stop();

  // True once both initial lists are indexed and published into the views.
  [[nodiscard]] bool synced() const;
  // Waits for synced() or `timeout`; false on timeout.
  [[nodiscard]] bool wait_synced(std::chrono::milliseconds timeout);
  [[nodiscard]] bool reachable() const;
  // Snapshots published so far.
  [[nodiscard]] uint64_t publishes() const;

 private:
  KubeClient(KubeClientOptions options, AtomicSnapshot<ClusterIndex>& index,
             LocalEndpointsView& endpoints, SelfMetrics& metrics);
  void publish_loop(const std::stop_token& stop) noexcept;
  void publish_now();

  KubeClientOptions options_;
  AtomicSnapshot<ClusterIndex>& index_view_;
  LocalEndpointsView& endpoints_;
  SharedBuilder shared_;
  std::unique_ptr<Reflector> pods_;
  std::unique_ptr<Reflector> nodes_;
  std::vector<std::jthread> threads_;

  mutable std::mutex state_mutex_;
  std::condition_variable_any state_cv_;
  bool synced_ = false;
  bool sync_pending_ = false;
  uint64_t publishes_ = 0;
  std::shared_ptr<const LocalEndpoints> last_local_;
  size_t last_conflicts_ = 0;

  Gauge& unreachable_;
  Gauge& pods_gauge_;
  Gauge& nodes_gauge_;
  Gauge& bytes_gauge_;
  Counter& conflicts_;
  Counter& publishes_counter_;
};

}  // namespace egressd::kube
