#include "fake_kube_apiserver.h"

#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string_view>
#include <thread>

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nlohmann/json.hpp>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

namespace egressd::testing {
namespace {

using Clock = std::chrono::steady_clock;

std::string status_json(int code, std::string_view reason, std::string_view message) {
  return nlohmann::json{
      {"kind", "Status"},    {"apiVersion", "v1"}, {"metadata", nlohmann::json::object()},
      {"status", "Failure"}, {"message", message}, {"reason", reason},
      {"code", code}}
      .dump();
}

const char* reason_phrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 401: return "Unauthorized";
    case 404: return "Not Found";
    case 410: return "Gone";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Error";
  }
}

// base64url without padding, as Go's base64.RawURLEncoding that the real continue token uses.
std::string b64url(std::string_view in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (const char c : in) {
    acc = (acc << 8) | static_cast<unsigned char>(c);
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += kAlphabet[(acc >> bits) & 63];
    }
  }
  if (bits > 0) out += kAlphabet[(acc << (6 - bits)) & 63];
  return out;
}

std::string b64url_decode(std::string_view in) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (const char c : in) {
    int v = -1;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    if (c >= '0' && c <= '9') v = c - '0' + 52;
    if (c == '-' || c == '+') v = 62;
    if (c == '_' || c == '/') v = 63;
    if (v < 0) continue;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return out;
}

size_t token_offset(const std::string& token) {
  const auto j = nlohmann::json::parse(b64url_decode(token), nullptr, false);
  if (j.is_discarded() || !j.contains("offset") || !j["offset"].is_number_unsigned()) return 0;
  return j["offset"].get<size_t>();
}

std::string url_decode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += s[i] == '+' ? ' ' : s[i];
    }
  }
  return out;
}

// Sets metadata.resourceVersion: the first "resourceVersion" key of a compact document is the
// object's (apiVersion, kind, metadata come first, and metadata has no nested one before it).
std::string stamp(std::string json, uint64_t rv) {
  static constexpr std::string_view kKey = "\"resourceVersion\":\"";
  const size_t at = json.find(kKey);
  if (at == std::string::npos) throw std::invalid_argument("object without resourceVersion");
  const size_t begin = at + kKey.size();
  const size_t end = json.find('"', begin);
  json.replace(begin, end - begin, std::to_string(rv));
  return json;
}

struct Event {
  uint64_t rv;
  Resource resource;
  std::string line;  // {"type":...,"object":...}\n
};

}  // namespace

struct FakeKubeApiServer::Impl {
  TestPki pki;
  FakeApiServerOptions options;
  SSL_CTX* ctx = nullptr;

  mutable std::mutex mu;
  std::condition_variable cv;
  std::map<std::string, std::string> objects[2];  // key -> stamped JSON, in key order like etcd
  std::deque<Event> events;
  uint64_t rv = 1000;
  uint64_t compacted = 0;
  std::string token;
  std::chrono::milliseconds delay{0};
  int fail_count = 0;
  int fail_status = 0;
  uint64_t drop_generation = 0;
  bool stopping = false;
  std::vector<FakeRequest> log;
  size_t watches[2] = {0, 0};
  std::vector<std::pair<Resource, std::string>> injected;

  int listen_fd = -1;
  int wake[2] = {-1, -1};
  uint16_t port = 0;
  std::thread acceptor;
  std::vector<std::thread> connections;
  std::set<int> open_fds;

  static size_t idx(Resource r) { return r == Resource::kPods ? 0 : 1; }
  static const char* kind(Resource r) { return r == Resource::kPods ? "Pod" : "Node"; }

  void record(Resource r, const char* type, const std::string& stamped) {
    events.push_back({rv, r, fmt::format("{{\"type\":\"{}\",\"object\":{}}}\n", type, stamped)});
    cv.notify_all();
  }

  void listen_again();
  void accept_loop();
  void serve(int fd);
  bool handle(SSL* ssl, const std::string& head);
  bool send_response(SSL* ssl, int status, const std::string& body);
  bool serve_list(SSL* ssl, Resource r, std::map<std::string, std::string>& q);
  bool serve_watch(SSL* ssl, Resource r, std::map<std::string, std::string>& q);
};

