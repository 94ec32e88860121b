#include "harness/kube_api.h"

#include <fstream>

#include <fmt/format.h>
#include <openssl/evp.h>
#include <sys/socket.h>

#include "harness/netns.h"

namespace egressd::testing {
namespace {

std::string base64(const std::string& in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),       // NOLINT: C API
                                reinterpret_cast<const unsigned char*>(in.data()),  // NOLINT
                                static_cast<int>(in.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

PodSpec pod_spec(const cluster::PodInfo& p) {
  PodSpec spec;
  spec.namespace_name = std::string(p.kube_namespace);
  spec.name = std::string(p.name);
  spec.node = std::string(p.node);
  spec.ips = {std::string(p.ip4), std::string(p.ip6)};
  return spec;
}

}  // namespace

FakeClusterApi::FakeClusterApi(const Topology& topology, const std::filesystem::path& workdir)
    : pki_(TestPki::generate()), kubeconfig_(workdir / "kubeconfig") {
  FakeApiServerOptions options;
  // The agent runs in the node namespace: the fake listens on that namespace's loopback.
  options.make_socket = [ns = topology.node()] {
    return socket_in_netns(ns, AF_INET, SOCK_STREAM).release();
  };
  options.bookmark_interval = std::chrono::milliseconds(1000);
  server_ = std::make_unique<FakeKubeApiServer>(pki_, std::move(options));
  for (const auto& n : cluster::nodes()) {
    NodeSpec spec{std::string(n.name),
                  std::string(n.zone),
                  std::string(cluster::kRegion),
                  {std::string(n.ip4), std::string(n.ip6)}};
    server_->preload(Resource::kNodes, "", spec.name, factory_.node(spec));
  }
  for (const auto& p : cluster::pods()) {
    server_->preload(Resource::kPods, std::string(p.kube_namespace), std::string(p.name),
                     factory_.pod(pod_spec(p)));
  }
  std::ofstream(kubeconfig_) << fmt::format(
      R"(apiVersion: v1
kind: Config
current-context: fake
clusters:
- name: fake
  cluster:
    server: {}
    certificate-authority-data: {}
contexts:
- name: fake
  context: {{cluster: fake, user: egressd}}
users:
- name: egressd
  user:
    token: {}
)",
      server_->url(), base64(pki_.ca_cert_pem), FakeApiServerOptions{}.token);
}

FakeClusterApi::~FakeClusterApi() = default;

void FakeClusterApi::upsert_pod(const cluster::PodInfo& pod) {
  server_->upsert(Resource::kPods, std::string(pod.kube_namespace), std::string(pod.name),
                  factory_.pod(pod_spec(pod)));
}

}  // namespace egressd::testing
