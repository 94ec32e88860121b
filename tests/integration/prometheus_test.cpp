// A real Prometheus scrapes the agent on the node namespace's loopback: its exposition passes
// `promtool check metrics`, and PromQL sums over what Prometheus stored equal the sums of the
// ground truth (computed by the harness, never read from the agent).
#include "harness/prometheus.h"

#include <simdjson.h>

#include <cmath>
#include <memory>

#include <fmt/format.h>

#include "agent_fixture.h"
#include "harness/cluster.h"
#include "harness/ground_truth.h"
#include "harness/kube_api.h"
#include "harness/traffic.h"

namespace egressd::testing {
namespace {

using namespace cluster;

class PrometheusTest : public AgentTest {
 protected:
  void SetUp() override {
    AgentTest::SetUp();
    if (HasFatalFailure()) {
      return;
    }
    prom_dir_ = std::make_unique<TempDir>("prometheus");
    prometheus_ =
        std::make_unique<PrometheusServer>(topo().node(), agent().address(), prom_dir_->path());
  }
  void TearDown() override {
    if (prometheus_ && HasFailure()) {
      std::cerr << "---- prometheus log ----\n" << tail_lines(prometheus_->log(), 30) << "\n";
    }
    prometheus_.reset();
    prom_dir_.reset();
    AgentTest::TearDown();
  }

  std::map<GroupKey, uint64_t> query(const std::string& expr) {
    std::map<GroupKey, uint64_t> out;
    for (const auto& r : promtool_query(topo().node(), prometheus_->url(), expr)) {
      GroupKey key(r.metric.begin(), r.metric.end());
      key.erase("__name__");
      out[key] = std::isfinite(r.value) && r.value >= 0 ? static_cast<uint64_t>(r.value) : 0;
    }
    return out;
  }

  // Polls the query until it returns `want` (Prometheus scrapes once a second).
  void expect_query(const std::string& expr, const std::map<GroupKey, uint64_t>& want) {
    std::map<GroupKey, uint64_t> got;
    const bool ok = poll_until(
        [&] {
          got = query(expr);
          return got == want;
        },
        20s, 250ms);
    EXPECT_TRUE(ok) << expr << "\n  want " << fmt::format("{}", describe(want)) << "\n  got  "
                    << describe(got);
  }

  static std::string describe(const std::map<GroupKey, uint64_t>& m) {
    std::string out;
    for (const auto& [k, v] : m) {
      std::string labels;
      for (const auto& [name, value] : k) {
        labels += fmt::format("{}{}=\"{}\"", labels.empty() ? "" : ",", name, value);
      }
      out += fmt::format("{{{}}} {}; ", labels, v);
    }
    return out.empty() ? "(empty)" : out;
  }

