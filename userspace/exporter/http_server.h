// HttpServer: the agent's HTTP endpoints (/metrics, /healthz, /readyz) on civetweb, the embedded
// server prometheus-cpp itself is built on. Handlers run on civetweb's worker threads.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "egressd/common/error.h"

namespace egressd::exporter {

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

struct HttpRoute {
  std::string path;  // exact path, e.g. "/metrics"
  std::function<HttpResponse()> handler;
};

class HttpServer {
 public:
  // Listens on address:port (port 0 picks a free port). Errors name the address and the reason.
  [[nodiscard]] static Result<std::unique_ptr<HttpServer>> start(const std::string& address,
                                                                 uint16_t port,
                                                                 std::vector<HttpRoute> routes);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  [[nodiscard]] uint16_t port() const noexcept { return port_; }

 private:
  HttpServer() = default;
  struct Context;
  std::unique_ptr<Context> ctx_;
  uint16_t port_ = 0;
};

}  // namespace egressd::exporter
