// Fuzzes the kubeconfig parser (userspace/kube/api_config.cpp, parse_kubeconfig: YAML through
// yaml-cpp, contexts, clusters, users, base64 data) and the bearer token check
// (userspace/kube/bearer_token.cpp) on the same bytes. Besides crashes and sanitizer reports it
// traps on: an accepted config whose server is not an http(s) URL or whose token would not pass
// the token check unchanged, an accepted token with a byte outside visible ASCII, and an error
// message of more than one line.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "kube/api_config.h"
#include "kube/bearer_token.h"

namespace {

void check_one_line(const egressd::Error& error) {
  const std::string message = error.message();
  if (message.find('\n') != std::string::npos || message.find('\r') != std::string::npos) {
    std::fprintf(stderr, "an error of more than one line: %s\n", message.c_str());
    __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // A copy of exactly the input's size, so AddressSanitizer flags any read past the end.
  const std::string text(reinterpret_cast<const char*>(data), size);
  const auto cfg = egressd::kube::parse_kubeconfig(text, "/home/u/.kube");
  if (cfg) {
    if (!cfg->server.starts_with("https://") && !cfg->server.starts_with("http://")) {
      __builtin_trap();
    }
    if (!cfg->token.empty()) {
      const auto again = egressd::kube::parse_bearer_token(cfg->token);
      if (!again || *again != cfg->token) __builtin_trap();
    }
  } else {
    check_one_line(cfg.error());
  }
  const auto token = egressd::kube::parse_bearer_token(text);
  if (token) {
    if (token->empty() || token->size() > size) __builtin_trap();
    for (const char c : *token) {
      if (static_cast<unsigned char>(c) < 0x21 || static_cast<unsigned char>(c) > 0x7e) {
        __builtin_trap();
      }
    }
  } else {
    check_one_line(token.error());
  }
  return 0;
}
