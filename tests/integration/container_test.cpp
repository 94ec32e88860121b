// The container image, run as the Helm chart renders it, counts the scenario traffic exactly.
//
// The chart is rendered with `helm template` (the official binary scripts/check-chart.sh fetched)
// for the source under test; tests/package/podman_args.py turns the DaemonSet's init container and
// agent container into `podman run` options: the same user (0), dropped and added capabilities,
// read-only root, no_new_privs, host mounts and arguments — never --privileged. Seccomp is the
// profile Kubernetes applies as RuntimeDefault on containerd (podman's default plus bpf() with
// CAP_BPF and perf_event_open() with CAP_PERFMON, tests/package/runtime_default_seccomp.py). The
// containers join the topology's node namespace (`--network ns:`, what hostNetwork is on a node);
// the init container enables conntrack accounting there, the agent's /metrics must then equal
// the ground truth to the byte, for the eBPF and the netfilter source.
//
// Label `package`: needs the image (scripts/build-image.sh) and helm (scripts/check-chart.sh),
// both run by scripts/test.sh before this tier.
#include <simdjson.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "agent_fixture.h"
#include "egressd/common/mountinfo.h"
#include "harness/cluster.h"
#include "harness/process.h"
#include "harness/prom_text.h"

#ifndef EGRESSD_IMAGE
#error "EGRESSD_IMAGE must name the image under test"
#endif

namespace egressd::testing {
namespace {

using namespace cluster;

const std::string kSource = EGRESSD_SOURCE_DIR;
const std::string kBinary = EGRESSD_BINARY_DIR;

// `podman` with the state directory and settings of scripts/container-env.sh.
std::vector<std::string> podman() {
  return {"bash", "-c", "source \"$0\"/scripts/container-env.sh && exec podman \"$@\"", kSource};
}

struct ChartContainer {
  std::vector<std::string> podman_options;
  std::vector<std::string> args;
};

// Renders the chart for `source` and returns how it runs `container`.
ChartContainer render(const std::string& source, const std::string& container,
                      const std::string& cgroup_root) {
  const RunResult rendered = run(
      {kBinary + "/tools/helm", "template", "egressd", kSource + "/helm/egressd", "--namespace",
       "monitoring", "--set", "source=" + source, "--set", "dnsTracer.cgroupRoot=" + cgroup_root});
  if (!rendered.ok()) throw HarnessError(rendered.describe());
  RunOptions input;
  input.input = rendered.out;
  const RunResult args =
      run({"/usr/bin/python3", kSource + "/tests/package/podman_args.py", container}, input);
  if (!args.ok()) throw HarnessError(args.describe());
  simdjson::dom::parser parser;
  const simdjson::dom::element doc = parser.parse(args.out);
  ChartContainer out;
  for (const auto v : doc["podman"].get_array())
    out.podman_options.emplace_back(v.get_string().value());
  for (const auto v : doc["args"].get_array()) out.args.emplace_back(v.get_string().value());
  return out;
}

std::string host_cgroup2_root() {
  auto mounts = read_mountinfo();
  if (!mounts) throw HarnessError(mounts.error().message());
  auto root = find_cgroup2_root(*mounts);
  if (!root) throw HarnessError(root.error().message());
  return *root;
}

// The image's entry point is the agent, and it runs with no network at all.
TEST(Image, PrintsItsVersionWithoutANetwork) {
  std::vector<std::string> argv = podman();
  argv.insert(argv.end(),
              {"run", "--rm", "--pull=never", "--network", "none", EGRESSD_IMAGE, "--version"});
  const RunResult r = run(argv);
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_EQ(r.out, fmt::format("egressd {}\n", EGRESSD_VERSION));
}

class ContainerAgentTest : public AgentTest {
 protected:
  void SetUp() override {
    ASSERT_EQ(::access((kBinary + "/tools/helm").c_str(), X_OK), 0)
        << "no helm binary: run scripts/check-chart.sh first";
    const RunResult image = run_with_podman({"image", "exists", EGRESSD_IMAGE});
    ASSERT_TRUE(image.ok()) << "no image " << EGRESSD_IMAGE << ": run scripts/build-image.sh first";
    seccomp_ = std::make_unique<TempDir>("seccomp");
    profile_ = (seccomp_->path() / "runtime-default.json").string();
    const RunResult profile =
        run({"/usr/bin/python3", kSource + "/tests/package/runtime_default_seccomp.py", profile_});
    ASSERT_TRUE(profile.ok()) << profile.describe();
    name_ = fmt::format("egd{}-agent", ::getpid());
    AgentTest::SetUp();
  }

  void TearDown() override {
    AgentTest::TearDown();
    // Whatever happened: no container is left behind (the harness stopped `podman run`).
    (void)run_with_podman({"rm", "--force", "--ignore", name_});
    (void)run_with_podman({"rm", "--force", "--ignore", name_ + "-init"});
  }

  static RunResult run_with_podman(const std::vector<std::string>& args) {
    std::vector<std::string> argv = podman();
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv);
  }

