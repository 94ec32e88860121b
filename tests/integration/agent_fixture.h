// GoogleTest fixture for the agent scenarios: a fresh topology (accounting off), `egressd init`,
// the agent started in the node namespace, and the comparison of its /metrics with the ground
// truth. Each test gets its own topology and agent, so counters start at zero and no test sees
// another's flows.
//
// The fixture is parametrized by the flow source (`--ct-mode`): every scenario runs against each
// source of kSources and must hold unchanged; the agent must report the requested source in
// egressd_source_info, so a silent fallback fails the test.
#pragma once

#include <array>
#include <memory>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "harness/agent.h"
#include "harness/expectations.h"
#include "harness/netns.h"
#include "harness/topology.h"
#include "harness/traffic.h"

namespace egressd::testing {

// The --ct-mode values every scenario runs with.
inline constexpr std::array<std::string_view, 2> kSources = {"netfilter", "ebpf"};

// "netfilter" -> "netfilter": test name suffixes.
std::string source_param_name(const ::testing::TestParamInfo<std::string_view>& info);

class AgentTest : public ::testing::TestWithParam<std::string_view> {
 protected:
  void SetUp() override;
  void TearDown() override;

  // Called once the topology exists, before the agent starts: a derived fixture adds to the
  // agent's options (kube_api_agent_test.cpp points it at a fake API server).
  virtual void configure_agent(AgentOptions& /*options*/) {}
  // Enables conntrack accounting in the node namespace (`egressd init` there); a derived fixture
  // may do it another way (container_test.cpp: the chart's init container).
  virtual RunResult init_accounting() { return run_agent_init(topo_->node()); }

  [[nodiscard]] const Topology& topo() const { return *topo_; }
  [[nodiscard]] Agent& agent() { return *agent_; }
  [[nodiscard]] const std::filesystem::path& workdir() const { return dir_->path(); }

  // True once the agent's flow series equal the ground truth (counters only); no failure
  // recorded. For checkpoints while a flow is still open.
  [[nodiscard]] bool agent_reaches_truth(std::chrono::milliseconds timeout = 60s);

  // The end of every scenario: waits until the agent's flow series equal the ground truth, then
  // holds for two more read intervals and checks that neither side moved (a later read or a
  // DESTROY event must not count anything twice), then checks every series' labels and that no
  // translated address (service VIP, masquerade address) appears. Returns the agent's series.
  SeriesMap expect_agent_matches_truth(std::chrono::milliseconds timeout = 60s);

  // The series (src, dst, proto) of `series`; records a failure when absent.
  static SeriesCounters counters_of(const SeriesMap& series, std::string_view src,
                                    std::string_view dst, const std::string& proto);

 private:
  struct Comparison {
    PairCounts truth;
    SeriesMap expected;
    SeriesMap actual;
    std::vector<Sample> samples;
  };
  Comparison compare();
  void expect_no_translated_addresses(const std::vector<Sample>& samples);

  std::unique_ptr<Topology> topo_;
  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<Agent> agent_;
};

// Scenario traffic. Each runs a server in `server_ns` on server_ip:server_port and a client in
// `from` that dials dial_ip:dial_port (a service VIP, or the server itself), records a failure
// unless the server saw exactly the schedule, and returns the client's address.
SockAddr tcp_flow(const std::string& from, const std::string& server_ns, std::string_view server_ip,
                  uint16_t server_port, std::string_view dial_ip, uint16_t dial_port,
                  const std::vector<Exchange>& schedule);
SockAddr udp_flow(const std::string& from, const std::string& server_ns, std::string_view server_ip,
                  uint16_t server_port, std::string_view dial_ip, uint16_t dial_port,
                  const std::vector<Exchange>& schedule);

[[nodiscard]] uint64_t total_up(const std::vector<Exchange>& schedule);
[[nodiscard]] uint64_t total_down(const std::vector<Exchange>& schedule);

// The generator's payload is a lower bound of what the agent reports (headers come on top).
void expect_carries_payload(const SeriesCounters& c, const std::vector<Exchange>& schedule);

}  // namespace egressd::testing
