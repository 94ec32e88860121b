// The agent fed by the Kubernetes API instead of the inventory file (issue 7, "done when"): a
// FAKE API server (tests/fake_kube_apiserver) serves the simulated cluster's pods and nodes as
// real-shape documents from the node namespace's loopback, the agent gets --kubeconfig, and the
// scenarios' flows must carry exactly the labels the inventory runs expect (the same
// expectations code, agent_fixture.h). One agent run covers several scenarios to keep CI short.
// Then the API server goes away: the agent keeps labelling from its last indices and says so in
// egressd_kube_api_unreachable, and after the restart a pod created meanwhile shows up in labels.
#include <cmath>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "agent_fixture.h"
#include "harness/cluster.h"
#include "harness/kube_api.h"
#include "harness/process.h"
#include "harness/util.h"

namespace egressd::testing {
namespace {

using namespace cluster;

std::string s(std::string_view v) {
  return std::string(v);
}

class KubeApiAgentTest : public AgentTest {
 protected:
  void configure_agent(AgentOptions& options) override {
    api_ = std::make_unique<FakeClusterApi>(topo(), workdir());
    options.kubeconfig = api_->kubeconfig();
  }
  void TearDown() override {
    AgentTest::TearDown();  // the agent first: it holds connections to the fake
    api_.reset();
  }

  [[nodiscard]] FakeClusterApi& api() { return *api_; }

  // The value of an unlabelled self-metric; NaN when absent.
  double gauge(const std::string& name) {
    for (const auto& sample : agent().metrics()) {
      if (sample.name == name && sample.labels.empty()) return sample.value;
    }
    return std::nan("");
  }

  bool gauge_reaches(const std::string& name, double value, std::chrono::milliseconds timeout) {
    return poll_until([&] { return gauge(name) == value; }, timeout, 100ms);
  }

