#include "egressd/common/mountinfo.h"

#include "egressd/common/file_input.h"

namespace egressd {

namespace {

// The next space-separated field of `line` from `pos`; empty at the end.
std::string_view next_field(std::string_view line, size_t& pos) {
  while (pos < line.size() && line[pos] == ' ') ++pos;
  const size_t start = pos;
  while (pos < line.size() && line[pos] != ' ') ++pos;
  return line.substr(start, pos - start);
}

// mountinfo escapes space, tab, newline and backslash as \ooo (fs/proc_namespace.c, mangle()).
std::string unescape(std::string_view s) {
  const auto oct = [](char c) { return c >= '0' && c <= '7'; };
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && oct(s[i + 1]) && oct(s[i + 2]) && oct(s[i + 3])) {
      out.push_back(
          static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0')));
      i += 3;
      continue;
    }
    out.push_back(s[i]);
  }
  return out;
}

}  // namespace

std::vector<MountEntry> parse_mountinfo(std::string_view text) {
  std::vector<MountEntry> out;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    const std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    // "36 35 0:30 / /sys/fs/cgroup/unified rw,relatime shared:9 - cgroup2 cgroup2 rw"
    const size_t dash = line.find(" - ");
    if (dash == std::string_view::npos) continue;
    size_t pos = 0;
    const std::string_view head = line.substr(0, dash);
    std::string_view fields[5];
    bool ok = true;
    for (auto& f : fields) {
      f = next_field(head, pos);
      ok = ok && !f.empty();
    }
    size_t tail_pos = 0;
    const std::string_view fstype = next_field(line.substr(dash + 3), tail_pos);
    if (!ok || fstype.empty()) continue;
    out.push_back({unescape(fields[3]), unescape(fields[4]), std::string(fstype)});
  }
  return out;
}

Result<std::vector<MountEntry>> read_mountinfo(const std::string& path) {
  // A node with thousands of pods has thousands of mounts: ~150 bytes each.
  auto text = read_regular_file(path, uint64_t{16} << 20, path);
  if (!text) return std::unexpected(std::move(text.error()));
  return parse_mountinfo(*text);
}

Result<std::string> find_cgroup2_root(const std::vector<MountEntry>& mounts) {
  const MountEntry* best = nullptr;
  for (const auto& m : mounts) {
    if (m.fstype != "cgroup2" || m.root != "/") continue;
    if (best == nullptr || m.mount_point.size() < best->mount_point.size()) best = &m;
  }
  if (best == nullptr) {
    return fail(Errc::kUnsupported, "no cgroup v2 hierarchy is mounted (/proc/self/mountinfo)");
  }
  return best->mount_point;
}

}  // namespace egressd
