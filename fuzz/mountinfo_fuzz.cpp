// Fuzzes the mount table parser (userspace/common/mountinfo.cpp): arbitrary bytes as the text of
// /proc/self/mountinfo. Besides crashes and sanitizer reports it traps on: more entries than
// lines, a field longer than the input, an empty file system type, or a cgroup2 root that is not
// one of the parsed mount points.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "egressd/common/mountinfo.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // A copy of exactly the input's size, so AddressSanitizer flags any read past the end.
  const std::string text(reinterpret_cast<const char*>(data), size);
  const auto mounts = egressd::parse_mountinfo(std::string_view(text));
  size_t lines = 1;
  for (const char c : text) lines += c == '\n' ? 1 : 0;
  if (mounts.size() > lines) __builtin_trap();
  for (const auto& m : mounts) {
    if (m.fstype.empty()) __builtin_trap();
    if (m.root.size() > size || m.mount_point.size() > size || m.fstype.size() > size) {
      __builtin_trap();
    }
  }
  if (auto root = egressd::find_cgroup2_root(mounts); root) {
    bool listed = false;
    for (const auto& m : mounts) listed |= m.mount_point == *root && m.fstype == "cgroup2";
    if (!listed) __builtin_trap();
  }
  return 0;
}
