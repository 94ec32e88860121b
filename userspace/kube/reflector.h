// Reflector: list+watch of one resource (pods or nodes) into the shared IndexBuilder, the way
// client-go's reflector does it (k8s.io/client-go/tools/cache/reflector.go), per the API concepts
// page (kubernetes.io/docs/reference/using-api/api-concepts/):
//  - paginated list (`limit`, `continue`) without resourceVersion, i.e. a consistent snapshot
//    served from etcd page by page (resourceVersion=0 would let the watch cache answer with all
//    objects in one response, ignoring `limit`);
//  - watch from the list's resourceVersion with allowWatchBookmarks, a server-side
//    timeoutSeconds randomized in [t, 2t) so that agents do not reconnect in lockstep;
//  - 410 Gone (HTTP status or ERROR event): the resourceVersion was compacted away, list again;
//  - any other failure: retry after an exponential backoff with jitter; a watch resumes from the
//    last resourceVersion seen, so nothing is missed while the API server is unreachable.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <stop_token>
#include <string>

#include "egressd/common/log.h"
#include "egressd/common/self_metrics.h"
#include "kube/http_client.h"
#include "kube/index_builder.h"
#include "kube/object_json.h"
#include "kube/watch_event.h"

namespace egressd::kube {

struct ReflectorOptions {
  ObjectKind kind = ObjectKind::kPod;
  uint32_t page_size = 500;
  std::chrono::seconds watch_timeout{300};  // client-go's minWatchTimeout: 5 min
  HttpTimeouts timeouts;
  std::chrono::milliseconds backoff_min{800};  // client-go's reflector backoff: 800 ms .. 30 s
  std::chrono::milliseconds backoff_max{30000};
  // Streaming list ("watch-list", KEP-3157): the initial state comes as the ADDED events of a
  // watch with sendInitialEvents=true, ended by a bookmark annotated k8s.io/initial-events-end,
  // instead of list pages. A server that refuses it (400/422: feature gate off) or ignores it
  // (no such bookmark before the stream's end) is listed page by page from then on.
  bool watch_list = false;
  // timeoutSeconds of the watch-list request: how long an old server that ignores the
  // parameter can keep us waiting for the bookmark.
  std::chrono::seconds watch_list_timeout{60};
};

// The builder and the lock that guards it, shared by the reflectors and the publisher.
struct SharedBuilder {
  std::mutex mutex;
  IndexBuilder builder;
};

class Reflector {
 public:
  Reflector(ReflectorOptions options, std::unique_ptr<HttpClient> http, SharedBuilder& shared,
            SelfMetrics& metrics, std::function<void()> on_synced);

  // The loop; returns when `stop` is requested (the HTTP request in flight is interrupted).
  void run(const std::stop_token& stop) noexcept;

  [[nodiscard]] bool synced() const noexcept { return synced_.load(); }
  // False from the first failed request until the next answer from the server.
  [[nodiscard]] bool reachable() const noexcept { return reachable_.load(); }

 private:
  enum class WatchEnd { kClosed, kExpired, kFailed, kStopped, kUnsupported };

  Status list(const std::stop_token& stop);
  // `initial`: a watch-list (sendInitialEvents=true) that first re-builds the resource's index.
  WatchEnd watch(const std::stop_token& stop, bool initial);
  void mark_synced(const char* how);
  void apply(WatchEvent&& ev);
  void failed(const Error& error);
  void mark_reachable();
  void sleep_backoff(const std::stop_token& stop);
  [[nodiscard]] const char* resource() const noexcept;

  ReflectorOptions options_;
  std::unique_ptr<HttpClient> http_;
  SharedBuilder& shared_;
  std::function<void()> on_synced_;
  WatchParser watch_parser_;
  std::string resource_version_;
  bool watch_list_;  // options_.watch_list until the server shows it does not support it
  std::chrono::milliseconds backoff_;
  std::mt19937_64 rng_;
  std::atomic<bool> synced_{false};
  std::atomic<bool> reachable_{true};
  log::RateLimit log_limit_{std::chrono::seconds(10)};

  Counter& lists_;
  Counter& watches_;
  Counter& relists_;
  Counter& errors_;
  Counter& invalid_;
  Counter& added_;
  Counter& modified_;
  Counter& deleted_;
  Counter& bookmarks_;
  Gauge& synced_gauge_;
};

}  // namespace egressd::kube
