// Helpers for the API client tests: a fake API server with the test PKI, a KubeClient pointed at
// it with short timeouts and backoff, and polling with deadlines (no fixed sleeps).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "common/self_metrics_reader.h"
#include "common/wait.h"
#include "egressd/common/atomic_snapshot.h"
#include "egressd/common/self_metrics.h"
#include "egressd/local_endpoints.h"
#include "fake_kube_apiserver.h"
#include "kube/cluster_index.h"
#include "kube/kube_client.h"
#include "objects.h"

namespace egressd::testing {

using namespace std::chrono_literals;

// The fake, a client and the views it feeds.
struct ClientRig {
  TestPki pki = TestPki::generate();
  ObjectFactory objects;
  std::unique_ptr<FakeKubeApiServer> server;
  SelfMetrics metrics;
  AtomicSnapshot<kube::ClusterIndex> index{
      std::make_shared<const kube::ClusterIndex>(kube::Inventory{}, "", std::vector<IpAddr>{})};
  LocalEndpointsView endpoints;
  std::unique_ptr<kube::KubeClient> client;

  explicit ClientRig(FakeApiServerOptions options = {})
      : server(std::make_unique<FakeKubeApiServer>(pki, std::move(options))) {}

  [[nodiscard]] kube::ApiConfig config(const std::string& token = "fake-token-1") const {
    kube::ApiConfig c;
    c.server = server->url();
    c.ca_pem = pki.ca_cert_pem;
    c.token = token;
    return c;
  }

  static kube::KubeClientOptions fast_options(std::string this_node) {
    kube::KubeClientOptions o;
    o.this_node = std::move(this_node);
    o.page_size = 3;
    o.watch_timeout = 5s;
    o.backoff_min = 20ms;
    o.backoff_max = 200ms;
    o.publish_interval = 10ms;
    // Far beyond what the fake takes to answer, also under sanitizers: a page that timed out would
    // be retried and change the request counts the tests check.
    o.timeouts.total = 30s;
    o.timeouts.idle = 10s;
    return o;
  }

  void start(const kube::ApiConfig& cfg, kube::KubeClientOptions options) {
    auto c = kube::KubeClient::create(cfg, std::move(options), index, endpoints, metrics);
    if (!c) throw std::runtime_error(c.error().message());
    client = std::move(*c);
    client->start();
  }
  void start(const std::string& this_node = "node-a") { start(config(), fast_options(this_node)); }

  void pod(const PodSpec& spec) {
    server->upsert(Resource::kPods, spec.namespace_name, spec.name, objects.pod(spec));
  }
  void node(const NodeSpec& spec) {
    server->upsert(Resource::kNodes, "", spec.name, objects.node(spec));
  }

  // "ns/name" of the pod owning `ip` in the published index, or "<none>".
  [[nodiscard]] std::string pod_at(const std::string& ip) const {
    const auto snapshot = index.get();  // the views below point into it: keep it alive
    const auto p = snapshot->pod_by_ip(IpAddr::parse(ip).value());
    return p ? std::string(p->namespace_name) + "/" + std::string(p->name) : "<none>";
  }
  [[nodiscard]] std::string zone_of_pod_at(const std::string& ip) const {
    const auto snapshot = index.get();  // the views below point into it: keep it alive
    const auto p = snapshot->pod_by_ip(IpAddr::parse(ip).value());
    return p ? std::string(p->zone) : "<none>";
  }
};

}  // namespace egressd::testing
