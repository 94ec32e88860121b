// HttpClient: GET requests to the API server over libcurl (HTTPS, HTTP/1.1 keep-alive, bearer
// token or client certificate), streaming the body to a callback so a watch never ends up in one
// buffer. One client per thread (a curl easy handle is not shared); interrupt() may be called
// from any thread and ends the current request within one poll.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "egressd/common/error.h"
#include "kube/api_config.h"

namespace egressd::kube {

struct HttpResult {
  long status = 0;         // HTTP status; 0 when no response arrived
  std::string error_body;  // the body of a non-2xx response (first 64 KiB)
};

struct HttpTimeouts {
  std::chrono::milliseconds connect{5000};
  std::chrono::milliseconds total{60000};  // the whole request, including a watch's stream
  // Abort when less than one byte arrived in this long (a silently dead connection).
  std::chrono::milliseconds idle{90000};
};

class HttpClient {
 public:
  // on_data receives body bytes of a 2xx response as they arrive; returning false aborts the
  // request (the caller has what it needs, or the stream is corrupt).
  using OnData = std::function<bool(std::string_view)>;

  [[nodiscard]] static Result<std::unique_ptr<HttpClient>> create(ApiConfig config);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // GET `target` ("/api/v1/pods?limit=500"). Transport failures (refused, TLS, timeout) are
  // Errc::kIo errors; any HTTP status is a result. An abort by on_data or interrupt() returns
  // the status with `aborted()` true.
  // `on_status`, when given, is called once the status line arrives (before any body byte):
  // a watch learns that the server answered even while no event comes.
  [[nodiscard]] Result<HttpResult> get(std::string_view target, const OnData& on_data,
                                       const HttpTimeouts& timeouts,
                                       const std::function<void(long)>& on_status = {});
  [[nodiscard]] bool aborted() const noexcept { return aborted_; }

  // Ends the current request and makes later ones fail until reset_interrupt().
  void interrupt();
  void reset_interrupt() { interrupted_.store(false); }

  // After a 401: re-read the token file now rather than at its next check.
  void invalidate_token() { token_read_ = {}; }
  // The token in use (tests check that a rotated token is picked up).
  [[nodiscard]] const std::string& token() const noexcept { return token_; }

 private:
  explicit HttpClient(ApiConfig config);
  Status init();
  void refresh_token();

  ApiConfig config_;
  void* easy_ = nullptr;   // CURL*
  void* multi_ = nullptr;  // CURLM*
  std::string token_;
  std::string token_error_;  // why the last read of the token file failed, for the next error
  std::chrono::steady_clock::time_point token_read_{};
  std::atomic<bool> interrupted_{false};
  bool aborted_ = false;
};

}  // namespace egressd::kube
