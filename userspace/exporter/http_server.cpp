#include "exporter/http_server.h"

#include <civetweb.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstring>
#include <mutex>
#include <thread>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "egressd/common/ip.h"
#include "egressd/common/log.h"

namespace egressd::exporter {

namespace {

constexpr unsigned kFeatureIpv6 = 8;  // mg_check_feature bit for USE_IPV6

int handle(mg_connection* conn, void* data) {
  const auto* route = static_cast<const HttpRoute*>(data);
  const mg_request_info* info = mg_get_request_info(conn);
  // civetweb hands a route every path it prefixes, in any case (/metricsX, /METRICS,
  // /healthz/x): a route answers its own path only.
  if (info == nullptr || info->local_uri == nullptr || route->path != info->local_uri) {
    mg_send_http_error(conn, 404, "%s", "not found\n");
    return 404;
  }
  if (info == nullptr || (std::string_view(info->request_method) != "GET" &&
                          std::string_view(info->request_method) != "HEAD")) {
    mg_send_http_error(conn, 405, "%s", "only GET and HEAD\n");
    return 405;
  }
  const HttpResponse r = route->handler();
  mg_response_header_start(conn, r.status);
  mg_response_header_add(conn, "Content-Type", r.content_type.c_str(), -1);
  mg_response_header_add(conn, "Content-Length", std::to_string(r.body.size()).c_str(), -1);
  mg_response_header_add(conn, "Cache-Control", "no-store", -1);
  mg_response_header_send(conn);
  if (std::string_view(info->request_method) == "GET" && !r.body.empty()) {
    mg_write(conn, r.body.data(), r.body.size());
  }
  return r.status;
}

// Connects to the server and closes at once: wakes civetweb's master thread from its poll().
void poke(const IpAddr& listen_ip, uint16_t port) {
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(port);
  const IpAddr target = listen_ip.is_unspecified() ? IpAddr::v4(0x7f000001) : listen_ip;
  std::memcpy(&sin.sin_addr, target.v4_bytes(), 4);
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  // Success or failure does not matter: the attempt alone wakes the poll().
  if (connect(fd, reinterpret_cast<const sockaddr*>(&sin), sizeof(sin)) != 0) {
    spdlog::trace("http server wake-up connect failed: errno {}", errno);
  }
  close(fd);
}

}  // namespace

struct HttpServer::Context {
  mg_context* mg = nullptr;
  IpAddr listen_ip;
  uint16_t port = 0;
  std::vector<HttpRoute> routes;  // stable storage: civetweb keeps pointers to the routes

  ~Context() {
    if (mg == nullptr) return;
    // civetweb's master thread polls its listening sockets with a 2 s timeout
    // (SOCKET_TIMEOUT_QUANTUM) and checks the stop flag only between polls, so mg_stop() alone
    // takes up to 2 s, longer than the rest of the shutdown together. Poke the socket until it
    // returns.
    std::atomic<bool> stopped{false};
    std::jthread stopper([&] {
      mg_stop(mg);
      stopped = true;
    });
    while (!stopped && port != 0 && listen_ip.is_v4()) {
      poke(listen_ip, port);
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
};

Result<std::unique_ptr<HttpServer>> HttpServer::start(const std::string& address, uint16_t port,
                                                      std::vector<HttpRoute> routes) {
  static std::once_flag init_once;
  std::call_once(init_once, [] { mg_init_library(0); });

  const auto ip = IpAddr::parse(address);
  if (!ip) {
    return fail(Errc::kInvalidArgument,
                "http listen address \"" + address + "\" is not an IPv4 or IPv6 literal");
  }
  std::string listen;
  if (ip->is_v4()) {
    listen = address + ":" + std::to_string(port);
  } else {
    if (mg_check_feature(kFeatureIpv6) == 0) {
      return fail(Errc::kUnsupported,
                  "http listen address \"" + address +
                      "\": this build's HTTP server (civetweb) has no IPv6 support; use an IPv4 "
                      "address such as 0.0.0.0");
    }
    listen = "[" + address + "]:" + std::to_string(port);
  }

  std::unique_ptr<HttpServer> server(new HttpServer());
  server->ctx_ = std::make_unique<Context>();
  server->ctx_->routes = std::move(routes);
  const std::array<const char*, 7> options = {
      "listening_ports",    listen.c_str(), "num_threads", "4",
      "request_timeout_ms", "10000",        nullptr};
  mg_callbacks callbacks{};
  mg_init_data init{&callbacks, nullptr, const_cast<const char**>(options.data())};
  std::array<char, 256> text{};
  unsigned code = 0;
  mg_error_data error{&code, text.data(), text.size()};
  server->ctx_->mg = mg_start2(&init, &error);
  if (server->ctx_->mg == nullptr) {
    return fail(Errc::kIo, "cannot listen on " + listen + ": " + std::string(text.data()));
  }
  for (auto& route : server->ctx_->routes) {
    mg_set_request_handler(server->ctx_->mg, route.path.c_str(), handle, &route);
  }
  std::array<mg_server_port, 2> ports{};
  if (mg_get_server_ports(server->ctx_->mg, static_cast<int>(ports.size()), ports.data()) < 1) {
    return fail(Errc::kIo, "cannot read the listening port of " + listen);
  }
  server->port_ = static_cast<uint16_t>(ports[0].port);
  server->ctx_->listen_ip = *ip;
  server->ctx_->port = server->port_;
  return server;
}

HttpServer::~HttpServer() = default;

}  // namespace egressd::exporter
