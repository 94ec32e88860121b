#include "agent_fixture.h"

#include <unistd.h>

#include <iostream>
#include <thread>

#include "harness/cluster.h"
#include "harness/ground_truth.h"
#include "harness/inet.h"

namespace egressd::testing {
namespace {

constexpr const char* kAcct = "net.netfilter.nf_conntrack_acct";

std::string s(std::string_view v) {
  return std::string(v);
}

}  // namespace

std::string source_param_name(const ::testing::TestParamInfo<std::string_view>& info) {
  return std::string(info.param);
}

void AgentTest::SetUp() {
  ASSERT_EQ(::geteuid(), 0u) << "integration tests need root";
  topo_ = std::make_unique<Topology>(TopologyOptions{.enable_conntrack_acct = false});
  dir_ = std::make_unique<TempDir>("agent");
  ASSERT_EQ(read_sysctl(topo_->node(), kAcct), "0");
  const RunResult init = init_accounting();
  ASSERT_TRUE(init.ok()) << init.describe();
  ASSERT_EQ(read_sysctl(topo_->node(), kAcct), "1") << "`egressd init` must enable accounting";
  const std::string source(GetParam());
  AgentOptions options{.extra_args = {"--ct-mode", source}};
  configure_agent(options);
  agent_ = std::make_unique<Agent>(*topo_, dir_->path(), std::move(options));
  // The agent runs the source asked for (no silent fallback).
  bool reported = false;
  for (const auto& sample : agent_->metrics()) {
    if (sample.name == "egressd_source_info" && sample.value == 1 &&
        sample.labels.contains("source")) {
      EXPECT_EQ(sample.labels.at("source"), source);
      reported = true;
    }
  }
  EXPECT_TRUE(reported) << "egressd_source_info missing";
}

void AgentTest::TearDown() {
  if (agent_) {
    const bool alive = agent_->running();
    EXPECT_TRUE(alive) << "the agent exited during the test: " << agent_->status_text();
    if (alive) {
      // The CLI contract: SIGTERM stops the agent with exit status 0 before the kubelet's SIGKILL
      // (terminationGracePeriodSeconds, 30 s by default). How fast is not a test's business.
      const auto stop = agent_->stop();
      EXPECT_TRUE(stop.exited_within_grace) << "SIGTERM did not stop the agent";
      EXPECT_EQ(stop.exit_code, 0) << agent_->status_text();
    }
    if (HasFailure()) {
      std::cerr << "---- agent log (last 80 lines) ----\n"
                << tail_lines(agent_->log(), 80) << "---- end of agent log ----\n";
    }
  }
  agent_.reset();
  dir_.reset();
  topo_.reset();
}

AgentTest::Comparison AgentTest::compare() {
  Comparison c;
  c.truth = read_truth(topo_->node());
  c.expected = expected_series(c.truth);
  c.samples = agent_->metrics();
  c.actual = agent_series(c.samples);
  return c;
}

bool AgentTest::agent_reaches_truth(std::chrono::milliseconds timeout) {
  return poll_until(
      [&] {
        const Comparison c = compare();
        return counter_diff(c.expected, c.actual).empty();
      },
      timeout, 100ms);
}

SeriesMap AgentTest::expect_agent_matches_truth(std::chrono::milliseconds timeout) {
  Comparison c;
  const bool matched = poll_until(
      [&] {
        c = compare();
        return counter_diff(c.expected, c.actual).empty();
      },
      timeout, 100ms);
  EXPECT_TRUE(matched) << "the agent's series never equalled the ground truth within "
                       << timeout.count() << " ms:\n"
                       << counter_diff(c.expected, c.actual) << "ground truth pairs:\n"
                       << to_string(c.truth) << "agent series:\n"
                       << to_string(c.actual);
  EXPECT_FALSE(c.expected.empty()) << "no traffic was counted: the scenario proves nothing";
  if (!matched) {
    return c.actual;
  }
  // Hold: two more reads of the agent, published, must change nothing.
  EXPECT_TRUE(agent_->wait_for_reads_published())
      << "the agent did not read and publish twice more: the hold below would prove nothing";
  const Comparison later = compare();
  EXPECT_EQ(counter_diff(c.expected, later.expected), "")
      << "the ground truth moved after the scenario ended";
  EXPECT_EQ(counter_diff(later.expected, later.actual), "")
      << "the agent drifted from the ground truth after matching it";
  EXPECT_EQ(label_diff(later.expected, later.actual), "") << "wrong labels";
  expect_no_translated_addresses(later.samples);
  return later.actual;
}

void AgentTest::expect_no_translated_addresses(const std::vector<Sample>& samples) {
  using namespace cluster;
  for (const auto& s : samples) {
    const auto src = s.labels.find("src_ip");
    const auto dst = s.labels.find("dst_ip");
    if (src == s.labels.end() || dst == s.labels.end()) {
      continue;
    }
    const std::string src_ip = canonical_ip(src->second);
    const std::string dst_ip = canonical_ip(dst->second);
    for (const auto vip : {kVipLocal4, kVipLocal6, kVipRemote4, kVipRemote6}) {
      EXPECT_NE(dst_ip, vip) << s.name << ": a service VIP is never the peer";
      EXPECT_NE(src_ip, vip) << s.name;
    }
    for (const auto snat : {kSnatIp4, kSnatIp6}) {
      EXPECT_NE(src_ip, snat) << s.name << ": the masquerade address is never the local endpoint";
      EXPECT_NE(dst_ip, snat) << s.name;
    }
  }
}

SeriesCounters AgentTest::counters_of(const SeriesMap& series, std::string_view src,
                                      std::string_view dst, const std::string& proto) {
  const SeriesKey key{canonical_ip(src), canonical_ip(dst), proto};
  const auto it = series.find(key);
  if (it == series.end()) {
    ADD_FAILURE() << "no series " << src << " -> " << dst << " " << proto;
    return {};
  }
  return it->second.counters;
}

uint64_t total_up(const std::vector<Exchange>& schedule) {
  uint64_t n = 0;
  for (const auto& e : schedule) {
    n += e.up;
  }
  return n;
}

uint64_t total_down(const std::vector<Exchange>& schedule) {
  uint64_t n = 0;
  for (const auto& e : schedule) {
    n += e.down;
  }
  return n;
}

SockAddr tcp_flow(const std::string& from, const std::string& server_ns, std::string_view server_ip,
                  uint16_t server_port, std::string_view dial_ip, uint16_t dial_port,
                  const std::vector<Exchange>& schedule) {
  TcpServer server(server_ns, s(server_ip), server_port, schedule);
  const SockAddr client = tcp_session(from, s(dial_ip), dial_port, schedule);
  const ServerReport report = server.wait();
  EXPECT_EQ(report.error, "");
  EXPECT_EQ(report.bytes_in, total_up(schedule));
  EXPECT_EQ(report.bytes_out, total_down(schedule));
  return client;
}

SockAddr udp_flow(const std::string& from, const std::string& server_ns, std::string_view server_ip,
                  uint16_t server_port, std::string_view dial_ip, uint16_t dial_port,
                  const std::vector<Exchange>& schedule) {
  UdpServer server(server_ns, s(server_ip), server_port, schedule);
  UdpClient client(from, s(dial_ip), dial_port);
  for (const auto& e : schedule) {
    client.exchange(e);
  }
  const ServerReport report = server.wait();
  EXPECT_EQ(report.error, "");
  EXPECT_EQ(report.bytes_in, total_up(schedule));
  return client.local();
}

void expect_carries_payload(const SeriesCounters& c, const std::vector<Exchange>& schedule) {
  EXPECT_GE(c.tx_bytes, total_up(schedule));
  EXPECT_GE(c.rx_bytes, total_down(schedule));
  EXPECT_GT(c.tx_packets, 0u);
  EXPECT_GT(c.rx_packets, 0u);
}

}  // namespace egressd::testing