namespace {

bool send_all(SSL* ssl, std::string_view data) {
  while (!data.empty()) {
    const int n =
        SSL_write(ssl, data.data(), static_cast<int>(std::min<size_t>(data.size(), 1 << 20)));
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

bool send_chunk(SSL* ssl, std::string_view data) {
  if (data.empty()) return true;
  return send_all(ssl, fmt::format("{:x}\r\n", data.size())) && send_all(ssl, data) &&
         send_all(ssl, "\r\n");
}

}  // namespace

FakeKubeApiServer::FakeKubeApiServer(const TestPki& pki, FakeApiServerOptions options)
    : impl_(std::make_unique<Impl>()) {
  impl_->pki = pki;
  impl_->options = std::move(options);
  impl_->token = impl_->options.token;
  // OpenSSL writes with write(2): a client that hung up would kill the test process with SIGPIPE.
  ::signal(SIGPIPE, SIG_IGN);
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  impl_->ctx = ctx;
  const auto load = [](const std::string& pem_text, auto reader) {
    BIO* bio = BIO_new_mem_buf(pem_text.data(), static_cast<int>(pem_text.size()));
    auto* obj = reader(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    if (obj == nullptr) throw std::runtime_error("fake API server: bad PEM");
    return obj;
  };
  X509* cert = load(pki.server_cert_pem, PEM_read_bio_X509);
  EVP_PKEY* key = load(pki.server_key_pem, PEM_read_bio_PrivateKey);
  X509* ca = load(pki.ca_cert_pem, PEM_read_bio_X509);
  SSL_CTX_use_certificate(ctx, cert);
  SSL_CTX_use_PrivateKey(ctx, key);
  X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx), ca);
  X509_free(cert);
  EVP_PKEY_free(key);
  X509_free(ca);
  // Ask for a client certificate but do not require one: bearer tokens are the other way in,
  // as on a real API server.
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  if (::pipe(impl_->wake) != 0) throw std::runtime_error("fake API server: pipe");
  start();
}

FakeKubeApiServer::~FakeKubeApiServer() {
  stop();
  SSL_CTX_free(impl_->ctx);
  ::close(impl_->wake[0]);
  ::close(impl_->wake[1]);
}

void FakeKubeApiServer::Impl::listen_again() {
  listen_fd = options.make_socket ? options.make_socket() : ::socket(AF_INET, SOCK_STREAM, 0);
  if (listen_fd < 0) throw std::runtime_error("fake API server: socket");
  const int one = 1;
  ::setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(listen_fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::listen(listen_fd, 64) != 0) {
    throw std::runtime_error(fmt::format("fake API server: bind/listen port {}", port));
  }
  socklen_t len = sizeof(addr);
  ::getsockname(listen_fd, reinterpret_cast<sockaddr*>(&addr), &len);
  port = ntohs(addr.sin_port);
}

void FakeKubeApiServer::start() {
  std::lock_guard lock(impl_->mu);
  if (impl_->listen_fd >= 0) return;
  impl_->stopping = false;
  impl_->listen_again();
  impl_->acceptor = std::thread([impl = impl_.get()] { impl->accept_loop(); });
}

void FakeKubeApiServer::stop() {
  {
    std::lock_guard lock(impl_->mu);
    if (impl_->listen_fd < 0) return;
    impl_->stopping = true;
    for (const int fd : impl_->open_fds) ::shutdown(fd, SHUT_RDWR);
    impl_->cv.notify_all();
  }
  const char byte = 1;
  (void)!::write(impl_->wake[1], &byte, 1);
  impl_->acceptor.join();
  std::vector<std::thread> conns;
  {
    std::lock_guard lock(impl_->mu);
    conns.swap(impl_->connections);
  }
  for (auto& t : conns) t.join();
  // The byte written above, read outside the lock (the acceptor, its only other reader, is gone).
  char drain = 0;
  (void)!::read(impl_->wake[0], &drain, 1);
  std::lock_guard lock(impl_->mu);
  ::close(impl_->listen_fd);
  impl_->listen_fd = -1;
}

void FakeKubeApiServer::Impl::accept_loop() {
  while (true) {
    pollfd fds[2] = {{listen_fd, POLLIN, 0}, {wake[0], POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) continue;
    if ((fds[1].revents & POLLIN) != 0) return;
    const int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    std::lock_guard lock(mu);
    if (stopping) {
      ::close(fd);
      return;
    }
    // Responses go out in several TLS records; without TCP_NODELAY, Nagle holds the last small
    // one until the client's delayed ACK (40 ms a request).
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    open_fds.insert(fd);
    connections.emplace_back([this, fd] { serve(fd); });
  }
}

void FakeKubeApiServer::Impl::serve(int fd) {
  SSL* ssl = SSL_new(ctx);
  SSL_set_fd(ssl, fd);
  if (SSL_accept(ssl) == 1) {
    std::string buffer;
    char chunk[16384];
    while (true) {
      const size_t end = buffer.find("\r\n\r\n");
      if (end != std::string::npos) {
        const std::string head = buffer.substr(0, end);
        buffer.erase(0, end + 4);
        if (!handle(ssl, head)) break;
        continue;
      }
      const int n = SSL_read(ssl, chunk, sizeof(chunk));
      if (n <= 0) break;
      buffer.append(chunk, static_cast<size_t>(n));
    }
  }
  SSL_free(ssl);
  std::lock_guard lock(mu);
  open_fds.erase(fd);
  ::close(fd);
}

bool FakeKubeApiServer::Impl::send_response(SSL* ssl, int status, const std::string& body) {
  const std::string head =
      fmt::format("HTTP/1.1 {} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                  status, reason_phrase(status), body.size());
  return send_all(ssl, head + body);
}

bool FakeKubeApiServer::Impl::handle(SSL* ssl, const std::string& head) {
  const size_t line_end = head.find("\r\n");
  const std::string request_line = head.substr(0, line_end);
  const size_t sp1 = request_line.find(' ');
  const size_t sp2 = request_line.rfind(' ');
  if (sp1 == std::string::npos || sp2 <= sp1) return false;
  const std::string target = request_line.substr(sp1 + 1, sp2 - sp1 - 1);
  FakeRequest req;
  req.target = target;
  for (size_t pos = line_end; pos != std::string::npos && pos < head.size();) {
    const size_t next = head.find("\r\n", pos + 2);
    const std::string h =
        head.substr(pos + 2, next == std::string::npos ? std::string::npos : next - pos - 2);
    if (h.size() > 22 && strncasecmp(h.c_str(), "Authorization: Bearer ", 22) == 0) {
      req.token = h.substr(22);
    }
    pos = next;
  }
  X509* peer = SSL_get1_peer_certificate(ssl);
  req.client_cert = peer != nullptr && SSL_get_verify_result(ssl) == X509_V_OK;
  X509_free(peer);

  std::unique_lock lock(mu);
  const uint64_t generation = drop_generation;
  if (delay.count() > 0) {
    cv.wait_for(lock, delay, [&] { return stopping || drop_generation != generation; });
    if (stopping || drop_generation != generation) return false;
  }
  int status = 0;
  if (fail_count > 0) {
    --fail_count;
    status = fail_status;
  } else if (!req.client_cert && req.token != token) {
    status = 401;
  }
  const std::string path = target.substr(0, target.find('?'));
  Resource r = Resource::kPods;
  if (status == 0) {
    if (path == "/api/v1/pods") {
      r = Resource::kPods;
    } else if (path == "/api/v1/nodes") {
      r = Resource::kNodes;
    } else {
      status = 404;
    }
  }
  req.status = status == 0 ? 200 : status;
  log.push_back(req);
  lock.unlock();
  if (status != 0) {
    return send_response(ssl, status,
                         status_json(status, reason_phrase(status), "injected by the fake"));
  }
  std::map<std::string, std::string> q;
  if (const size_t qm = target.find('?'); qm != std::string::npos) {
    std::string_view rest(target);
    rest.remove_prefix(qm + 1);
    while (!rest.empty()) {
      const size_t amp = rest.find('&');
      const std::string_view kv = rest.substr(0, amp);
      const size_t eq = kv.find('=');
      q[std::string(kv.substr(0, eq))] =
          eq == std::string_view::npos ? "" : url_decode(kv.substr(eq + 1));
      if (amp == std::string_view::npos) break;
      rest.remove_prefix(amp + 1);
    }
  }
  if (q["watch"] == "1" || q["watch"] == "true") return serve_watch(ssl, r, q);
  return serve_list(ssl, r, q);
}

bool FakeKubeApiServer::Impl::serve_list(SSL* ssl, Resource r,
                                         std::map<std::string, std::string>& q) {
  std::unique_lock lock(mu);
  const auto& objs = objects[idx(r)];
  uint64_t list_rv = rv;
  std::string start;
  if (!q["continue"].empty()) {
    const auto token_json = nlohmann::json::parse(b64url_decode(q["continue"]), nullptr, false);
    if (token_json.is_discarded() || !token_json.contains("rv")) {
      lock.unlock();
      return send_response(ssl, 400, status_json(400, "BadRequest", "invalid continue token"));
    }
    list_rv = token_json["rv"].get<uint64_t>();
    start = token_json["start"].get<std::string>();
    if (list_rv < compacted) {
      lock.unlock();
      return send_response(
          ssl, 410,
          status_json(410, "Expired",
                      "The provided continue parameter is too old to display a consistent list "
                      "result. You can start a new list without the continue parameter."));
    }
  }
  size_t limit = q["limit"].empty() ? 0 : std::stoull(q["limit"]);
  if (limit == 0) limit = SIZE_MAX;  // as the real server: 0 or absent is no limit
  // The page is written straight into one buffer reused by this connection (status line,
  // headers, body; sized first, then one TLS write): at 100k pods a list is ~700 MB, and
  // growing and copying a fresh multi-megabyte string per page made the fake, not the client,
  // the bottleneck (tens of ms of page faults and memmove per page).
  auto it = objs.lower_bound(start);
  auto end = it;
  size_t n = 0;
  size_t items_bytes = 0;
  for (; end != objs.end() && n < limit; ++end, ++n) items_bytes += end->second.size();
  items_bytes += n > 0 ? n - 1 : 0;  // the commas
  std::string meta = fmt::format("\"resourceVersion\":\"{}\"", list_rv);
  if (end != objs.end()) {
    // Items before this page, carried in the token so that remainingItemCount needs no walk
    // over the rest of the map (the real server asks etcd for a count; the token stays opaque).
    const size_t offset = q["continue"].empty() ? 0 : token_offset(q["continue"]);
    const size_t remaining = objs.size() - std::min(objs.size(), offset + n);
    const std::string token_text = nlohmann::json{
        {"v", "meta.k8s.io/v1"},
        {"rv", list_rv},
        {"start", std::prev(end)->first + '\0'},
        {"offset", offset + n}}.dump();
    meta += fmt::format(",\"continue\":\"{}\",\"remainingItemCount\":{}", b64url(token_text),
                        remaining);
  }
  const std::string prefix = fmt::format(
      "{{\"kind\":\"{}List\",\"apiVersion\":\"v1\",\"metadata\":{{{}}},\"items\":[", kind(r), meta);
  const size_t body_bytes = prefix.size() + items_bytes + 2;
  thread_local std::string out;
  out.clear();
  out.reserve(body_bytes + 256);
  out +=
      fmt::format("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                  body_bytes);
  out += prefix;
  for (bool first = true; it != end; ++it, first = false) {
    if (!first) out += ',';
    out += it->second;
  }
  out += "]}";
  lock.unlock();
  return send_all(ssl, out);
}

bool FakeKubeApiServer::Impl::serve_watch(SSL* ssl, Resource r,
                                          std::map<std::string, std::string>& q) {
  const bool bookmarks = q["allowWatchBookmarks"] == "true" || q["allowWatchBookmarks"] == "1";
  // sendInitialEvents, validated as the real server does (staging/src/k8s.io/apimachinery/pkg/
  // apis/meta/internalversion/validation: it needs resourceVersionMatch=NotOlderThan and
  // allowWatchBookmarks=true), or refused or ignored per options.watch_list.
  const bool initial =
      q["sendInitialEvents"] == "true" && options.watch_list != WatchListMode::kIgnored;
  if (initial) {
    std::string problem;
    if (options.watch_list == WatchListMode::kForbidden) {
      problem =
          "sendInitialEvents is forbidden for watch unless the WatchList feature gate is "
          "enabled";
    } else if (q["resourceVersionMatch"] != "NotOlderThan") {
      problem = "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan";
    } else if (!bookmarks) {
      problem = "sendInitialEvents requires setting allowWatchBookmarks to true";
    }
    if (!problem.empty()) return send_response(ssl, 422, status_json(422, "Invalid", problem));
  }
  const auto deadline = q["timeoutSeconds"].empty()
                            ? Clock::time_point::max()
                            : Clock::now() + std::chrono::seconds(std::stoll(q["timeoutSeconds"]));
  if (!send_all(ssl,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                "Transfer-Encoding: chunked\r\n\r\n")) {
    return false;
  }
  std::unique_lock lock(mu);
  const uint64_t generation = drop_generation;
  uint64_t from = 0;
  std::string out;
  const std::string& rv_param = q["resourceVersion"];
  if (rv_param.empty() || rv_param == "0") {
    // "Start at most recent": synthetic ADDED events for every object, then changes.
    for (const auto& [key, json] : objects[idx(r)]) {
      out += fmt::format("{{\"type\":\"ADDED\",\"object\":{}}}\n", json);
    }
    from = rv;
    if (initial) {
      out += fmt::format(
          "{{\"type\":\"BOOKMARK\",\"object\":{{\"kind\":\"{}\",\"apiVersion\":\"v1\","
          "\"metadata\":{{\"resourceVersion\":\"{}\",\"creationTimestamp\":null,"
          "\"annotations\":{{\"k8s.io/initial-events-end\":\"true\"}}}}}}}}\n",
          kind(r), rv);
    }
  } else {
    from = std::stoull(rv_param);
    if (from < compacted) {
      lock.unlock();
      const std::string line = fmt::format(
          "{{\"type\":\"ERROR\",\"object\":{}}}\n",
          status_json(410, "Expired",
                      fmt::format("too old resource version: {} ({})", from, compacted)));
      return send_chunk(ssl, line) && send_all(ssl, "0\r\n\r\n");
    }
  }
  ++watches[idx(r)];
  size_t injected_seen = injected.size();
  auto next_bookmark = Clock::now() + options.bookmark_interval;
  bool ok = true;
  while (true) {
    for (const Event& e : events) {
      if (e.rv > from && e.resource == r) out += e.line;
    }
    if (!events.empty()) from = std::max(from, events.back().rv);
    for (; injected_seen < injected.size(); ++injected_seen) {
      if (injected[injected_seen].first == r) out += injected[injected_seen].second;
    }
    if (bookmarks && options.bookmark_interval.count() > 0 && Clock::now() >= next_bookmark) {
      out += fmt::format(
          "{{\"type\":\"BOOKMARK\",\"object\":{{\"kind\":\"{}\",\"apiVersion\":\"v1\","
          "\"metadata\":{{\"resourceVersion\":\"{}\",\"creationTimestamp\":null}}}}}}\n",
          kind(r), rv);
      from = std::max(from, rv);
      next_bookmark = Clock::now() + options.bookmark_interval;
    }
    if (!out.empty()) {
      lock.unlock();
      ok = send_chunk(ssl, out);
      out.clear();
      lock.lock();
      if (!ok) break;
    }
    if (stopping || drop_generation != generation) {
      ok = false;  // dropped mid-stream: no terminating chunk
      break;
    }
    if (Clock::now() >= deadline) break;
    auto wake_at = std::min(deadline, Clock::now() + std::chrono::milliseconds(200));
    if (bookmarks && options.bookmark_interval.count() > 0)
      wake_at = std::min(wake_at, next_bookmark);
    const size_t known = events.size();
    cv.wait_until(lock, wake_at, [&] {
      return stopping || drop_generation != generation || events.size() != known ||
             injected_seen != injected.size() || (!events.empty() && events.back().rv > from);
    });
  }
  --watches[idx(r)];
  lock.unlock();
  return ok && send_all(ssl, "0\r\n\r\n");
}

uint16_t FakeKubeApiServer::port() const {
  std::lock_guard lock(impl_->mu);
  return impl_->port;
}

std::string FakeKubeApiServer::url() const {
  return fmt::format("https://127.0.0.1:{}", port());
}

void FakeKubeApiServer::upsert(Resource r, const std::string& ns, const std::string& name,
                               std::string json) {
  std::lock_guard lock(impl_->mu);
  auto& objs = impl_->objects[Impl::idx(r)];
  const std::string key = ns.empty() ? name : ns + "/" + name;
  const bool exists = objs.contains(key);
  std::string stamped = stamp(std::move(json), ++impl_->rv);
  impl_->record(r, exists ? "MODIFIED" : "ADDED", stamped);
  objs[key] = std::move(stamped);
}

void FakeKubeApiServer::remove(Resource r, const std::string& ns, const std::string& name) {
  std::lock_guard lock(impl_->mu);
  auto& objs = impl_->objects[Impl::idx(r)];
  const auto it = objs.find(ns.empty() ? name : ns + "/" + name);
  if (it == objs.end()) return;
  // The DELETED event carries the object's last state with the deletion's resourceVersion.
  impl_->record(r, "DELETED", stamp(it->second, ++impl_->rv));
  objs.erase(it);
}

void FakeKubeApiServer::preload(Resource r, const std::string& ns, const std::string& name,
                                std::string json) {
  std::lock_guard lock(impl_->mu);
  impl_->objects[Impl::idx(r)][ns.empty() ? name : ns + "/" + name] =
      stamp(std::move(json), ++impl_->rv);
}

void FakeKubeApiServer::compact() {
  std::lock_guard lock(impl_->mu);
  impl_->compacted = impl_->rv;
  impl_->events.clear();
}

void FakeKubeApiServer::set_token(std::string token) {
  std::lock_guard lock(impl_->mu);
  impl_->token = std::move(token);
}

void FakeKubeApiServer::drop_connections() {
  std::lock_guard lock(impl_->mu);
  ++impl_->drop_generation;
  for (const int fd : impl_->open_fds) ::shutdown(fd, SHUT_RDWR);
  impl_->cv.notify_all();
}

void FakeKubeApiServer::set_delay(std::chrono::milliseconds delay) {
  std::lock_guard lock(impl_->mu);
  impl_->delay = delay;
  impl_->cv.notify_all();
}

void FakeKubeApiServer::fail_next(int count, int status) {
  std::lock_guard lock(impl_->mu);
  impl_->fail_count = count;
  impl_->fail_status = status;
}

void FakeKubeApiServer::inject_watch_line(Resource r, const std::string& line) {
  std::lock_guard lock(impl_->mu);
  impl_->injected.emplace_back(r, line + "\n");
  impl_->cv.notify_all();
}

std::vector<FakeRequest> FakeKubeApiServer::requests() const {
  std::lock_guard lock(impl_->mu);
  return impl_->log;
}

size_t FakeKubeApiServer::open_watches(Resource r) const {
  std::lock_guard lock(impl_->mu);
  return impl_->watches[Impl::idx(r)];
}

uint64_t FakeKubeApiServer::resource_version() const {
  std::lock_guard lock(impl_->mu);
  return impl_->rv;
}

}  // namespace egressd::testing
