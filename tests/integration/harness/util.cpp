#include "harness/util.h"

#include <array>
#include <cerrno>
#include <cstring>

namespace egressd::testing {

std::string errno_text(int err) {
  std::array<char, 256> buf{};
  // GNU strerror_r: returns the message, in `buf` or a static string.
  return ::strerror_r(err, buf.data(), buf.size());
}

void throw_errno(const std::string& what) {
  const int err = errno;
  throw HarnessError(what + ": " + errno_text(err));
}

std::string tail_lines(const std::string& text, size_t max_lines) {
  size_t pos = text.size();
  size_t lines = 0;
  while (pos > 0) {
    const size_t nl = text.rfind('\n', pos - 1);
    if (nl == std::string::npos) {
      return text;
    }
    // A trailing newline does not start a line of its own.
    if (nl + 1 < text.size() && ++lines > max_lines) {
      return text.substr(nl + 1);
    }
    pos = nl;
  }
  return text;
}

}  // namespace egressd::testing
