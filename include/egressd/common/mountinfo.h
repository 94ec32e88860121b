// The mount table of this process, from /proc/self/mountinfo (proc(5)): which file systems are
// mounted where. Used to find the cgroup v2 hierarchy (the DNS tracer's hook) and to tell
// whether a directory is a bpffs.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "egressd/common/error.h"

namespace egressd {

struct MountEntry {
  std::string root;         // field 4: the directory of the file system mounted here ("/")
  std::string mount_point;  // field 5, octal escapes (\040 ...) decoded
  std::string fstype;       // the first field after " - "
};

// Every well-formed line of mountinfo text; a malformed line is skipped (the kernel writes this
// file, but a reader never trusts it to be what it expects).
[[nodiscard]] std::vector<MountEntry> parse_mountinfo(std::string_view text);

// Reads and parses `path` (a regular kernel file, at most a few hundred KiB).
[[nodiscard]] Result<std::vector<MountEntry>> read_mountinfo(
    const std::string& path = "/proc/self/mountinfo");

// The mount point of the cgroup v2 hierarchy's root: /sys/fs/cgroup on unified systems,
// /sys/fs/cgroup/unified on hybrid ones (the shortest if mounted more than once).
[[nodiscard]] Result<std::string> find_cgroup2_root(const std::vector<MountEntry>& mounts);

}  // namespace egressd
