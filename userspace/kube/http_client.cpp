#include "kube/http_client.h"

#include <mutex>

#include <curl/curl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "kube/bearer_token.h"

namespace egressd::kube {
namespace {

constexpr size_t kMaxErrorBody = size_t{64} * 1024;
// client-go re-reads a token file at most once a minute (transport/token_source.go); the kubelet
// refreshes projected tokens well before they expire (at 80% of their life).
constexpr std::chrono::seconds kTokenRecheck{60};

struct Transfer {
  CURL* easy = nullptr;
  const HttpClient::OnData* on_data = nullptr;
  const std::function<void(long)>* on_status = nullptr;
  HttpResult* result = nullptr;
  bool callback_aborted = false;
  bool status_seen = false;
};

// Header lines arrive one per call; the empty line ends the headers of a response (there may
// be several: "100 Continue", redirects), and then the status is final.
size_t on_header(char* ptr, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t bytes = size * n;
  const std::string_view line(ptr, bytes);
  if ((line == "\r\n" || line == "\n") && !t->status_seen) {
    long status = 0;
    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
    if (status >= 200) {
      t->status_seen = true;
      if (t->on_status != nullptr && *t->on_status) (*t->on_status)(status);
    }
  }
  return bytes;
}

size_t on_write(char* ptr, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t bytes = size * n;
  if (t->result->status == 0)
    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &t->result->status);
  if (t->result->status < 200 || t->result->status > 299) {
    const size_t room = kMaxErrorBody - std::min(kMaxErrorBody, t->result->error_body.size());
    t->result->error_body.append(ptr, std::min(room, bytes));
    return bytes;
  }
  if (!(*t->on_data)(std::string_view(ptr, bytes))) {
    t->callback_aborted = true;
    return CURL_WRITEFUNC_ERROR;
  }
  return bytes;
}

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

void set_blob(CURL* easy, CURLoption option, std::string& pem) {
  curl_blob blob{pem.data(), pem.size(), CURL_BLOB_NOCOPY};
  curl_easy_setopt(easy, option, &blob);
}

}  // namespace

HttpClient::HttpClient(ApiConfig config) : config_(std::move(config)) {}

HttpClient::~HttpClient() {
  if (multi_ != nullptr) curl_multi_cleanup(static_cast<CURLM*>(multi_));
  if (easy_ != nullptr) curl_easy_cleanup(static_cast<CURL*>(easy_));
}

Result<std::unique_ptr<HttpClient>> HttpClient::create(ApiConfig config) {
  global_init();
  std::unique_ptr<HttpClient> client(new HttpClient(std::move(config)));
  if (auto st = client->init(); !st) return std::unexpected(std::move(st.error()));
  return client;
}

Status HttpClient::init() {
  // parse_kubeconfig() checked a literal token already; an ApiConfig built otherwise is checked
  // here, so no token reaches a header unchecked.
  if (!config_.token.empty()) {
    auto token = parse_bearer_token(config_.token);
    if (!token) return std::unexpected(std::move(token.error()).wrap("token"));
    token_ = std::move(*token);
  }
  CURL* easy = curl_easy_init();
  CURLM* multi = curl_multi_init();
  easy_ = easy;
  multi_ = multi;
  if (easy == nullptr || multi == nullptr) return fail(Errc::kResource, "curl: cannot allocate");
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "https,http");
  curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(easy, CURLOPT_USERAGENT, "egressd");
  // The API server gzips large responses only when asked; on the pod network the CPU cost
  // outweighs the bytes saved, so responses come uncompressed (docs/kubernetes.md).
  if (config_.insecure_skip_tls_verify) {
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 0L);
  } else {
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L);
  }
  if (!config_.ca_pem.empty()) {
    set_blob(easy, CURLOPT_CAINFO_BLOB, config_.ca_pem);
  } else if (!config_.ca_file.empty()) {
    curl_easy_setopt(easy, CURLOPT_CAINFO, config_.ca_file.c_str());
  }
  if (!config_.client_cert_pem.empty()) {
    set_blob(easy, CURLOPT_SSLCERT_BLOB, config_.client_cert_pem);
    curl_easy_setopt(easy, CURLOPT_SSLCERTTYPE, "PEM");
  } else if (!config_.client_cert_file.empty()) {
    curl_easy_setopt(easy, CURLOPT_SSLCERT, config_.client_cert_file.c_str());
  }
  if (!config_.client_key_pem.empty()) {
    set_blob(easy, CURLOPT_SSLKEY_BLOB, config_.client_key_pem);
    curl_easy_setopt(easy, CURLOPT_SSLKEYTYPE, "PEM");
  } else if (!config_.client_key_file.empty()) {
    curl_easy_setopt(easy, CURLOPT_SSLKEY, config_.client_key_file.c_str());
  }
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_write);
  curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, on_header);
  return {};
}