  std::unique_ptr<TempDir> prom_dir_;
  std::unique_ptr<PrometheusServer> prometheus_;
};

TEST_P(PrometheusTest, ScrapesTheAgentAndSumsMatchTheGroundTruth) {
  tcp_flow(topo().pod_a(), topo().pod_b(), kPodB.ip4, 7000, kPodB.ip4, 7000, {{20000, 3000}});
  tcp_flow(topo().pod_a(), topo().remote(), kPodR.ip4, 9000, kPodR.ip4, 9000, {{5000, 70000}});
  tcp_flow(topo().pod_b(), topo().remote(), kPodR.ip6, 9000, kPodR.ip6, 9000, {{9000, 1000}});
  udp_flow(topo().pod_b(), topo().internet(), kInternetIp4, 53, kInternetIp4, 53, {{80, 500}});
  (void)expect_agent_matches_truth();

  // The expected sums come from the ground truth and the cluster model (labels), not the agent.
  const SeriesMap expected = expected_series(read_truth(topo().node()));
  const auto pods_only = [](const Series& x) { return !x.labels.at("src_pod").empty(); };

  const RunResult check = promtool_check_metrics(agent().metrics_text());
  EXPECT_TRUE(check.ok()) << check.describe();

  expect_query("up{job=\"egressd\"}",
               {{GroupKey{{"instance", agent().address()}, {"job", "egressd"}}, 1}});
  expect_query("sum by (src_pod) (egressd_transmit_bytes_total{src_pod!=\"\"})",
               sum_by(expected, &SeriesCounters::tx_bytes, {"src_pod"}, pods_only));
  expect_query("sum by (src_pod, dst_pod) (egressd_received_packets_total{src_pod!=\"\"})",
               sum_by(expected, &SeriesCounters::rx_packets, {"src_pod", "dst_pod"}, pods_only));
  expect_query(
      "sum by (cross_zone, dst_ip_type) (egressd_transmit_bytes_total{src_pod!=\"\"})",
      sum_by(expected, &SeriesCounters::tx_bytes, {"cross_zone", "dst_ip_type"}, pods_only));
  expect_query("sum by (proto) (egressd_received_bytes_total{src_pod!=\"\"})",
               sum_by(expected, &SeriesCounters::rx_bytes, {"proto"}, pods_only));
}

INSTANTIATE_TEST_SUITE_P(Sources, PrometheusTest, ::testing::ValuesIn(kSources), source_param_name);

// The Grafana dashboard of the Helm chart (helm/egressd/dashboards/egressd.json) against a real
// Prometheus that scraped the agent — fed by the FAKE API server, so the Kubernetes panels have
// their metrics too — through a scenario: every query returns data. The other source's own
// metrics (egressd_ebpf_* under netfilter, egressd_conntrack_* under eBPF) are the exception.
class DashboardTest : public PrometheusTest {
 protected:
  void configure_agent(AgentOptions& options) override {
    api_ = std::make_unique<FakeClusterApi>(topo(), workdir());
    options.kubeconfig = api_->kubeconfig();
  }
  void TearDown() override {
    PrometheusTest::TearDown();  // the agent first: it holds connections to the fake
    api_.reset();
  }

  std::unique_ptr<FakeClusterApi> api_;
};

std::vector<std::string> dashboard_queries() {
  simdjson::dom::parser parser;
  const simdjson::dom::element dash =
      parser.load(EGRESSD_SOURCE_DIR "/helm/egressd/dashboards/egressd.json");
  std::vector<std::string> out;
  for (const simdjson::dom::element panel : dash["panels"].get_array()) {
    simdjson::dom::array targets;
    if (panel["targets"].get(targets) != simdjson::SUCCESS) continue;  // rows
    for (const simdjson::dom::element t : targets) {
      std::string expr(t["expr"].get_string().value());
      // Grafana's variable: at least four scrapes (one a second) in this window.
      for (size_t at; (at = expr.find("$__rate_interval")) != std::string::npos;) {
        expr.replace(at, std::string_view("$__rate_interval").size(), "30s");
      }
      out.push_back(std::move(expr));
    }
  }
  return out;
}

TEST_P(DashboardTest, EveryQueryReturnsData) {
  const std::string other = GetParam() == "ebpf" ? "egressd_conntrack_" : "egressd_ebpf_";
  const auto queries = dashboard_queries();
  ASSERT_GE(queries.size(), 20u);
  tcp_flow(topo().pod_a(), topo().remote(), kPodR.ip4, 9000, kPodR.ip4, 9000, {{20000, 40000}});
  tcp_flow(topo().pod_b(), topo().internet(), kInternetIp4, 443, kInternetIp4, 443,
           {{3000, 50000}});
  udp_flow(topo().pod_a(), topo().pod_b(), kPodB.ip4, 7000, kPodB.ip4, 7000, {{500, 700}});
  (void)expect_agent_matches_truth();
  for (const std::string& expr : queries) {
    if (expr.find(other) != std::string::npos) continue;
    std::vector<PromResult> got;
    const bool data = poll_until(
        [&] {
          got = promtool_query(topo().node(), prometheus_->url(), expr);
          return !got.empty();
        },
        60s, 500ms);
    EXPECT_TRUE(data) << "no data: " << expr;
  }
}

INSTANTIATE_TEST_SUITE_P(Sources, DashboardTest, ::testing::ValuesIn(kSources), source_param_name);

}  // namespace
}  // namespace egressd::testing
