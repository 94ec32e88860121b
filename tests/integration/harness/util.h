// Small building blocks of the integration harness: the harness's error type and deadline-based
// polling.
//
// The harness throws HarnessError when the environment cannot be built (a command fails, a
// namespace cannot be entered): GoogleTest reports the exception as a test failure and the RAII
// owners (namespaces, processes, temp dirs) still clean up while the stack unwinds.
#pragma once

#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>

#include "common/wait.h"
#include "egressd/common/unique_fd.h"

namespace egressd::testing {

class HarnessError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// strerror() without its shared buffer (strerror_r).
[[nodiscard]] std::string errno_text(int err);

// Throws HarnessError("<what>: <strerror(errno)>").
[[noreturn]] void throw_errno(const std::string& what);

using egressd::UniqueFd;  // the project's one (include/egressd/common/unique_fd.h)

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// Calls `done()` every `step` until it returns true or `timeout` passes; returns the last result.
// The tests wait for conditions, never for fixed times, so they run as fast as the system allows.
template <typename Pred>
bool poll_until(Pred&& done, std::chrono::milliseconds timeout,
                std::chrono::milliseconds step = 50ms) {
  return eventually(std::forward<Pred>(done), timeout, step);
}

// Last `max_lines` lines of `text`, for failure messages that quote a log.
[[nodiscard]] std::string tail_lines(const std::string& text, size_t max_lines);

}  // namespace egressd::testing
