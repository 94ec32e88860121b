// A real Prometheus (Debian's `prometheus` package) scraping the agent every second on the node
// namespace's loopback, queried with `promtool query instant`, plus `promtool check metrics`.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "harness/process.h"

namespace egressd::testing {

class PrometheusServer {
 public:
  // Starts Prometheus in `netns` with its storage in `workdir` scraping `target` ("ip:port")
  // every second; waits until /-/ready answers 200.
  PrometheusServer(const std::string& netns, const std::string& target,
                   const std::filesystem::path& workdir);
  PrometheusServer(const PrometheusServer&) = delete;
  PrometheusServer& operator=(const PrometheusServer&) = delete;
  ~PrometheusServer();  // stops the server (SIGTERM, then SIGKILL)

  [[nodiscard]] std::string url() const;
  [[nodiscard]] const std::string& netns() const noexcept { return netns_; }
  [[nodiscard]] std::string log() const;

 private:
  std::string netns_;
  std::filesystem::path workdir_;
  uint16_t port_ = 0;
  ChildProcess process_;
};

struct PromResult {
  std::map<std::string, std::string> metric;  // labels of the result (no __name__ after sum)
  double value = 0;
};

// `promtool query instant -o json URL EXPR` run in `netns`; throws HarnessError on failure.
[[nodiscard]] std::vector<PromResult> promtool_query(const std::string& netns,
                                                     const std::string& url,
                                                     const std::string& expr);

// `promtool check metrics` with `text` on stdin.
[[nodiscard]] RunResult promtool_check_metrics(const std::string& text);

}  // namespace egressd::testing
