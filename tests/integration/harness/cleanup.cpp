#include "harness/cleanup.h"

#include <signal.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstring>
#include <mutex>

#include <sys/mount.h>

namespace egressd::testing::cleanup {
namespace {

// Fixed-size tables: the signal handler may not allocate or take locks. Writers hold `mutex` and
// publish a slot with a release store of `used`; the handler reads slots with acquire loads.
constexpr size_t kMaxPids = 64;
constexpr size_t kMaxNetns = 64;
constexpr size_t kMaxPath = 128;

struct NetnsSlot {
  std::atomic<bool> used{false};
  std::array<char, kMaxPath> path{};
};

std::array<std::atomic<pid_t>, kMaxPids> g_pids{};
std::array<NetnsSlot, kMaxNetns> g_netns{};
std::mutex g_mutex;

constexpr std::array kFatalSignals = {SIGINT,  SIGTERM, SIGHUP, SIGQUIT, SIGABRT,
                                      SIGSEGV, SIGBUS,  SIGFPE, SIGILL};

void on_fatal_signal(int sig) {
  for (auto& p : g_pids) {
    const pid_t pid = p.load(std::memory_order_acquire);
    if (pid > 0) {
      ::kill(pid, SIGKILL);
    }
  }
  for (auto& slot : g_netns) {
    if (slot.used.load(std::memory_order_acquire)) {
      // What `ip netns del` does: detach the bind mount that keeps the namespace alive.
      ::umount2(slot.path.data(), MNT_DETACH);
      ::unlink(slot.path.data());
    }
  }
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

}  // namespace

void install() {
  static std::once_flag once;
  std::call_once(once, [] {
    ::signal(SIGPIPE, SIG_IGN);
    struct sigaction sa{};
    sa.sa_handler = on_fatal_signal;
    sigemptyset(&sa.sa_mask);
    for (const int sig : kFatalSignals) {
      ::sigaction(sig, &sa, nullptr);
    }
  });
}

void register_pid(pid_t pid) noexcept {
  const std::lock_guard lock(g_mutex);
  for (auto& p : g_pids) {
    if (p.load(std::memory_order_relaxed) == 0) {
      p.store(pid, std::memory_order_release);
      return;
    }
  }
}

void unregister_pid(pid_t pid) noexcept {
  const std::lock_guard lock(g_mutex);
  for (auto& p : g_pids) {
    if (p.load(std::memory_order_relaxed) == pid) {
      p.store(0, std::memory_order_release);
    }
  }
}

void register_netns(std::string_view path) noexcept {
  if (path.size() >= kMaxPath) {
    return;  // the startup sweep still covers it
  }
  const std::lock_guard lock(g_mutex);
  for (auto& slot : g_netns) {
    if (!slot.used.load(std::memory_order_relaxed)) {
      std::memcpy(slot.path.data(), path.data(), path.size());
      slot.path[path.size()] = '\0';
      slot.used.store(true, std::memory_order_release);
      return;
    }
  }
}

void unregister_netns(std::string_view path) noexcept {
  const std::lock_guard lock(g_mutex);
  for (auto& slot : g_netns) {
    if (slot.used.load(std::memory_order_relaxed) && std::string_view(slot.path.data()) == path) {
      slot.used.store(false, std::memory_order_release);
    }
  }
}

}  // namespace egressd::testing::cleanup
