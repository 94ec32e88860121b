// The agent under test: the real `egressd` binary started in the node namespace (setns between
// fork and exec, like `nsenter --net`) with a standalone inventory of the simulated cluster.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "harness/http.h"
#include "harness/process.h"
#include "harness/prom_text.h"
#include "harness/topology.h"

namespace egressd::testing {

// Path of the egressd binary under test: $EGRESSD_IT_AGENT if set (a sanitizer build, see
// scripts/sanitize.sh), else this build's (compile definition EGRESSD_AGENT_PATH).
[[nodiscard]] std::filesystem::path agent_binary();

// `egressd init` in the namespace: enables nf_conntrack_acct there.
[[nodiscard]] RunResult run_agent_init(const std::string& netns);

struct AgentOptions {
  std::chrono::milliseconds read_interval{1000};
  std::vector<std::string> extra_args;
  // Where the agent gets its Kubernetes objects: empty, the inventory file of the simulated
  // cluster (--inventory); else this kubeconfig (--kubeconfig), e.g. FakeClusterApi's.
  std::filesystem::path kubeconfig{};
  // Empty: the agent binary runs in the node namespace. Else the command that runs the agent
  // (e.g. `podman run ... IMAGE`), started in the test's own namespace and given the agent's
  // arguments; it must put the agent in the node namespace itself and see the workdir's files
  // at the same paths.
  std::vector<std::string> launcher{};
};

class Agent {
 public:
  // Writes the inventory into `workdir`, starts the agent and waits until GET /healthz answers
  // 200 (and /readyz too when the agent serves it). Throws HarnessError with the agent's log if
  // it exits or does not become healthy in time.
  Agent(const Topology& topology, const std::filesystem::path& workdir, AgentOptions options = {});
  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;
  ~Agent() = default;  // ChildProcess kills what stop() did not stop

  [[nodiscard]] uint16_t port() const noexcept { return port_; }
  [[nodiscard]] std::string address() const;  // "127.0.0.1:PORT", Prometheus' target
  [[nodiscard]] std::chrono::milliseconds read_interval() const noexcept {
    return options_.read_interval;
  }
  [[nodiscard]] HttpResponse get(const std::string& path) const;
  // GET /metrics; throws unless it answers 200.
  [[nodiscard]] std::string metrics_text() const;
  [[nodiscard]] std::vector<Sample> metrics() const;

  // Reads of its flow source the agent has counted: egressd_ebpf_reads_total (ended),
  // egressd_conntrack_dumps_total (started) or egressd_cilium_reads_total (ended).
  [[nodiscard]] double source_reads() const;

  // Waits until the agent has completed `reads` more reads of its flow source (so at least
  // `reads - 1` started after this call) and its exporters have finished with a snapshot closed
  // two intervals after the last of them: the state a "later reads change nothing" check needs.
  // False if that does not happen within `timeout` (a bound on a hang, not a wait).
  [[nodiscard]] bool wait_for_reads_published(
      int reads = 2, std::chrono::milliseconds timeout = std::chrono::seconds(60));

  [[nodiscard]] bool running() { return !process_.exited(); }
  // SIGTERM, then SIGKILL after 30 s (Kubernetes' default termination grace period).
  ChildProcess::StopResult stop() { return process_.stop(std::chrono::seconds(30)); }
  [[nodiscard]] std::string status_text() const { return process_.status_text(); }
  [[nodiscard]] std::string log() const;

 private:
  std::string netns_;
  std::filesystem::path log_path_;
  AgentOptions options_;
  uint16_t port_ = 0;
  ChildProcess process_;
};

}  // namespace egressd::testing
