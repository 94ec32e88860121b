// FakeKubeApiServer: a FAKE Kubernetes API server for tests and benchmarks — not a real one, and
// only the part of the protocol egressd uses, but that part as the real server speaks it
// (kubernetes.io/docs/reference/using-api/api-concepts/):
//  - HTTPS (TestPki), a bearer token it checks (401 Status otherwise), or a client certificate
//    signed by the test CA;
//  - GET /api/v1/{pods,nodes}?limit=&continue= : PodList/NodeList pages in key order with
//    metadata.resourceVersion, metadata.continue (base64 JSON like the real token) and
//    remainingItemCount; an expired continue token is 410 Expired;
//  - ?watch=1&resourceVersion=&allowWatchBookmarks=&timeoutSeconds= : chunked newline-delimited
//    events ADDED/MODIFIED/DELETED, BOOKMARK, and ERROR 410 for a compacted resourceVersion;
//  - &sendInitialEvents=true&resourceVersionMatch=NotOlderThan : a streaming list (WatchListMode);
//  - one global resourceVersion bumped by every change, stamped into the object (as etcd does).
// Faults on demand: dropped connections, delayed responses, HTTP errors, garbage lines, restart.
// Objects are stored as the full JSON documents the tests give it (objects.h builds them from the
// real-format fixture tests/fixtures/inventory/cluster.json).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "test_pki.h"

namespace egressd::testing {

enum class Resource { kPods, kNodes };

// How the fake answers a watch with sendInitialEvents=true (KEP-3157 "watch-list").
enum class WatchListMode {
  kSupported,  // every object as ADDED, then a BOOKMARK annotated k8s.io/initial-events-end
  kForbidden,  // 422 Invalid, as a server with the WatchList feature gate off
  kIgnored,    // as a server older than the feature: a plain watch from "now"
};

struct FakeApiServerOptions {
  std::string token = "fake-token-1";
  // Returns an unbound TCP socket; lets a test create it inside a network namespace. Default:
  // socket(AF_INET, SOCK_STREAM) in the caller's namespace.
  std::function<int()> make_socket;
  std::chrono::milliseconds bookmark_interval{0};  // 0: no bookmarks
  WatchListMode watch_list = WatchListMode::kSupported;
};

struct FakeRequest {
  std::string target;  // "/api/v1/pods?limit=500"
  std::string token;   // the bearer token presented ("" if none)
  bool client_cert = false;
  int status = 0;
};

class FakeKubeApiServer {
 public:
  FakeKubeApiServer(const TestPki& pki, FakeApiServerOptions options);
  ~FakeKubeApiServer();
  FakeKubeApiServer(const FakeKubeApiServer&) = delete;
  FakeKubeApiServer& operator=(const FakeKubeApiServer&) = delete;

  [[nodiscard]] uint16_t port() const;
  [[nodiscard]] std::string url() const;  // "https://127.0.0.1:PORT"

  // Changes, each with a new resourceVersion and a watch event. `json` is a full object; its
  // metadata.resourceVersion is replaced. Upserting an existing key is MODIFIED.
  void upsert(Resource r, const std::string& ns, const std::string& name, std::string json);
  void remove(Resource r, const std::string& ns, const std::string& name);
  // Bulk load without events (a cluster that existed before anyone watched).
  void preload(Resource r, const std::string& ns, const std::string& name, std::string json);

  // Forgets every event so far: watches and continue tokens from older versions get 410.
  void compact();
  void set_token(std::string token);
  // Closes every open connection mid-stream (no terminating chunk), as a crashing server would.
  void drop_connections();
  // Waits this long before answering each request.
  void set_delay(std::chrono::milliseconds delay);
  // The next `count` requests are answered with `status` (500, 503, 429, ...).
  void fail_next(int count, int status);
  // Writes `line` raw into every open watch of `r` (malformed JSON tests).
  void inject_watch_line(Resource r, const std::string& line);

  // Stops listening and closes every connection; start() listens again on the same port with
  // the same objects and resourceVersion (an API server restart; etcd keeps the state).
  void stop();
  void start();

  [[nodiscard]] std::vector<FakeRequest> requests() const;
  [[nodiscard]] size_t open_watches(Resource r) const;
  [[nodiscard]] uint64_t resource_version() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace egressd::testing