  // `podman run` of one of the chart's containers in the node namespace, without `drop_cap` if
  // given ("bpf": the chart's --cap-add bpf left out).
  std::vector<std::string> podman_run(const std::string& container, const std::string& name,
                                      const std::string& drop_cap = "") {
    ChartContainer c = render(std::string(GetParam()), container, host_cgroup2_root());
    for (size_t i = 0; !drop_cap.empty() && i + 1 < c.podman_options.size(); ++i) {
      if (c.podman_options[i] == "--cap-add" && c.podman_options[i + 1] == drop_cap) {
        c.podman_options.erase(c.podman_options.begin() + static_cast<ptrdiff_t>(i),
                               c.podman_options.begin() + static_cast<ptrdiff_t>(i) + 2);
        break;
      }
    }
    std::vector<std::string> argv = podman();
    argv.insert(argv.end(),
                {"run", "--rm", "--name", name, "--network", "ns:/run/netns/" + topo().node(),
                 "--security-opt", "seccomp=" + profile_, "--pull=never"});
    argv.insert(argv.end(), c.podman_options.begin(), c.podman_options.end());
    // The harness's files (inventory) at the same path inside.
    argv.insert(argv.end(),
                {"--volume", workdir().string() + ":" + workdir().string() + ":ro", EGRESSD_IMAGE});
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    return argv;
  }

  RunResult init_accounting() override {
    // The chart renders the init container only where the netfilter source can be chosen; the
    // eBPF source counts without conntrack accounting, so there the fixture's precondition (the
    // same node for both sources) is set with the binary, as the other agent tests do.
    if (GetParam() == "ebpf") return AgentTest::init_accounting();
    return run(podman_run("conntrack-accounting", name_ + "-init"));
  }

  void configure_agent(AgentOptions& options) override {
    // The chart's arguments come first; the harness's (inventory, port, read interval) follow
    // and win.
    options.launcher = podman_run("egressd", name_);
  }

  std::unique_ptr<TempDir> seccomp_;
  std::string profile_;
  std::string name_;
};

TEST_P(ContainerAgentTest, CountsTheScenarioExactly) {
  tcp_flow(topo().pod_a(), topo().remote(), kPodR.ip4, 9000, kPodR.ip4, 9000, {{40000, 90000}});
  tcp_flow(topo().pod_b(), topo().pod_a(), kPodA.ip4, 7001, kPodA.ip4, 7001, {{8000, 6000}});
  tcp_flow(topo().pod_a(), topo().pod_b(), kPodB.ip6, kBackendPort, kVipLocal6, kServicePort,
           {{7000, 9000}});
  udp_flow(topo().pod_b(), topo().internet(), kInternetIp4, 53, kInternetIp4, 53, {{80, 500}});
  tcp_flow(topo().pod_b(), topo().internet(), kInternetIp6, 443, kInternetIp6, 443,
           {{1000, 30000}});
  const SeriesMap series = expect_agent_matches_truth();
  EXPECT_GE(series.size(), 5u);
  EXPECT_EQ(metric_value(agent().metrics(), "egressd_dns_tracer_running"), 1)
      << "the DNS tracer runs too, on the host's cgroup v2 hierarchy";
  // Not privileged, and with exactly the chart's capabilities: the agent says what it runs.
  const std::string log = agent().log();
  EXPECT_NE(log.find(fmt::format("source: {}", GetParam())), std::string::npos) << log;
}

// Each capability the chart adds is needed: without it, the source refuses to start (one line
// naming what is missing) or, for the DNS tracer's, the agent runs without dst_dns_name.
TEST_P(ContainerAgentTest, EveryAddedCapabilityIsNeeded) {
  const std::string source(GetParam());
  struct Case {
    const char* cap;
    bool agent_exits;  // else the agent runs, without the DNS tracer
  };
  const std::vector<Case> cases =
      source == "ebpf" ? std::vector<Case>{{"bpf", true}, {"perfmon", true}, {"net_admin", true}}
                       : std::vector<Case>{{"net_admin", true}, {"bpf", false}, {"perfmon", false}};
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string("without CAP_") + c.cap);
    const std::string name = fmt::format("{}-no-{}", name_, c.cap);
    std::vector<std::string> argv = podman_run("egressd", name, c.cap);
    argv.insert(argv.end(), {"--inventory", (workdir() / "inventory.json").string(), "--node-name",
                             std::string(kAgentNode), "--http-listen-address", "127.0.0.1",
                             "--http-listen-port", "0"});
    if (c.agent_exits) {
      RunOptions o;
      o.timeout = std::chrono::seconds(60);
      const RunResult r = run(argv, o);
      EXPECT_EQ(r.exit_code, 1) << r.describe();
      const std::string said = r.out + r.err;
      if (source == "ebpf") {
        // The kernel's refusal (EPERM from bpf(), EACCES from the verifier without
        // CAP_PERFMON), as under a cluster's RuntimeDefault: never the ENOSYS of a seccomp
        // profile's default action.
        EXPECT_TRUE(said.find("Operation not permitted") != std::string::npos ||
                    said.find("Permission denied") != std::string::npos)
            << r.describe();
        EXPECT_EQ(said.find("Function not implemented"), std::string::npos) << r.describe();
      } else {
        EXPECT_NE(said.find("CAP_NET_ADMIN"), std::string::npos) << r.describe();
      }
    } else {
      AgentOptions options;
      options.launcher = podman_run("egressd", name, c.cap);
      // Beside the fixture's agent, in the same workdir (the container sees only that one).
      Agent degraded(topo(), workdir(), options);
      EXPECT_EQ(metric_value(degraded.metrics(), "egressd_dns_tracer_running"), 0);
      EXPECT_EQ(metric_value(degraded.metrics(), "egressd_source_info", "source", source), 1);
      EXPECT_NE(degraded.log().find("dns tracer: cannot run here"), std::string::npos);
      EXPECT_EQ(degraded.stop().exit_code, 0);
    }
    (void)run_with_podman({"rm", "--force", "--ignore", name});
  }
}

INSTANTIATE_TEST_SUITE_P(Sources, ContainerAgentTest, ::testing::ValuesIn(kSources),
                         source_param_name);

}  // namespace
}  // namespace egressd::testing