void HttpClient::refresh_token() {
  if (config_.token_file.empty()) return;
  // Without a token no request is sent, so the file is read again before each attempt (the
  // reflector's backoff spaces them) until it holds one.
  const auto now = std::chrono::steady_clock::now();
  if (!token_.empty() && token_read_ != std::chrono::steady_clock::time_point{} &&
      now - token_read_ < kTokenRecheck) {
    return;
  }
  token_read_ = now;
  auto token = read_token_file(config_.token_file);
  if (!token) {
    token_error_ = token.error().message();
    if (!token_.empty()) {
      spdlog::warn("kube: {} (the token read before stays in use)", token_error_);
    }
    return;
  }
  token_error_.clear();
  token_ = std::move(*token);
}

void HttpClient::interrupt() {
  interrupted_.store(true);
  curl_multi_wakeup(static_cast<CURLM*>(multi_));
}

Result<HttpResult> HttpClient::get(std::string_view target, const OnData& on_data,
                                   const HttpTimeouts& timeouts,
                                   const std::function<void(long)>& on_status) {
  auto* easy = static_cast<CURL*>(easy_);
  auto* multi = static_cast<CURLM*>(multi_);
  aborted_ = false;
  refresh_token();
  const std::string url = config_.server + std::string(target);
  if (token_.empty() && !config_.token_file.empty()) {
    // Never a request without the credentials the config names: the server would answer 401
    // or, worse, serve an anonymous user, and nothing would say why.
    return fail(Errc::kPermission, fmt::format("GET {}: no bearer token: {}", url, token_error_));
  }
  curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
  curl_slist* headers = curl_slist_append(nullptr, "Accept: application/json");
  std::string auth;
  if (!token_.empty()) {
    auth = "Authorization: Bearer " + token_;
    headers = curl_slist_append(headers, auth.c_str());
  }
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(timeouts.connect.count()));
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(timeouts.total.count()));
  curl_easy_setopt(easy, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(easy, CURLOPT_LOW_SPEED_TIME,
                   static_cast<long>(std::max<int64_t>(1, timeouts.idle.count() / 1000)));

  HttpResult result;
  Transfer transfer{easy, &on_data, &on_status, &result, false, false};
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(easy, CURLOPT_HEADERDATA, &transfer);
  curl_multi_add_handle(multi, easy);
  CURLcode code = CURLE_OK;
  while (true) {
    if (interrupted_.load()) {
      aborted_ = true;
      break;
    }
    int running = 0;
    const CURLMcode mc = curl_multi_perform(multi, &running);
    if (mc != CURLM_OK) {
      code = CURLE_RECV_ERROR;
      break;
    }
    if (running == 0) {
      int left = 0;
      while (CURLMsg* msg = curl_multi_info_read(multi, &left)) {
        if (msg->msg == CURLMSG_DONE) code = msg->data.result;
      }
      break;
    }
    // Wakes on socket activity, curl's own timers, or interrupt().
    curl_multi_poll(multi, nullptr, 0, 1000, nullptr);
  }
  curl_multi_remove_handle(multi, easy);
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, nullptr);
  curl_slist_free_all(headers);
  if (result.status == 0) curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &result.status);
  if (transfer.callback_aborted) aborted_ = true;
  if (aborted_) return result;
  if (code != CURLE_OK) {
    return fail(Errc::kIo, fmt::format("GET {}: {}", url, curl_easy_strerror(code)));
  }
  return result;
}

}  // namespace egressd::kube
