// The API client against the FAKE API server (tests/fake_kube_apiserver): initial paginated
// sync, updates, deletes, IP reuse, 410 re-list, token rotation, server restart, malformed
// input, errors with backoff, slow responses and TLS trust. Expected values are the objects the
// test itself gave the fake.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <optional>

#include <gtest/gtest.h>

#include "common/scratch_dir.h"
#include "kube_test_util.h"

namespace egressd::testing {
namespace {

PodSpec pod(std::string ns, std::string name, std::string node, std::vector<std::string> ips,
            std::string phase = "Running") {
  PodSpec p;
  p.namespace_name = std::move(ns);
  p.name = std::move(name);
  p.node = std::move(node);
  p.ips = std::move(ips);
  p.phase = std::move(phase);
  return p;
}

// Replaces `path` in one step, as the kubelet's atomic writer swaps a projected token: a reader
// sees the old content or the new, never a part.
void replace_file(const std::string& path, const std::string& content) {
  const std::string tmp = path + ".tmp";
  std::ofstream(tmp, std::ios::binary | std::ios::trunc) << content;
  std::filesystem::rename(tmp, path);
}

// Starts the client with `file` as its token file, written first with `content` unless none is
// given (the file is then missing when the client starts).
void start_with_token_file(ClientRig& rig, const std::string& file,
                           const std::optional<std::string>& content) {
  if (content) replace_file(file, *content);
  kube::ApiConfig cfg = rig.config("");
  cfg.token_file = file;
  rig.start(cfg, ClientRig::fast_options("node-a"));
}

void two_nodes(ClientRig& rig) {
  rig.node({"node-a", "zone-a", "r", {"192.168.0.1", "fd00::1"}});
  rig.node({"node-b", "zone-b", "r", {"192.168.0.2"}});
}

TEST(KubeClient, InitialSyncIsPaginatedAndComplete) {
  ClientRig rig;
  two_nodes(rig);
  for (int i = 0; i < 7; ++i) {
    rig.pod(pod("shop", "web-" + std::to_string(i), i % 2 == 0 ? "node-a" : "node-b",
                {"10.1.0." + std::to_string(10 + i), "fd01::" + std::to_string(10 + i)}));
  }
  rig.start("node-a");
  ASSERT_TRUE(rig.client->wait_synced(30s));
  for (int i = 0; i < 7; ++i) {
    EXPECT_EQ(rig.pod_at("10.1.0." + std::to_string(10 + i)), "shop/web-" + std::to_string(i));
    EXPECT_EQ(rig.pod_at("fd01::" + std::to_string(10 + i)), "shop/web-" + std::to_string(i));
  }
  EXPECT_EQ(rig.zone_of_pod_at("10.1.0.11"), "zone-b");
  const auto idx = rig.index.get();
  EXPECT_EQ(idx->pod_count(), 7U);
  EXPECT_EQ(idx->node_count(), 2U);
  EXPECT_EQ(idx->this_zone(), "zone-a");
  ASSERT_TRUE(idx->node_by_ip(IpAddr::parse("192.168.0.2").value()).has_value());
  // Local endpoints: the 4 pods of node-a (two IPs each) and node-a's two addresses.
  const auto local = rig.endpoints.get();
  EXPECT_EQ(local->size(), 10U);
  EXPECT_EQ(local->classify(IpAddr::parse("10.1.0.12").value()), EndpointKind::kLocalPod);
  EXPECT_EQ(local->classify(IpAddr::parse("10.1.0.11").value()), EndpointKind::kOther);
  EXPECT_EQ(local->classify(IpAddr::parse("fd00::1").value()), EndpointKind::kLocalNode);
  // 7 pods in pages of 3: three pod list requests, the later ones with a continue token.
  size_t pod_lists = 0;
  size_t continued = 0;
  for (const auto& r : rig.server->requests()) {
    if (r.target.starts_with("/api/v1/pods?limit=3")) {
      ++pod_lists;
      if (r.target.find("&continue=") != std::string::npos) ++continued;
    }
    EXPECT_EQ(r.token, "fake-token-1");
  }
  EXPECT_EQ(pod_lists, 3U);
  EXPECT_EQ(continued, 2U);
  EXPECT_EQ(metric_value(rig.metrics, "egressd_kube_api_unreachable"), 0);
}

TEST(KubeClient, WatchAppliesAddsUpdatesAndDeletes) {
  ClientRig rig;
  two_nodes(rig);
  rig.pod(pod("shop", "a", "node-a", {"10.1.0.1"}));
  rig.start("node-a");
  ASSERT_TRUE(rig.client->wait_synced(30s));
  ASSERT_TRUE(eventually([&] { return rig.server->open_watches(Resource::kPods) == 1; }));

  rig.pod(pod("shop", "b", "node-b", {"10.1.0.2"}));  // ADDED
  EXPECT_TRUE(eventually([&] { return rig.pod_at("10.1.0.2") == "shop/b"; }));
  EXPECT_TRUE(eventually([&] {
    return rig.endpoints.get()->classify(IpAddr::parse("10.1.0.2").value()) == EndpointKind::kOther;
  }));
  rig.pod(pod("shop", "a", "node-a", {"10.1.0.1"}, "Succeeded"));  // MODIFIED to terminal
  EXPECT_TRUE(eventually([&] { return rig.pod_at("10.1.0.1") == "<none>"; }));
  EXPECT_TRUE(eventually([&] {
    return rig.endpoints.get()->classify(IpAddr::parse("10.1.0.1").value()) == EndpointKind::kOther;
  }));
  rig.server->remove(Resource::kPods, "shop", "b");  // DELETED
  EXPECT_TRUE(eventually([&] { return rig.pod_at("10.1.0.2") == "<none>"; }));
  // A node changing zone relabels its pods.
  rig.pod(pod("shop", "c", "node-b", {"10.1.0.3"}));
  rig.node({"node-b", "zone-c", "r", {"192.168.0.2"}});
  EXPECT_TRUE(eventually([&] { return rig.zone_of_pod_at("10.1.0.3") == "zone-c"; }));
  rig.server->remove(Resource::kNodes, "", "node-b");
  EXPECT_TRUE(eventually([&] {
    return !rig.index.get()->node_by_ip(IpAddr::parse("192.168.0.2").value()).has_value();
  }));
  EXPECT_GE(metric_value(rig.metrics, "egressd_kube_watch_events_total",
                         {{"resource", "pods"}, {"type", "DELETED"}}),
            1);
}

TEST(KubeClient, ReusedIpMapsToTheNewPod) {
  ClientRig rig;
  two_nodes(rig);
  PodSpec old_pod = pod("jobs", "old", "node-a", {"10.1.0.9"});
  old_pod.created = "2024-06-03T08:00:00Z";
  rig.pod(old_pod);
  rig.start("node-a");
  ASSERT_TRUE(rig.client->wait_synced(30s));
  EXPECT_EQ(rig.pod_at("10.1.0.9"), "jobs/old");
  // The new pod is reported Running before the old one's end reaches us.
  PodSpec new_pod = pod("shop", "new", "node-b", {"10.1.0.9"});
  new_pod.created = "2024-06-03T09:00:00Z";
  rig.pod(new_pod);
  EXPECT_TRUE(eventually([&] { return rig.pod_at("10.1.0.9") == "shop/new"; }));
  // The old pod's late DELETED event must not take the address from the new pod.
  rig.server->remove(Resource::kPods, "jobs", "old");
  ASSERT_TRUE(eventually([&] {
    return metric_value(rig.metrics, "egressd_kube_watch_events_total",
                        {{"resource", "pods"}, {"type", "DELETED"}}) >= 1;
  }));
  EXPECT_TRUE(eventually([&] { return rig.index.get()->pod_count() == 1; }));
  EXPECT_EQ(rig.pod_at("10.1.0.9"), "shop/new");
  EXPECT_EQ(rig.zone_of_pod_at("10.1.0.9"), "zone-b");
}

TEST(KubeClient, ExpiredResourceVersionRelists) {
  ClientRig rig;
  two_nodes(rig);
  rig.pod(pod("shop", "a", "node-a", {"10.1.0.1"}));
  rig.pod(pod("shop", "gone", "node-a", {"10.1.0.2"}));
  rig.start("node-a");
  ASSERT_TRUE(rig.client->wait_synced(30s));
  ASSERT_TRUE(eventually([&] { return rig.server->open_watches(Resource::kPods) == 1; }));
  // While the client is disconnected, objects change and etcd compacts the history: resuming
  // the watch from the old resourceVersion gets ERROR 410, and only a new list can catch up.
  rig.server->stop();
  rig.server->remove(Resource::kPods, "shop", "gone");
  rig.pod(pod("shop", "fresh", "node-b", {"10.1.0.3"}));
  rig.server->compact();
  rig.server->start();
  EXPECT_TRUE(eventually([&] { return rig.pod_at("10.1.0.3") == "shop/fresh"; }));
  EXPECT_TRUE(eventually([&] { return rig.pod_at("10.1.0.2") == "<none>"; }));
  EXPECT_EQ(rig.pod_at("10.1.0.1"), "shop/a");
  EXPECT_GE(metric_value(rig.metrics, "egressd_kube_relists_total", {{"resource", "pods"}}), 1);
}

TEST(KubeClient, RotatedTokenFileIsReread) {
  ClientRig rig;
  two_nodes(rig);
  const ScratchDir dir("egd-kube-token");
  const std::string file = dir.path() + "/token";
  start_with_token_file(rig, file, "fake-token-1\n");
  ASSERT_TRUE(rig.client->wait_synced(30s));
  // The kubelet writes a new token and the old one stops being accepted.
  replace_file(file, "fake-token-2\n");
  rig.server->set_token("fake-token-2");
  rig.server->drop_connections();
  rig.pod(pod("shop", "after", "node-a", {"10.1.0.7"}));
  EXPECT_TRUE(eventually([&] { return rig.pod_at("10.1.0.7") == "shop/after"; }));
  bool saw_401 = false;
  bool used_new = false;
  for (const auto& r : rig.server->requests()) {
    saw_401 = saw_401 || r.status == 401;
    used_new = used_new || (r.token == "fake-token-2" && r.status == 200);
  }
  EXPECT_TRUE(saw_401);
  EXPECT_TRUE(used_new);
}

// A token file that is missing when the client starts: no request goes out without the
// credentials the config names (each attempt fails as a request error), and the client syncs
// once the file appears.
TEST(KubeClient, NoRequestWithoutTheTokenFile) {
  ClientRig rig;
  two_nodes(rig);
  const ScratchDir dir("egd-kube-notoken");
  const std::string file = dir.path() + "/token";
  start_with_token_file(rig, file, std::nullopt);
  const auto errors = [&](const char* resource) {
    return metric_value(rig.metrics, "egressd_kube_request_errors_total", {{"resource", resource}});
  };
  EXPECT_TRUE(eventually([&] { return errors("pods") >= 2 && errors("nodes") >= 2; }));
  EXPECT_TRUE(rig.server->requests().empty()) << "a request went out without a token";
  replace_file(file, "fake-token-1\n");
  ASSERT_TRUE(rig.client->wait_synced(30s));
  for (const auto& r : rig.server->requests()) EXPECT_EQ(r.token, "fake-token-1") << r.target;
}

// A token file rotated to something that is no token (here a line break that would add a header
// of its own): the client keeps presenting the token it had, and recovers when a good token is
// written.
TEST(KubeClient, BadRotatedTokenIsNotSent) {
  ClientRig rig;
  two_nodes(rig);
  const ScratchDir dir("egd-kube-badtoken");
  const std::string file = dir.path() + "/token";
  start_with_token_file(rig, file, "fake-token-1\n");
  ASSERT_TRUE(rig.client->wait_synced(30s));
  const size_t before = rig.server->requests().size();
  replace_file(file, "fake-token-2\r\nX-Injected: 1\n");
  rig.server->set_token("fake-token-2");
  rig.server->drop_connections();
  rig.pod(pod("shop", "after", "node-a", {"10.1.0.7"}));
  // Two pod requests refused with 401: the first made the client read the file again before
  // the second.
  const auto pods_refused = [&] {
    const auto all = rig.server->requests();
    size_t n = 0;
    for (size_t i = before; i < all.size(); ++i) {
      n += all[i].status == 401 && all[i].target.starts_with("/api/v1/pods") ? 1 : 0;
    }
    return n;
  };
  EXPECT_TRUE(eventually([&] { return pods_refused() >= 2; }));
  const auto during = rig.server->requests();
  for (size_t i = before; i < during.size(); ++i) {
    EXPECT_EQ(during[i].token, "fake-token-1") << during[i].target;
  }
  EXPECT_EQ(rig.pod_at("10.1.0.7"), "<none>");
  replace_file(file, "fake-token-2\n");
  EXPECT_TRUE(eventually([&] { return rig.pod_at("10.1.0.7") == "shop/after"; }));
}

TEST(KubeClient, KeepsLastIndexWhileUnreachableAndCatchesUp) {
  ClientRig rig;
  two_nodes(rig);
  rig.pod(pod("shop", "a", "node-a", {"10.1.0.1"}));
  rig.start("node-a");
  ASSERT_TRUE(rig.client->wait_synced(30s));
  ASSERT_TRUE(eventually([&] { return rig.server->open_watches(Resource::kPods) == 1; }));
  rig.server->stop();
  EXPECT_TRUE(
      eventually([&] { return metric_value(rig.metrics, "egressd_kube_api_unreachable") == 1; }));
  EXPECT_EQ(rig.pod_at("10.1.0.1"), "shop/a");  // last known index still answers
  rig.pod(pod("shop", "b", "node-b", {"10.1.0.2"}));
  rig.server->start();
  EXPECT_TRUE(eventually([&] { return rig.pod_at("10.1.0.2") == "shop/b"; }));
  EXPECT_TRUE(
      eventually([&] { return metric_value(rig.metrics, "egressd_kube_api_unreachable") == 0; }));
  EXPECT_GE(metric_value(rig.metrics, "egressd_kube_request_errors_total", {{"resource", "pods"}}),
            1);
}

TEST(KubeClient, MalformedWatchLineRestartsTheWatchWithoutLosingEvents) {
  ClientRig rig;
  two_nodes(rig);
  rig.start("node-a");
  ASSERT_TRUE(rig.client->wait_synced(30s));
  ASSERT_TRUE(eventually([&] { return rig.server->open_watches(Resource::kPods) == 1; }));
  rig.server->inject_watch_line(Resource::kPods, R"({"type":"ADDED","object":{"kind":"Pod",)");
  EXPECT_TRUE(eventually([&] {
    return metric_value(rig.metrics, "egressd_kube_invalid_objects_total",
                        {{"resource", "pods"}}) >= 1;
  }));
  rig.pod(pod("shop", "after", "node-a", {"10.1.0.8"}));
  EXPECT_TRUE(eventually([&] { return rig.pod_at("10.1.0.8") == "shop/after"; }));
}

TEST(KubeClient, InvalidObjectInAListIsSkipped) {
  ClientRig rig;
  two_nodes(rig);
  rig.pod(pod("shop", "good", "node-a", {"10.1.0.1"}));
  rig.server->preload(Resource::kPods, "shop", "bad",
                      rig.objects.pod(pod("shop", "bad", "node-a", {"10.1.0.999"})));
  rig.start("node-a");
  ASSERT_TRUE(rig.client->wait_synced(30s));
  EXPECT_EQ(rig.pod_at("10.1.0.1"), "shop/good");
  EXPECT_EQ(metric_value(rig.metrics, "egressd_kube_invalid_objects_total", {{"resource", "pods"}}),
            1);
}

TEST(KubeClient, ServerErrorsAndSlowResponsesAreRetried) {
  ClientRig rig;
  two_nodes(rig);
  rig.pod(pod("shop", "a", "node-a", {"10.1.0.1"}));
  rig.server->fail_next(4, 503);
  rig.server->set_delay(3600s);  // held until the test lets go: every answer times out
  auto options = ClientRig::fast_options("node-a");
  options.timeouts.total = 250ms;
  rig.start(rig.config(), options);
  EXPECT_TRUE(eventually([&] {
    return metric_value(rig.metrics, "egressd_kube_request_errors_total", {{"resource", "pods"}}) >=
           2;
  }));
  EXPECT_FALSE(rig.client->synced());
  rig.server->set_delay(0ms);
  rig.server->drop_connections();  // releases the requests still held
  ASSERT_TRUE(rig.client->wait_synced(30s));
  EXPECT_EQ(rig.pod_at("10.1.0.1"), "shop/a");
}

TEST(KubeClient, ClientCertificateAuthAndServerTrust) {
  ClientRig rig;
  two_nodes(rig);
  rig.pod(pod("shop", "a", "node-a", {"10.1.0.1"}));
  kube::ApiConfig cfg = rig.config("");
  cfg.client_cert_pem = rig.pki.client_cert_pem;
  cfg.client_key_pem = rig.pki.client_key_pem;
  rig.start(cfg, ClientRig::fast_options("node-a"));
  ASSERT_TRUE(rig.client->wait_synced(30s));
  EXPECT_EQ(rig.pod_at("10.1.0.1"), "shop/a");
  for (const auto& r : rig.server->requests()) EXPECT_TRUE(r.client_cert) << r.target;

  // A client that trusts another CA must not talk to this server.
  ClientRig other;
  kube::ApiConfig wrong = other.config();
  wrong.ca_pem = other.pki.other_ca_cert_pem;
  other.start(wrong, ClientRig::fast_options("node-a"));
  EXPECT_TRUE(
      eventually([&] { return metric_value(other.metrics, "egressd_kube_api_unreachable") == 1; }));
  EXPECT_FALSE(other.client->synced());
  EXPECT_TRUE(other.server->requests().empty());
}

// Streaming list (sendInitialEvents, KEP-3157): the initial state from one watch, no list page,
// and the same stream then carries the changes.
TEST(KubeClient, WatchListStreamsTheInitialState) {
  ClientRig rig;
  two_nodes(rig);
  for (int i = 0; i < 5; ++i) {
    rig.pod(pod("shop", "w-" + std::to_string(i), "node-a", {"10.1.1." + std::to_string(i + 1)}));
  }
  auto options = ClientRig::fast_options("node-a");
  options.watch_list = true;
  rig.start(rig.config(), options);
  ASSERT_TRUE(rig.client->wait_synced(30s));
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(rig.pod_at("10.1.1." + std::to_string(i + 1)), "shop/w-" + std::to_string(i));
  }
  EXPECT_EQ(rig.index.get()->node_count(), 2U);
  size_t streams = 0;
  for (const auto& r : rig.server->requests()) {
    EXPECT_EQ(r.target.find("limit="), std::string::npos) << "a list page: " << r.target;
    if (r.target.find("sendInitialEvents=true") != std::string::npos) {
      ++streams;
      EXPECT_NE(r.target.find("resourceVersionMatch=NotOlderThan"), std::string::npos);
    }
  }
  EXPECT_EQ(streams, 2U) << "one per resource";
  rig.pod(pod("shop", "late", "node-b", {"10.1.1.99"}));
  EXPECT_TRUE(eventually([&] { return rig.pod_at("10.1.1.99") == "shop/late"; }));
  rig.server->remove(Resource::kPods, "shop", "w-0");
  EXPECT_TRUE(eventually([&] { return rig.pod_at("10.1.1.1") == "<none>"; }));
}

// A server with the WatchList feature gate off answers 422: the client lists page by page.
TEST(KubeClient, WatchListRefusedFallsBackToPages) {
  FakeApiServerOptions server_options;
  server_options.watch_list = WatchListMode::kForbidden;
  ClientRig rig(std::move(server_options));
  two_nodes(rig);
  rig.pod(pod("shop", "a", "node-a", {"10.1.0.1"}));
  auto options = ClientRig::fast_options("node-a");
  options.watch_list = true;
  rig.start(rig.config(), options);
  ASSERT_TRUE(rig.client->wait_synced(30s));
  EXPECT_EQ(rig.pod_at("10.1.0.1"), "shop/a");
  size_t refused = 0;
  size_t pages = 0;
  for (const auto& r : rig.server->requests()) {
    if (r.target.find("sendInitialEvents=true") != std::string::npos) ++refused;
    if (r.target.find("limit=3") != std::string::npos) ++pages;
  }
  EXPECT_EQ(refused, 2U) << "tried once per resource, then never again";
  EXPECT_EQ(pages, 2U);
  EXPECT_EQ(metric_value(rig.metrics, "egressd_kube_api_unreachable"), 0);
}

// A server older than the feature ignores the parameter: a plain watch without the closing
// bookmark. When the stream ends (timeoutSeconds) the client lists page by page.
TEST(KubeClient, WatchListIgnoredFallsBackToPages) {
  FakeApiServerOptions server_options;
  server_options.watch_list = WatchListMode::kIgnored;
  ClientRig rig(std::move(server_options));
  two_nodes(rig);
  rig.pod(pod("shop", "a", "node-a", {"10.1.0.1"}));
  auto options = ClientRig::fast_options("node-a");
  options.watch_list = true;
  options.watch_list_timeout = 1s;
  rig.start(rig.config(), options);
  ASSERT_TRUE(rig.client->wait_synced(30s));
  EXPECT_EQ(rig.pod_at("10.1.0.1"), "shop/a");
  rig.pod(pod("shop", "b", "node-a", {"10.1.0.2"}));
  EXPECT_TRUE(eventually([&] { return rig.pod_at("10.1.0.2") == "shop/b"; }));
}

}  // namespace
}  // namespace egressd::testing
