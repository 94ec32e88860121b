// Error and Result: the one error type of egressd's userspace.
//
// Every fallible operation returns Result<T> = std::expected<T, Error>. An Error carries a typed
// code, the errno of the failing system call (0 if none), a human-readable context that names the
// object (map, file, setting) and where it was raised. Exceptions are reserved for start-up.
#pragma once

#include <cerrno>
#include <expected>
#include <source_location>
#include <string>
#include <utility>

namespace egressd {

enum class Errc {
  kInvalidArgument,  // bad configuration or input from the user
  kNotFound,         // a file, map or object that should exist does not
  kParse,            // malformed bytes or text from outside the process
  kIo,               // a system call failed for an environmental reason
  kPermission,       // EPERM/EACCES: missing capability
  kUnsupported,      // the kernel or environment lacks a feature
  kResource,         // a bounded resource (queue, table, buffer) is full
  kInternal,         // a bug: an invariant did not hold
};

[[nodiscard]] const char* errc_name(Errc code) noexcept;

class [[nodiscard]] Error {
 public:
  Error(Errc code, std::string context, int sys_errno = 0,
        std::source_location where = std::source_location::current())
      : code_(code), sys_errno_(sys_errno), context_(std::move(context)), where_(where) {}

  [[nodiscard]] Errc code() const noexcept { return code_; }
  [[nodiscard]] int sys_errno() const noexcept { return sys_errno_; }
  [[nodiscard]] const std::string& context() const noexcept { return context_; }
  [[nodiscard]] const std::source_location& where() const noexcept { return where_; }
  // "context: strerror(errno)" — what a user should read in one line.
  [[nodiscard]] std::string message() const;

  // Prefixes the context with an outer layer ("loading config: " + inner).
  [[nodiscard]] Error wrap(const std::string& outer) && {
    context_ = outer + ": " + context_;
    return std::move(*this);
  }

 private:
  Errc code_;
  int sys_errno_;
  std::string context_;
  std::source_location where_;
};

template <typename T>
using Result = std::expected<T, Error>;
using Status = Result<void>;

// Builds the unexpected value for a Result: `return fail(Errc::kParse, "bad header");`.
[[nodiscard]] inline std::unexpected<Error> fail(
    Errc code, std::string context, int sys_errno = 0,
    std::source_location where = std::source_location::current()) {
  return std::unexpected<Error>(std::in_place, code, std::move(context), sys_errno, where);
}

// Maps an errno to the matching code and builds the unexpected value.
[[nodiscard]] std::unexpected<Error> fail_errno(
    std::string context, int sys_errno = errno,
    std::source_location where = std::source_location::current());

}  // namespace egressd
