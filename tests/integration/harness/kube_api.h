// The simulated cluster (cluster.h) served by the FAKE Kubernetes API server
// (tests/fake_kube_apiserver) as full Pod and Node documents in the real API's shape, listening
// on 127.0.0.1 inside the node namespace where the agent runs, and a kubeconfig (inline test CA,
// server URL, bearer token) for the agent's --kubeconfig. The same objects as
// cluster::inventory_json(), so an agent fed either way must label every flow the same.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "fake_kube_apiserver.h"
#include "harness/cluster.h"
#include "harness/topology.h"
#include "objects.h"
#include "test_pki.h"

namespace egressd::testing {

class FakeClusterApi {
 public:
  // Starts the fake with every pod and node of cluster.h and writes `workdir`/kubeconfig.
  FakeClusterApi(const Topology& topology, const std::filesystem::path& workdir);
  FakeClusterApi(const FakeClusterApi&) = delete;
  FakeClusterApi& operator=(const FakeClusterApi&) = delete;
  ~FakeClusterApi();

  [[nodiscard]] const std::filesystem::path& kubeconfig() const noexcept { return kubeconfig_; }
  [[nodiscard]] FakeKubeApiServer& server() noexcept { return *server_; }

  // Creates or updates a running pod (an ADDED/MODIFIED watch event).
  void upsert_pod(const cluster::PodInfo& pod);

 private:
  TestPki pki_;
  ObjectFactory factory_;
  std::unique_ptr<FakeKubeApiServer> server_;
  std::filesystem::path kubeconfig_;
};

}  // namespace egressd::testing
