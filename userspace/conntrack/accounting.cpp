// nf_conntrack_acct: per network namespace, read and written through procfs, which resolves
// /proc/sys/net/ against the network namespace of the opening thread.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "conntrack/netfilter_source.h"

namespace egressd::conntrack {

namespace {
std::string acct_path(std::string_view dir) {
  return fmt::format("{}/nf_conntrack_acct", dir);
}
}  // namespace

Result<bool> accounting_enabled(std::string_view sysctl_dir) {
  const std::string path = acct_path(sysctl_dir);
  const char* kAcctPath = path.c_str();
  const int fd = ::open(kAcctPath, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return fail_errno(fmt::format("reading {} (is nf_conntrack loaded?)", kAcctPath));
  }
  char buf[16];
  const ssize_t n = ::read(fd, buf, sizeof(buf));
  const int read_errno = errno;
  ::close(fd);
  if (n < 0) return fail_errno(fmt::format("reading {}", kAcctPath), read_errno);
  std::string_view text(buf, static_cast<size_t>(n));
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  if (text == "0") return false;
  if (text == "1") return true;
  return fail(Errc::kParse, fmt::format("{}: unexpected content '{}'", kAcctPath, text));
}

Status enable_accounting(std::string_view sysctl_dir) {
  const std::string path = acct_path(sysctl_dir);
  const char* kAcctPath = path.c_str();
  const int fd = ::open(kAcctPath, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return fail_errno(fmt::format("opening {} for writing", kAcctPath));
  const ssize_t n = ::write(fd, "1\n", 2);
  const int write_errno = errno;
  ::close(fd);
  if (n != 2)
    return fail_errno(fmt::format("writing 1 to {}", kAcctPath), n < 0 ? write_errno : EIO);
  return {};
}

}  // namespace egressd::conntrack
