// Child processes of the tests: short commands whose output is captured (ip, nft, conntrack,
// ethtool, promtool) and long-running daemons (the agent, Prometheus).
//
// A child that must live in a test namespace enters it with setns(CLONE_NEWNET) between fork and
// exec — only the network namespace changes, unlike `ip netns exec`, which also remounts /sys and
// would hide bpffs and cgroups from the agent. Every child gets PR_SET_PDEATHSIG=SIGKILL and is
// registered with cleanup.h, so no daemon outlives a crashed test. PR_SET_PDEATHSIG fires when
// the *thread* that forked exits: start daemons from the test's main thread (the tests do).
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include <sys/types.h>

namespace egressd::testing {

struct RunOptions {
  std::string netns;  // name under /run/netns; empty: the test process's own namespace
  std::string input;  // written to the child's stdin, which is then closed
  std::chrono::milliseconds timeout{std::chrono::seconds(20)};
};

// Options for a command run inside `netns`, optionally fed `input` on stdin.
[[nodiscard]] inline RunOptions in_netns_opts(std::string netns, std::string input = {}) {
  RunOptions o;
  o.netns = std::move(netns);
  o.input = std::move(input);
  return o;
}

struct RunResult {
  std::vector<std::string> argv;
  int exit_code = -1;  // -1: killed by a signal (or by the timeout)
  bool timed_out = false;
  std::string out;
  std::string err;

  [[nodiscard]] bool ok() const noexcept { return exit_code == 0; }
  // "`nft -f -` (netns egd12-node) exited 1: <stderr>" for failure messages.
  [[nodiscard]] std::string describe() const;
};

// Runs argv[0] (looked up on PATH) to completion. Never throws for a non-zero exit: check ok().
[[nodiscard]] RunResult run(const std::vector<std::string>& argv, const RunOptions& opts = {});

// Like run() but throws HarnessError unless the command exits 0; returns its stdout.
std::string run_checked(const std::vector<std::string>& argv, const RunOptions& opts = {});

class ChildProcess {
 public:
  // Starts argv (argv[0] looked up on PATH) in `netns` (empty: ours) with stdin from /dev/null
  // and stdout+stderr appended to `log_path`.
  static ChildProcess start(const std::vector<std::string>& argv, const std::string& netns,
                            const std::filesystem::path& log_path);

  ChildProcess(ChildProcess&& o) noexcept;
  ChildProcess& operator=(ChildProcess&&) = delete;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  // Kills (SIGKILL) and reaps the child if it still runs.
  ~ChildProcess();

  [[nodiscard]] pid_t pid() const noexcept { return pid_; }
  // Reaps without blocking; true once the child has exited.
  [[nodiscard]] bool exited();
  // "exit 0", "signal 9 (SIGKILL)", or "running".
  [[nodiscard]] std::string status_text() const;

  struct StopResult {
    bool was_running = false;          // false: it had already exited before stop()
    bool exited_within_grace = false;  // ended on SIGTERM before `grace` passed
    int exit_code = -1;                // -1: ended by a signal
    std::chrono::milliseconds took{0};
  };
  // SIGTERM, then waits up to `grace`; SIGKILL after that. Idempotent.
  StopResult stop(std::chrono::milliseconds grace);

 private:
  explicit ChildProcess(pid_t pid) noexcept : pid_(pid) {}
  pid_t pid_ = -1;
  bool reaped_ = false;
  int wait_status_ = 0;
};

}  // namespace egressd::testing
