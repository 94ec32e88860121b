#include "egressd/common/file_input.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include <fmt/format.h>
#include <sys/stat.h>

namespace egressd {

namespace {

std::string_view file_type(mode_t mode) {
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

// "inventory /x: not a regular file (a FIFO)", or the bare reason when the caller names the
// input itself (an empty `what`).
std::string reason(std::string_view what, std::string_view why) {
  return what.empty() ? std::string(why) : fmt::format("{}: {}", what, why);
}

}  // namespace

std::string describe_size(uint64_t bytes) {
  if (bytes % (uint64_t{1} << 20) == 0) return fmt::format("{} MiB", bytes >> 20);
  if (bytes % (uint64_t{1} << 10) == 0) return fmt::format("{} KiB", bytes >> 10);
  return fmt::format("{} bytes", bytes);
}

Result<RegularFile> open_regular_file(const std::string& path, uint64_t max_bytes,
                                      std::string_view what) {
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer, forever.
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY));
  if (!fd) return fail_errno(reason(what, "cannot open file"));
  struct stat st{};
  if (::fstat(fd.get(), &st) != 0) return fail_errno(reason(what, "cannot stat file"));
  if (!S_ISREG(st.st_mode)) {
    return fail(Errc::kInvalidArgument,
                reason(what, fmt::format("not a regular file ({})", file_type(st.st_mode))));
  }
  const auto size = static_cast<uint64_t>(st.st_size);
  if (size > max_bytes) {
    return fail(Errc::kInvalidArgument, reason(what, fmt::format("larger than {} ({} bytes)",
                                                                 describe_size(max_bytes), size)));
  }
  // Regular files ignore O_NONBLOCK, but a reader should not depend on that.
  if (const int flags = ::fcntl(fd.get(), F_GETFL); flags >= 0) {
    (void)::fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK);
  }
  return RegularFile{std::move(fd), size};
}

Result<std::string> read_regular_file(const std::string& path, uint64_t max_bytes,
                                      std::string_view what) {
  auto file = open_regular_file(path, max_bytes, what);
  if (!file) return std::unexpected(std::move(file.error()));
  std::string text;
  text.reserve(static_cast<size_t>(file->size));
  char buf[65536];
  while (true) {
    const ssize_t n = ::read(file->fd.get(), buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail_errno(reason(what, "cannot read file"));
    if (n == 0) break;
    if (text.size() + static_cast<size_t>(n) > max_bytes) {
      return fail(Errc::kInvalidArgument,
                  reason(what, fmt::format("larger than {} (it grew while read)",
                                           describe_size(max_bytes))));
    }
    text.append(buf, static_cast<size_t>(n));
  }
  return text;
}

}  // namespace egressd
