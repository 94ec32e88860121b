#include "harness/prometheus.h"

#include <simdjson.h>

#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "harness/http.h"
#include "harness/netns.h"
#include "harness/util.h"

namespace egressd::testing {
namespace {

constexpr const char* kListenIp = "127.0.0.1";

std::filesystem::path write_config(const std::filesystem::path& workdir,
                                   const std::string& target) {
  const auto path = workdir / "prometheus.yml";
  std::ofstream(path) << fmt::format(
      "global:\n"
      "  scrape_interval: 1s\n"
      "  scrape_timeout: 900ms\n"
      "  evaluation_interval: 1s\n"
      "scrape_configs:\n"
      "  - job_name: egressd\n"
      "    static_configs:\n"
      "      - targets: ['{}']\n",
      target);
  return path;
}

ChildProcess start(const std::string& netns, const std::filesystem::path& workdir,
                   const std::string& target, uint16_t port) {
  const auto config = write_config(workdir, target);
  std::filesystem::create_directories(workdir / "data");
  return ChildProcess::start(
      {"prometheus", "--config.file=" + config.string(),
       "--storage.tsdb.path=" + (workdir / "data").string(),
       fmt::format("--web.listen-address={}:{}", kListenIp, port), "--log.level=warn"},
      netns, workdir / "prometheus.log");
}

}  // namespace

PrometheusServer::PrometheusServer(const std::string& netns, const std::string& target,
                                   const std::filesystem::path& workdir)
    : netns_(netns),
      workdir_(workdir),
      port_(free_tcp_port(netns, kListenIp)),
      process_(start(netns, workdir, target, port_)) {
  const bool ready = poll_until(
      [&] {
        return process_.exited() || http_get(netns_, kListenIp, port_, "/-/ready").status == 200;
      },
      30s, 50ms);
  if (!ready || process_.exited()) {
    throw HarnessError(fmt::format("prometheus not ready ({}); log:\n{}", process_.status_text(),
                                   tail_lines(log(), 30)));
  }
}

PrometheusServer::~PrometheusServer() {
  (void)process_.stop(5s);
}

std::string PrometheusServer::url() const {
  return fmt::format("http://{}:{}", kListenIp, port_);
}

std::string PrometheusServer::log() const {
  std::ifstream in(workdir_ / "prometheus.log");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<PromResult> promtool_query(const std::string& netns, const std::string& url,
                                       const std::string& expr) {
  const std::string out =
      run_checked({"promtool", "query", "instant", "-o", "json", url, expr}, in_netns_opts(netns));
  // [{"metric": {"src_pod": "pod-a"}, "value": [1700000000.123, "4242"]}, ...]
  simdjson::dom::parser parser;
  simdjson::dom::array results;
  if (parser.parse(out).get_array().get(results) != simdjson::SUCCESS) {
    throw HarnessError("promtool query: not a JSON vector: " + out.substr(0, 300));
  }
  std::vector<PromResult> vec;
  for (simdjson::dom::element r : results) {
    PromResult pr;
    simdjson::dom::object metric;
    std::string_view value;
    if (r["metric"].get_object().get(metric) != simdjson::SUCCESS ||
        r["value"].at(1).get_string().get(value) != simdjson::SUCCESS) {
      throw HarnessError("promtool query: unexpected sample: " + out.substr(0, 300));
    }
    for (auto [k, v] : metric) {
      std::string_view s;
      if (v.get_string().get(s) == simdjson::SUCCESS) {
        pr.metric.emplace(std::string(k), std::string(s));
      }
    }
    pr.value = std::stod(std::string(value));
    vec.push_back(std::move(pr));
  }
  return vec;
}

RunResult promtool_check_metrics(const std::string& text) {
  return run({"promtool", "check", "metrics"}, in_netns_opts("", text));
}

}  // namespace egressd::testing
