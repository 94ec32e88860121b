// Helpers of the eBPF source's integration tests: traffic the shared harness does not generate
// (ICMP echo, a raw IP protocol, connection churn), a raw agent process (for SIGKILL and dropped
// capabilities), and what the kernel has attached (TCX chains, BPF programs by id).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "harness/process.h"
#include "harness/prom_text.h"
#include "harness/topology.h"

namespace egressd::testing {

// Sends `count` ICMP/ICMPv6 echo requests of `payload` bytes from namespace `from` to `dst` and
// waits for each reply (raw sockets). Returns the replies received.
int ping(const std::string& from, const std::string& dst, int count, size_t payload);

// Sends `count` datagrams of IP protocol `proto` with `payload` bytes from `from` to `dst`, where
// a raw socket in `to_ns` answers each with `reply` bytes. Returns the answers received.
int raw_exchange(const std::string& from, const std::string& to_ns, const std::string& dst,
                 uint8_t proto, int count, size_t payload, size_t reply);

struct ChurnResult {
  uint64_t connections = 0;  // completed, each with exactly `up` bytes one way and `down` back
  uint64_t failures = 0;
  std::chrono::duration<double> took{0};
};

// Short TCP connections from `client_ns` to dial_ip:port (served by `threads` threads in
// `server_ns` on server_ip:port) on `threads` client threads, until `stop` is set and each client
// thread has completed `min_per_thread` connections: connect, send `up` bytes, half-close, read
// `down` bytes and EOF, close. How long it runs is the caller's condition, not a time.
// `completed`, when given, counts completed connections as they happen (for the caller to see
// that the churn is under way).
ChurnResult churn(const std::string& client_ns, const std::string& server_ns,
                  const std::string& server_ip, const std::string& dial_ip, uint16_t port,
                  int threads, const std::atomic<bool>& stop, uint64_t min_per_thread, size_t up,
                  size_t down, std::atomic<uint64_t>* completed = nullptr);

// The agent binary as a bare child process (the harness's Agent class sends SIGTERM only), with
// `prefix` (e.g. setpriv ...) before it. Waits for /healthz unless `expect_exit`.
struct RawAgent {
  ChildProcess process;
  uint16_t port = 0;
  std::filesystem::path log_path;
  [[nodiscard]] std::string log() const;
  [[nodiscard]] std::vector<Sample> metrics(const std::string& netns) const;
};
RawAgent start_raw_agent(const Topology& topo, const std::filesystem::path& workdir,
                         const std::vector<std::string>& prefix,
                         const std::vector<std::string>& args, bool expect_exit = false);

// Program ids on the TCX egress chain of every interface of `netns`, by interface name.
std::map<std::string, std::vector<uint32_t>> tcx_egress_programs(const std::string& netns);

// Ids of loaded BPF programs whose name starts with `prefix` (kernel names: 15 characters).
std::set<uint32_t> programs_named(const std::string& prefix);

// Run time the kernel accounted to program `id` while BPF statistics were enabled
// (bpf_enable_stats(), Linux 5.8): {runs, total ns}.
std::pair<uint64_t, uint64_t> program_run_time(uint32_t id);

// True while the kernel still knows program `id`.
bool program_exists(uint32_t id);

// `tc qdisc show` of the namespace.
std::string qdiscs(const std::string& netns);

}  // namespace egressd::testing