 private:
  std::unique_ptr<FakeClusterApi> api_;
};

// The outage test runs with one flow source: what it checks is the API client's, not the source's.
// Its agent syncs with the streaming list (--kube-watch-list), so that mode is proven end to end
// too; the other test's agent lists page by page.
class KubeApiOutageTest : public KubeApiAgentTest {
 protected:
  void configure_agent(AgentOptions& options) override {
    KubeApiAgentTest::configure_agent(options);
    options.extra_args.emplace_back("--kube-watch-list");
  }
};

void expect_labels(const SeriesMap& series, std::string_view src, std::string_view dst,
                   const std::string& proto, const std::map<std::string, std::string>& want) {
  const auto it = series.find(SeriesKey{canonical_ip(src), canonical_ip(dst), proto});
  if (it == series.end()) {
    ADD_FAILURE() << "no series " << src << " -> " << dst << " " << proto;
    return;
  }
  for (const auto& [name, value] : want) {
    const auto got = it->second.labels.find(name);
    EXPECT_TRUE(got != it->second.labels.end() && got->second == value)
        << src << " -> " << dst << " " << proto << ": " << name << " = \""
        << (got == it->second.labels.end() ? "<missing>" : got->second) << "\", want \"" << value
        << "\"";
  }
}

// The inventory scenarios' traffic in one agent run: pod -> internet through SNAT (v4, v6, UDP),
// same-node pod <-> pod both ways, pod -> remote pod over IPv6, ClusterIP DNAT to a local and to
// a remote backend, and the node's own traffic. The fixture compares every series (counters and
// the labels of expectations.cpp, derived from cluster.h, not from the agent) with the truth.
TEST_P(KubeApiAgentTest, LabelsFlowsAsTheInventoryWould) {
  EXPECT_EQ(gauge("egressd_kube_index_pods"), 3.0);
  EXPECT_EQ(gauge("egressd_kube_index_nodes"), 2.0);
  EXPECT_EQ(gauge("egressd_kube_api_unreachable"), 0.0);
  EXPECT_GE(api().server().requests().size(), 4u) << "lists and watches of pods and nodes";

  tcp_flow(topo().pod_b(), topo().internet(), kInternetIp4, 443, kInternetIp4, 443,
           {{2000, 90000}});
  tcp_flow(topo().pod_a(), topo().internet(), kInternetIp6, 443, kInternetIp6, 443,
           {{3000, 45000}});
  udp_flow(topo().pod_b(), topo().internet(), kInternetIp4, 53, kInternetIp4, 53, {{60, 400}});
  tcp_flow(topo().pod_a(), topo().pod_b(), kPodB.ip4, 7000, kPodB.ip4, 7000, {{30000, 5000}});
  tcp_flow(topo().pod_b(), topo().pod_a(), kPodA.ip4, 7001, kPodA.ip4, 7001, {{8000, 60000}});
  tcp_flow(topo().pod_a(), topo().remote(), kPodR.ip6, 9000, kPodR.ip6, 9000, {{40000, 80000}});
  udp_flow(topo().pod_a(), topo().remote(), kPodR.ip6, 9001, kPodR.ip6, 9001, {{1000, 1000}});
  tcp_flow(topo().pod_a(), topo().pod_b(), kPodB.ip6, kBackendPort, kVipLocal6, kServicePort,
           {{7000, 9000}});
  tcp_flow(topo().pod_b(), topo().remote(), kPodR.ip4, kBackendPort, kVipRemote4, kServicePort,
           {{30000, 200000}});
  udp_flow(topo().node(), topo().remote(), kPodR.ip4, 9002, kPodR.ip4, 9002, {{200, 600}});

  const SeriesMap series = expect_agent_matches_truth();
  // Spelled out once more for the reader (the fixture's label check covers every series).
  expect_labels(series, kPodA.ip6, kPodR.ip6, "TCP",
                {{"src_pod", "pod-a"},
                 {"src_namespace", "team-a"},
                 {"src_node", s(kAgentNode)},
                 {"src_zone", s(kAgentZone)},
                 {"dst_pod", "pod-r"},
                 {"dst_namespace", "team-r"},
                 {"dst_node", s(kRemoteNode)},
                 {"dst_zone", s(kRemoteZone)},
                 {"cross_zone", "true"}});
  expect_labels(series, kPodB.ip4, kInternetIp4, "TCP",
                {{"src_pod", "pod-b"}, {"src_zone", s(kAgentZone)}, {"dst_pod", ""}});
  expect_labels(series, kNode1Ip4, kPodR.ip4, "UDP",
                {{"src_pod", ""}, {"src_node", s(kAgentNode)}, {"dst_pod", "pod-r"}});
}

// API server down: labels from the last known indices and egressd_kube_api_unreachable = 1; back
// up: the gauge returns to 0 and a pod created after the restart labels its flows.
TEST_P(KubeApiOutageTest, KeepsLastIndicesWhileUnreachableThenCatchesUp) {
  ASSERT_EQ(gauge("egressd_kube_api_unreachable"), 0.0);
  // Every list is a streaming list (a retry may repeat one; none is paged).
  std::set<std::string> streamed;
  for (const auto& r : api().server().requests()) {
    EXPECT_EQ(r.target.find("limit="), std::string::npos) << "a list page: " << r.target;
    if (r.target.find("sendInitialEvents=true") == std::string::npos) continue;
    for (const char* resource : {"/pods?", "/nodes?"}) {
      if (r.target.find(resource) != std::string::npos) streamed.insert(resource);
    }
  }
  EXPECT_EQ(streamed, (std::set<std::string>{"/nodes?", "/pods?"}))
      << "pods and nodes as streaming lists";
  api().server().stop();
  ASSERT_TRUE(gauge_reaches("egressd_kube_api_unreachable", 1.0, 60s))
      << "the agent does not report the API server as unreachable";

  tcp_flow(topo().pod_a(), topo().remote(), kPodR.ip4, 9000, kPodR.ip4, 9000, {{20000, 4000}});
  tcp_flow(topo().pod_b(), topo().internet(), kInternetIp6, 443, kInternetIp6, 443,
           {{1000, 30000}});
  expect_agent_matches_truth();  // counters and labels, from the indices of before the outage
  EXPECT_EQ(gauge("egressd_kube_api_unreachable"), 1.0) << "the API server is still down";

  // A pod of the remote node created after the restart; its addresses sit on the remote
  // namespace's loopback like pod-r's (the node routes 10.244.2.0/24 and fd00:244:2::/64 there).
  constexpr PodInfo kPodLate{"pod-late", "team-late", kRemoteNode, "10.244.2.11", "fd00:244:2::11"};
  run_checked({"ip", "addr", "add", s(kPodLate.ip4) + "/32", "dev", "lo"},
              in_netns_opts(topo().remote()));
  run_checked({"ip", "addr", "add", s(kPodLate.ip6) + "/128", "dev", "lo", "nodad"},
              in_netns_opts(topo().remote()));
  api().server().start();
  api().upsert_pod(kPodLate);
  // The reflectors retry with backoff (0.8 s doubling, equal jitter, capped at 30 s), each on
  // its own: whatever the outage lasted, each sleeps at most 30 s before it tries again. 90 s
  // bounds a hang; it is not a budget a correct agent gets near.
  ASSERT_TRUE(gauge_reaches("egressd_kube_index_pods", 4.0, 90s)) << "the new pod never arrived";
  EXPECT_TRUE(gauge_reaches("egressd_kube_api_unreachable", 0.0, 90s))
      << "the nodes reflector never reconnected";

  tcp_flow(topo().pod_b(), topo().remote(), kPodLate.ip4, 9100, kPodLate.ip4, 9100, {{5000, 7000}});
  // Counters against the truth; the labels of pod-late are checked here, as cluster.h (and so
  // the fixture's label expectations) does not know the pod.
  ASSERT_TRUE(agent_reaches_truth());
  const SeriesMap series = agent_series(agent().metrics());
  expect_labels(series, kPodB.ip4, kPodLate.ip4, "TCP",
                {{"src_pod", "pod-b"},
                 {"dst_pod", "pod-late"},
                 {"dst_namespace", "team-late"},
                 {"dst_node", s(kRemoteNode)},
                 {"dst_zone", s(kRemoteZone)},
                 {"cross_zone", "true"}});
  expect_labels(series, kPodA.ip4, kPodR.ip4, "TCP", {{"dst_pod", "pod-r"}});
}

INSTANTIATE_TEST_SUITE_P(Sources, KubeApiAgentTest, ::testing::ValuesIn(kSources),
                         source_param_name);
INSTANTIATE_TEST_SUITE_P(Netfilter, KubeApiOutageTest, ::testing::Values(kSources[0]),
                         source_param_name);

}  // namespace
}  // namespace egressd::testing
