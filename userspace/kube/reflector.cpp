#include "kube/reflector.h"

#include <condition_variable>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "kube/json_reader.h"

namespace egressd::kube {
namespace {

// A list page is held whole while it is parsed; 500 full Pod documents are some 3 MB. A body
// beyond this is not a page of a real API server.
constexpr size_t kMaxPageBytes = size_t{256} << 20;
// One watch event is one object; etcd refuses objects over 1.5 MiB (--max-request-bytes).
constexpr size_t kMaxEventBytes = size_t{16} << 20;

std::string url_escape(std::string_view s) {
  std::string out;
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if ((u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out += c;
    } else {
      out += fmt::format("%{:02X}", u);
    }
  }
  return out;
}

MetricLabels labels(const char* resource) {
  return {{"resource", resource}};
}

MetricLabels labels(const char* resource, const char* type) {
  return {{"resource", resource}, {"type", type}};
}

const char* name_of(ObjectKind kind) {
  return kind == ObjectKind::kPod ? "pods" : "nodes";
}

}  // namespace

Reflector::Reflector(ReflectorOptions options, std::unique_ptr<HttpClient> http,
                     SharedBuilder& shared, SelfMetrics& metrics, std::function<void()> on_synced)
    : options_(options),
      http_(std::move(http)),
      shared_(shared),
      on_synced_(std::move(on_synced)),
      watch_parser_(options.kind),
      watch_list_(options.watch_list),
      backoff_(options.backoff_min),
      rng_(std::random_device{}()),
      lists_(metrics.counter("egressd_kube_list_requests_total",
                             "List page requests sent to the API server.",
                             labels(name_of(options.kind)))),
      watches_(metrics.counter("egressd_kube_watch_requests_total",
                               "Watch requests sent to the API server.",
                               labels(name_of(options.kind)))),
      relists_(metrics.counter("egressd_kube_relists_total",
                               "Full lists after a 410 Gone (resourceVersion compacted away).",
                               labels(name_of(options.kind)))),
      errors_(metrics.counter("egressd_kube_request_errors_total",
                              "Failed list or watch requests (unreachable, timeout, HTTP error, "
                              "corrupt stream), each followed by a backoff.",
                              labels(name_of(options.kind)))),
      invalid_(metrics.counter("egressd_kube_invalid_objects_total",
                               "Objects or watch events that failed validation and were skipped.",
                               labels(name_of(options.kind)))),
      added_(metrics.counter("egressd_kube_watch_events_total", "Watch events received.",
                             labels(name_of(options.kind), "ADDED"))),
      modified_(metrics.counter("egressd_kube_watch_events_total", "Watch events received.",
                                labels(name_of(options.kind), "MODIFIED"))),
      deleted_(metrics.counter("egressd_kube_watch_events_total", "Watch events received.",
                               labels(name_of(options.kind), "DELETED"))),
      bookmarks_(metrics.counter("egressd_kube_watch_events_total", "Watch events received.",
                                 labels(name_of(options.kind), "BOOKMARK"))),
      synced_gauge_(metrics.gauge("egressd_kube_synced",
                                  "1 once the initial list of the resource is indexed.",
                                  labels(name_of(options.kind)))) {}

const char* Reflector::resource() const noexcept {
  return name_of(options_.kind);
}

void Reflector::failed(const Error& error) {
  errors_.inc();
  reachable_.store(false);
  uint64_t suppressed = 0;
  if (log_limit_.allow(suppressed)) {
    spdlog::warn("kube {}: {} (retrying with backoff; indices kept as last known{})", resource(),
                 error.message(),
                 suppressed > 0 ? fmt::format("; {} similar messages suppressed", suppressed)
                                : std::string());
  }
}

void Reflector::mark_reachable() {
  if (!reachable_.exchange(true)) {
    spdlog::info("kube {}: API server answers again (resourceVersion {})", resource(),
                 resource_version_.empty() ? std::string("none: listing") : resource_version_);
  }
}

void Reflector::sleep_backoff(const std::stop_token& stop) {
  // "Equal jitter": half the delay fixed, half random, so that many agents that lost the API
  // server at the same moment do not come back at the same moment.
  const auto half = backoff_.count() / 2;
  std::uniform_int_distribution<int64_t> dist(0, std::max<int64_t>(half, 1));
  const std::chrono::milliseconds delay(half + dist(rng_));
  std::mutex m;
  std::condition_variable_any cv;
  std::unique_lock lock(m);
  cv.wait_for(lock, stop, delay, [] { return false; });
  backoff_ = std::min(backoff_ * 2, options_.backoff_max);
}

void Reflector::mark_synced(const char* how) {
  if (synced_.exchange(true)) return;
  synced_gauge_.set(1);
  spdlog::info("kube {}: initial {} indexed (resourceVersion {})", resource(), how,
               resource_version_);
  on_synced_();
}

void Reflector::run(const std::stop_token& stop) noexcept {
  const std::stop_callback interrupt(stop, [this] { http_->interrupt(); });
  while (!stop.stop_requested()) {
    if (resource_version_.empty() && watch_list_) {
      // The index is rebuilt from the stream; on success resource_version_ is set and the same
      // stream goes on as a plain watch until it ends, then the loop below re-watches.
      switch (watch(stop, true)) {
        case WatchEnd::kClosed: backoff_ = options_.backoff_min; break;
        case WatchEnd::kExpired: relists_.inc(); break;
        case WatchEnd::kFailed: sleep_backoff(stop); break;
        case WatchEnd::kStopped: return;
        case WatchEnd::kUnsupported: watch_list_ = false; break;
      }
      continue;
    }
    if (resource_version_.empty()) {
      if (auto st = list(stop); !st) {
        if (stop.stop_requested()) break;
        failed(st.error());
        sleep_backoff(stop);
        continue;
      }
      backoff_ = options_.backoff_min;
      mark_synced("list");
    }
    switch (watch(stop, false)) {
      case WatchEnd::kClosed: backoff_ = options_.backoff_min; break;  // timeoutSeconds: rewatch
      case WatchEnd::kExpired:
        relists_.inc();
        spdlog::info("kube {}: resourceVersion {} expired (410 Gone): listing again", resource(),
                     resource_version_);
        resource_version_.clear();
        break;
      case WatchEnd::kFailed: sleep_backoff(stop); break;
      case WatchEnd::kStopped: return;
      case WatchEnd::kUnsupported: break;  // only a watch-list ends so
    }
  }
}

Status Reflector::list(const std::stop_token& stop) {
  std::string body;
  std::string token;
  simdjson::dom::parser parser;
  {
    std::lock_guard lock(shared_.mutex);
    shared_.builder.begin_resync(options_.kind == ObjectKind::kPod ? IndexBuilder::Kind::kPods
                                                                   : IndexBuilder::Kind::kNodes);
  }
  std::vector<Pod> pods;
  std::vector<Node> nodes;
  std::string rv;
  while (!stop.stop_requested()) {
    std::string target = fmt::format("/api/v1/{}?limit={}", resource(), options_.page_size);
    if (!token.empty()) target += "&continue=" + url_escape(token);
    body.clear();
    lists_.inc();
    const auto requested = std::chrono::steady_clock::now();
    bool too_big = false;
    auto res = http_->get(
        target,
        [&](std::string_view data) {
          if (body.size() + data.size() > kMaxPageBytes) {
            too_big = true;
            return false;
          }
          body.append(data);
          return true;
        },
        options_.timeouts);
    if (!res) return std::unexpected(std::move(res.error()).wrap("list"));
    if (stop.stop_requested()) return fail(Errc::kIo, "stopped");
    if (too_big) return fail(Errc::kResource, "list: a page larger than 256 MiB");
    if (res->status == 410 && !token.empty()) {
      // The continue token outlived etcd's compaction window: start the list over.
      spdlog::info("kube {}: continue token expired (410 Gone): restarting the list", resource());
      relists_.inc();
      token.clear();
      continue;
    }
    if (res->status == 401) http_->invalidate_token();
    if (res->status != 200) {
      return fail(Errc::kIo, fmt::format("list: HTTP {}: {}", res->status,
                                         quote(res->error_body.substr(0, 300))));
    }
    mark_reachable();
    const auto received = std::chrono::steady_clock::now();
    body.reserve(body.size() + simdjson::SIMDJSON_PADDING);  // parse in place (watch_event.h)
    auto page = parse_list_page(
        parser, body, options_.kind, [&](Pod&& p) { pods.push_back(std::move(p)); },
        [&](Node&& n) { nodes.push_back(std::move(n)); },
        [&](const Error& e) {
          invalid_.inc();
          uint64_t suppressed = 0;
          if (log_limit_.allow(suppressed)) {
            spdlog::warn("kube {}: skipping invalid object: {}", resource(), e.message());
          }
        },
        body.capacity());
    if (!page) return std::unexpected(std::move(page.error()));
    {
      std::lock_guard lock(shared_.mutex);
      for (const Pod& p : pods) shared_.builder.upsert_pod(p);
      for (const Node& n : nodes) shared_.builder.upsert_node(n);
    }
    const auto ms = [](auto d) { return std::chrono::duration<double, std::milli>(d).count(); };
    spdlog::debug(
        "kube {}: list page of {} bytes, {} items: {:.1f} ms to receive, {:.1f} ms to "
        "index",
        resource(), body.size(), page->items, ms(received - requested),
        ms(std::chrono::steady_clock::now() - received));
    pods.clear();
    nodes.clear();
    rv = page->resource_version;
    token = page->continue_token;
    if (token.empty()) break;
  }
  if (stop.stop_requested()) return fail(Errc::kIo, "stopped");
  {
    std::lock_guard lock(shared_.mutex);
    shared_.builder.end_resync(options_.kind == ObjectKind::kPod ? IndexBuilder::Kind::kPods
                                                                 : IndexBuilder::Kind::kNodes);
  }
  resource_version_ = std::move(rv);
  return {};
}

void Reflector::apply(WatchEvent&& ev) {
  switch (ev.type) {
    case WatchType::kAdded: added_.inc(); break;
    case WatchType::kModified: modified_.inc(); break;
    case WatchType::kDeleted: deleted_.inc(); break;
    default: break;
  }
  std::lock_guard lock(shared_.mutex);
  if (const Pod* pod = std::get_if<Pod>(&ev.object)) {
    if (ev.type == WatchType::kDeleted) {
      shared_.builder.delete_pod(pod->namespace_name, pod->name);
    } else {
      shared_.builder.upsert_pod(*pod);
    }
  } else if (const Node* node = std::get_if<Node>(&ev.object)) {
    if (ev.type == WatchType::kDeleted) {
      shared_.builder.delete_node(node->name);
    } else {
      shared_.builder.upsert_node(*node);
    }
  }
}

Reflector::WatchEnd Reflector::watch(const std::stop_token& stop, bool initial) {
  std::uniform_int_distribution<int64_t> dist(0, options_.watch_timeout.count());
  const auto timeout = initial ? options_.watch_list_timeout
                               : options_.watch_timeout + std::chrono::seconds(dist(rng_));
  // A watch-list names no resourceVersion: with NotOlderThan that is a consistent read, the
  // current state of etcd (API concepts, "Streaming lists"); the real server insists on
  // allowWatchBookmarks=true since the end of the initial events is a bookmark.
  const std::string target =
      initial ? fmt::format(
                    "/api/v1/{}?watch=1&sendInitialEvents=true&allowWatchBookmarks=true"
                    "&resourceVersionMatch=NotOlderThan&timeoutSeconds={}",
                    resource(), timeout.count())
              : fmt::format(
                    "/api/v1/{}?watch=1&allowWatchBookmarks=true&resourceVersion={}"
                    "&timeoutSeconds={}",
                    resource(), url_escape(resource_version_), timeout.count());
  const auto kind =
      options_.kind == ObjectKind::kPod ? IndexBuilder::Kind::kPods : IndexBuilder::Kind::kNodes;
  // Initial events still coming: their resourceVersions are no point to resume a watch from.
  bool initial_pending = initial;
  if (initial) {
    std::lock_guard lock(shared_.mutex);
    shared_.builder.begin_resync(kind);
  }
  HttpTimeouts timeouts = options_.timeouts;
  timeouts.total = timeout + std::chrono::seconds(30);  // the server ends the watch first
  std::string pending;
  WatchEnd end = WatchEnd::kClosed;
  std::string problem;
  watches_.inc();
  auto res = http_->get(
      target,
      [&](std::string_view data) {
        if (pending.size() + data.size() > kMaxEventBytes) {
          problem = "watch: an event larger than 16 MiB";
          end = WatchEnd::kFailed;
          return false;
        }
        pending.append(data);
        size_t start = 0;
        for (size_t nl = pending.find('\n'); nl != std::string::npos;
             nl = pending.find('\n', start)) {
          const std::string_view line(pending.data() + start, nl - start);
          start = nl + 1;
          if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
          auto ev = watch_parser_.parse(line);
          if (!ev) {
            // A line that does not parse means the stream lost its framing; restart the watch
            // from the last good resourceVersion instead of guessing.
            invalid_.inc();
            problem = ev.error().message();
            end = WatchEnd::kFailed;
            return false;
          }
          mark_reachable();
          if (ev->type == WatchType::kError) {
            if (ev->code == 410) {
              end = WatchEnd::kExpired;
            } else {
              problem = fmt::format("watch: ERROR event {} {}: {}", ev->code, ev->reason,
                                    quote(ev->message));
              end = WatchEnd::kFailed;
            }
            return false;
          }
          std::string rv = std::move(ev->resource_version);
          const bool initial_end = ev->initial_events_end;
          if (ev->type == WatchType::kBookmark) {
            bookmarks_.inc();
          } else {
            apply(std::move(*ev));
          }
          if (initial_pending && initial_end && !rv.empty()) {
            {
              std::lock_guard lock(shared_.mutex);
              shared_.builder.end_resync(kind);
            }
            initial_pending = false;
            resource_version_ = std::move(rv);
            backoff_ = options_.backoff_min;
            mark_synced("watch-list");
          } else if (!initial_pending && !rv.empty()) {
            resource_version_ = std::move(rv);
          }
        }
        pending.erase(0, start);
        return true;
      },
      timeouts,
      [&](long status) {
        if (status == 200) mark_reachable();
      });
  if (stop.stop_requested()) return WatchEnd::kStopped;
  if (!res) {
    failed(std::move(res.error()).wrap("watch"));
    return WatchEnd::kFailed;
  }
  if (initial_pending && (res->status == 400 || res->status == 422)) {
    // The feature gate is off (422 Invalid: "sendInitialEvents is forbidden for watch unless
    // the WatchList feature gate is enabled") or the parameters are not understood.
    spdlog::info(
        "kube {}: the API server refuses sendInitialEvents (HTTP {}): listing page by "
        "page instead",
        resource(), res->status);
    return WatchEnd::kUnsupported;
  }
  if (initial_pending && res->status == 200 && end == WatchEnd::kClosed) {
    // An API server older than the feature ignores the parameter: a plain watch from "now"
    // sends every object as ADDED but never the closing bookmark.
    spdlog::info(
        "kube {}: no initial-events-end bookmark within {} s: the API server does not "
        "support sendInitialEvents; listing page by page instead",
        resource(), timeout.count());
    return WatchEnd::kUnsupported;
  }
  if (res->status == 410) return WatchEnd::kExpired;
  if (res->status != 200) {
    if (res->status == 401) http_->invalidate_token();
    failed(Error(Errc::kIo, fmt::format("watch: HTTP {}: {}", res->status,
                                        quote(res->error_body.substr(0, 300)))));
    return WatchEnd::kFailed;
  }
  if (end == WatchEnd::kFailed) failed(Error(Errc::kParse, problem));
  return end;
}

}  // namespace egressd::kube
