// Names of the scratch objects a test process leaves on the host (/tmp directories, /run/netns
// entries) carry the pid of the process that made them: "egd<pid>-...". A later run removes only
// the objects whose owner is dead, never those of a run still going (two build directories'
// tests may run at once, e.g. the stress and sanitizer jobs).
#pragma once

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <string>
#include <string_view>

namespace egressd::testing {

inline constexpr std::string_view kRunPrefixRoot = "egd";

// "egd<pid>-" for this process.
inline std::string own_run_prefix() {
  return std::string(kRunPrefixRoot) + std::to_string(::getpid()) + "-";
}

// The pid in "egd<pid>-...", or 0 when the name does not follow the pattern.
inline pid_t run_owner_pid(std::string_view name) {
  if (!name.starts_with(kRunPrefixRoot)) {
    return 0;
  }
  name.remove_prefix(kRunPrefixRoot.size());
  pid_t pid = 0;
  const auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), pid);
  if (ec != std::errc() || end == name.data() || end == name.data() + name.size() || *end != '-') {
    return 0;
  }
  return pid;
}

// True for a name made by a process that no longer exists.
inline bool is_stale_run_name(std::string_view name) {
  const pid_t pid = run_owner_pid(name);
  if (pid <= 0 || pid == ::getpid()) {
    return false;
  }
  return !(::kill(pid, 0) == 0 || errno == EPERM);
}

}  // namespace egressd::testing
