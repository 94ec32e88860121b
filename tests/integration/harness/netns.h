// Network namespaces of one test run, and threads that work inside them.
//
// Names carry the run's prefix `egd<pid>-` so concurrent runs never collide and a later run can
// tell a crashed run's leftovers (the pid is gone) from a live run's namespaces.
#pragma once

#include <exception>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>

#include "harness/util.h"

namespace egressd::testing {

// "egd<pid>-": the prefix of every namespace and temp dir this process creates.
[[nodiscard]] const std::string& run_prefix();

// Deletes what crashed runs left behind: namespaces `egd<pid>-*` whose pid is gone (after killing
// any process still inside them) and temp dirs /tmp/egd<pid>-*. Runs once per process; every
// harness entry point calls it, so a crashed run is cleaned up by the next one.
void sweep_stale_runs();
// The sweep itself, every time it is called (the harness self-test uses it directly).
void sweep_stale_runs_now();

// An `ip netns add` namespace, deleted (`ip netns del`) by the destructor. Processes started in
// it must be stopped first: a namespace lives on while a process is inside.
class NetNs {
 public:
  // `suffix` is appended to run_prefix(): NetNs("node") -> egd1234-node.
  explicit NetNs(std::string_view suffix);
  NetNs(NetNs&& o) noexcept : name_(std::exchange(o.name_, {})) {}
  NetNs& operator=(NetNs&&) = delete;
  NetNs(const NetNs&) = delete;
  NetNs& operator=(const NetNs&) = delete;
  ~NetNs();

  [[nodiscard]] const std::string& name() const noexcept { return name_; }
  [[nodiscard]] std::string path() const { return "/run/netns/" + name_; }

 private:
  std::string name_;
};

// Moves the calling thread into the namespace (network namespace membership is per thread).
void enter_netns(const std::string& name);

// Runs `fn` on a new thread inside namespace `name` and returns its result; exceptions propagate.
template <typename Fn>
std::invoke_result_t<Fn> in_netns(const std::string& name, Fn&& fn) {
  using R = std::invoke_result_t<Fn>;
  std::exception_ptr error;
  std::conditional_t<std::is_void_v<R>, bool, std::optional<R>> result{};
  std::thread worker([&] {
    try {
      enter_netns(name);
      if constexpr (std::is_void_v<R>) {
        fn();
      } else {
        result.emplace(fn());
      }
    } catch (...) {
      error = std::current_exception();
    }
  });
  worker.join();
  if (error) {
    std::rethrow_exception(error);
  }
  if constexpr (!std::is_void_v<R>) {
    return std::move(*result);
  }
}

// A socket created inside namespace `name`. A socket stays in the namespace it was created in,
// so the caller can use it from any thread.
[[nodiscard]] UniqueFd socket_in_netns(const std::string& name, int domain, int type);

// A free TCP port on `ip` inside the namespace (bind to port 0, read it back, close).
[[nodiscard]] uint16_t free_tcp_port(const std::string& netns, const std::string& ip);

// A temp dir /tmp/egd<pid>-<purpose>-XXXXXX removed with its content by the destructor.
class TempDir {
 public:
  explicit TempDir(std::string_view purpose);
  TempDir(TempDir&& o) noexcept : path_(std::exchange(o.path_, {})) {}
  TempDir& operator=(TempDir&&) = delete;
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir();
  [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace egressd::testing
