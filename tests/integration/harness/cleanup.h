// Last-resort cleanup when the test process dies from a signal (Ctrl-C, SIGTERM from a runner,
// abort, crash): kill the children it started and unmount the namespaces it created, so a crashed
// run does not leave an agent or a Prometheus running. What cannot be done from a signal handler
// (removing temp dirs, deleting a namespace that still holds a process) is done by the startup
// sweep of the next run (netns.h: sweep_stale_runs). SIGKILL cannot be caught: the sweep and
// PR_SET_PDEATHSIG on every child cover it.
#pragma once

#include <string_view>

#include <sys/types.h>

namespace egressd::testing::cleanup {

// Installs the handlers once per process (idempotent) and ignores SIGPIPE, so a child or peer that
// closes early turns into an EPIPE error instead of killing the test.
void install();

void register_pid(pid_t pid) noexcept;
void unregister_pid(pid_t pid) noexcept;
// `path` is the namespace's bind mount, /run/netns/NAME.
void register_netns(std::string_view path) noexcept;
void unregister_netns(std::string_view path) noexcept;

}  // namespace egressd::testing::cleanup
