// A minimal HTTP/1.0 GET, from inside a namespace: enough to scrape /metrics and probe /healthz
// without a client library (HTTP/1.0 rules out chunked replies; the server closes at the end).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace egressd::testing {

struct HttpResponse {
  int status = 0;  // 0: no HTTP answer (connection refused, timeout); see `error`
  std::string body;
  std::string error;
};

[[nodiscard]] HttpResponse http_get(const std::string& netns, const std::string& ip, uint16_t port,
                                    const std::string& path,
                                    std::chrono::milliseconds timeout = std::chrono::seconds(5));

}  // namespace egressd::testing
