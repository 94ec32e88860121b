#include "harness/netns.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <system_error>
#include <vector>

#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "common/run_owner.h"
#include "harness/cleanup.h"
#include "harness/inet.h"
#include "harness/process.h"

namespace egressd::testing {
namespace {

namespace fs = std::filesystem;

// Kills every process whose network namespace is the one bound at `ns_path`.
void kill_processes_in(const fs::path& ns_path) {
  struct stat ns{};
  if (::stat(ns_path.c_str(), &ns) != 0) {
    return;
  }
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    const std::string pid_text = entry.path().filename().string();
    pid_t pid = 0;
    const auto [end, perr] =
        std::from_chars(pid_text.data(), pid_text.data() + pid_text.size(), pid);
    if (perr != std::errc() || end != pid_text.data() + pid_text.size() || pid <= 0) {
      continue;
    }
    struct stat st{};
    const std::string net = entry.path().string() + "/ns/net";
    if (::stat(net.c_str(), &st) == 0 && st.st_ino == ns.st_ino && st.st_dev == ns.st_dev) {
      std::fprintf(stderr, "[harness] killing pid %d left in stale namespace %s\n", pid,
                   ns_path.c_str());
      ::kill(pid, SIGKILL);
    }
  }
}

void delete_netns(const std::string& name) {
  const RunResult r = run({"ip", "netns", "del", name});
  if (!r.ok()) {
    // Fall back to what `ip netns del` does, so a half-created namespace never stays mounted.
    const std::string path = "/run/netns/" + name;
    ::umount2(path.c_str(), MNT_DETACH);
    ::unlink(path.c_str());
  }
}

}  // namespace

const std::string& run_prefix() {
  static const std::string prefix = own_run_prefix();
  return prefix;
}

void sweep_stale_runs() {
  static std::once_flag once;
  std::call_once(once, [] { sweep_stale_runs_now(); });
}

void sweep_stale_runs_now() {
  cleanup::install();
  const auto stale_entries = [](const fs::path& dir) {
    std::vector<fs::path> stale;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      if (is_stale_run_name(entry.path().filename().string())) {
        stale.push_back(entry.path());
      }
    }
    return stale;
  };
  for (const auto& path : stale_entries("/run/netns")) {
    std::fprintf(stderr, "[harness] deleting stale namespace %s\n", path.c_str());
    kill_processes_in(path);
    delete_netns(path.filename().string());
  }
  for (const auto& path : stale_entries("/tmp")) {
    std::fprintf(stderr, "[harness] removing stale temp dir %s\n", path.c_str());
    std::error_code ec;
    fs::remove_all(path, ec);
  }
}

NetNs::NetNs(std::string_view suffix) : name_(run_prefix() + std::string(suffix)) {
  sweep_stale_runs();
  cleanup::register_netns(path());
  const RunResult r = run({"ip", "netns", "add", name_});
  if (!r.ok()) {
    cleanup::unregister_netns(path());
    throw HarnessError(r.describe());
  }
}

NetNs::~NetNs() {
  if (name_.empty()) {
    return;
  }
  delete_netns(name_);
  cleanup::unregister_netns(path());
}

void enter_netns(const std::string& name) {
  const std::string path = "/run/netns/" + name;
  const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    throw_errno("opening " + path);
  }
  if (::setns(fd.get(), CLONE_NEWNET) != 0) {
    throw_errno("setns " + path);
  }
}

UniqueFd socket_in_netns(const std::string& name, int domain, int type) {
  return in_netns(name, [&] {
    UniqueFd fd(::socket(domain, type | SOCK_CLOEXEC, 0));
    if (!fd.valid()) {
      throw_errno("socket in netns " + name);
    }
    return fd;
  });
}

uint16_t free_tcp_port(const std::string& netns, const std::string& ip) {
  SockAddr addr = make_sockaddr(ip, 0);
  const UniqueFd fd = socket_in_netns(netns, addr.family(), SOCK_STREAM);
  if (::bind(fd.get(), addr.get(), addr.len) != 0) {
    throw_errno(fmt::format("bind {}:0 in {}", ip, netns));
  }
  addr.len = sizeof addr.storage;
  if (::getsockname(fd.get(), addr.get(), &addr.len) != 0) {
    throw_errno("getsockname");
  }
  return addr.port();
}

TempDir::TempDir(std::string_view purpose) {
  sweep_stale_runs();
  std::string templ = fmt::format("/tmp/{}{}-XXXXXX", run_prefix(), purpose);
  if (::mkdtemp(templ.data()) == nullptr) {
    throw_errno("mkdtemp " + templ);
  }
  path_ = templ;
}

TempDir::~TempDir() {
  if (!path_.empty()) {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
}

}  // namespace egressd::testing
