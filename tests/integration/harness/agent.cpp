#include "harness/agent.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "harness/cluster.h"
#include "harness/util.h"

#ifndef EGRESSD_AGENT_PATH
#error "EGRESSD_AGENT_PATH must name the egressd binary under test"
#endif

namespace egressd::testing {
namespace {

constexpr const char* kListenIp = "127.0.0.1";

std::filesystem::path write_inventory(const std::filesystem::path& workdir) {
  const auto path = workdir / "inventory.json";
  std::ofstream(path) << cluster::inventory_json();
  return path;
}

std::filesystem::path checked_binary() {
  auto path = agent_binary();
  if (!std::filesystem::exists(path)) {
    throw HarnessError(
        fmt::format("agent binary {} does not exist: build the egressd target", path.string()));
  }
  return path;
}

std::string go_duration(std::chrono::milliseconds d) {
  return fmt::format("{}ms", d.count());
}

ChildProcess start_agent(const Topology& topology, const std::filesystem::path& workdir,
                         const AgentOptions& options, uint16_t port,
                         const std::filesystem::path& log_path) {
  std::vector<std::string> argv = options.launcher;
  if (argv.empty()) argv.push_back(checked_binary().string());
  const std::vector<std::string> args = {
      options.kubeconfig.empty() ? "--inventory" : "--kubeconfig",
      options.kubeconfig.empty() ? write_inventory(workdir).string() : options.kubeconfig.string(),
      "--node-name",
      std::string(cluster::kAgentNode),
      "--read-interval",
      go_duration(options.read_interval),
      "--http-listen-address",
      kListenIp,
      "--http-listen-port",
      std::to_string(port),
      "--log-level",
      "debug",
      "--exclude-namespaces",
      ""};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.insert(argv.end(), options.extra_args.begin(), options.extra_args.end());
  return ChildProcess::start(argv, options.launcher.empty() ? topology.node() : "", log_path);
}

}  // namespace

std::filesystem::path agent_binary() {
  // scripts/sanitize.sh runs these tests against a sanitizer build of the agent.
  // NOLINTNEXTLINE(concurrency-mt-unsafe): nothing in the tests modifies the environment
  if (const char* other = std::getenv("EGRESSD_IT_AGENT"); other != nullptr && *other != '\0') {
    return other;
  }
  return EGRESSD_AGENT_PATH;
}

RunResult run_agent_init(const std::string& netns) {
  return run({checked_binary().string(), "init"}, in_netns_opts(netns));
}

Agent::Agent(const Topology& topology, const std::filesystem::path& workdir, AgentOptions options)
    : netns_(topology.node()),
      log_path_(workdir / "egressd.log"),
      options_(std::move(options)),
      port_(free_tcp_port(topology.node(), kListenIp)),
      process_(start_agent(topology, workdir, options_, port_, log_path_)) {
  bool healthy =
      poll_until([&] { return process_.exited() || get("/healthz").status == 200; }, 30s, 20ms);
  if (healthy && !process_.exited()) {
    // /readyz, where served, says the sources are running (404: not implemented, fine).
    healthy = poll_until(
        [&] {
          const int status = get("/readyz").status;
          return process_.exited() || status == 200 || status == 404;
        },
        10s, 20ms);
  }
  if (!healthy || process_.exited()) {
    throw HarnessError(fmt::format("agent not healthy ({}); log:\n{}", process_.status_text(),
                                   tail_lines(log(), 40)));
  }
}

std::string Agent::address() const {
  return fmt::format("{}:{}", kListenIp, port_);
}

HttpResponse Agent::get(const std::string& path) const {
  return http_get(netns_, kListenIp, port_, path);
}

std::string Agent::metrics_text() const {
  HttpResponse r = get("/metrics");
  if (r.status != 200) {
    throw HarnessError(fmt::format("GET /metrics: status {} {}; agent log:\n{}", r.status, r.error,
                                   tail_lines(log(), 20)));
  }
  return std::move(r.body);
}

std::vector<Sample> Agent::metrics() const {
  return parse_prometheus_text(metrics_text());
}

std::string Agent::log() const {
  std::ifstream in(log_path_);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

double Agent::source_reads() const {
  // One of these exists, for the source in use. A dump counted when it starts has ended once the
  // next one is counted, so `n + 2` always means one whole read after the count of `n`.
  const auto samples = metrics();
  return metric_sum(samples, "egressd_ebpf_reads_total") +
         metric_sum(samples, "egressd_conntrack_dumps_total") +
         metric_sum(samples, "egressd_cilium_reads_total");
}

bool Agent::wait_for_reads_published(int reads, std::chrono::milliseconds timeout) {
  const auto reads_done = [this] { return source_reads(); };
  const double reads0 = reads_done();
  if (!poll_until([&] { return reads_done() >= reads0 + reads; }, timeout, 20ms)) return false;
  // The last read's batches were queued before its counter moved; the reducer applies them by the
  // second interval close after this point at the latest, and the consumers then finish with it.
  const double closed = metric_sum(metrics(), "egressd_intervals_total");
  return poll_until(
      [&] { return metric_sum(metrics(), "egressd_snapshots_consumed_total") >= closed + 2; },
      timeout, 20ms);
}

}  // namespace egressd::testing
