#include "cilium/maps.h"

#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <linux/bpf.h>

#include <memory>

#include <fmt/format.h>
#include <sys/stat.h>

namespace egressd::cilium {

namespace {

// Creation flags a Cilium map may carry: NO_PREALLOC (HASH on old kernels), NO_COMMON_LRU
// (--bpf-distributed-lru), NUMA_NODE, ZERO_SEED, and access modes. Other flags change what the
// map is; refuse them.
constexpr uint32_t kAllowedFlags = BPF_F_NO_PREALLOC | BPF_F_NO_COMMON_LRU | BPF_F_NUMA_NODE |
                                   BPF_F_ZERO_SEED | BPF_F_RDONLY | BPF_F_WRONLY |
                                   BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG;

struct Member {
  std::string name;
  uint32_t offset = 0;  // bytes from the start of the value
};

// Named members of a struct or union, anonymous ones flattened with their offsets.
void collect_members(const btf* b, uint32_t type_id, uint32_t base_bits, int depth,
                     std::vector<Member>& out) {
  if (depth > 4) return;
  const int resolved = btf__resolve_type(b, type_id);
  if (resolved < 0) return;
  const btf_type* t = btf__type_by_id(b, static_cast<uint32_t>(resolved));
  if (t == nullptr || !btf_is_composite(t)) return;
  const btf_member* m = btf_members(t);
  for (uint32_t i = 0; i < btf_vlen(t); ++i, ++m) {
    const uint32_t bits = base_bits + btf_member_bit_offset(t, i);
    const char* name = btf__name_by_offset(b, m->name_off);
    if (name == nullptr || *name == '\0') {
      collect_members(b, m->type, bits, depth + 1, out);
    } else {
      out.push_back(Member{name, bits / 8});
    }
  }
}

std::string describe(const std::vector<Member>& members) {
  std::string out;
  for (const Member& m : members) {
    if (!out.empty()) out += ", ";
    out += fmt::format("{}@{}", m.name, m.offset);
  }
  return out;
}

struct BtfDeleter {
  void operator()(btf* b) const noexcept { btf__free(b); }
};

Result<std::vector<Member>> value_members(const btf* b, uint32_t value_type_id, size_t size) {
  const int64_t resolved_size = btf__resolve_size(b, value_type_id);
  if (resolved_size != static_cast<int64_t>(size)) {
    return fail(Errc::kUnsupported,
                fmt::format("the BTF value type has {} bytes, expected {}", resolved_size, size));
  }
  std::vector<Member> members;
  collect_members(b, value_type_id, 0, 0, members);
  return members;
}

}  // namespace

std::vector<std::string> default_bpf_roots() {
  return {"/sys/fs/bpf", "/run/cilium/bpffs"};
}

std::string pin_path(const std::string& root, MapRole role) {
  return fmt::format("{}/tc/globals/{}", root, pin_name(role));
}

std::optional<std::string> find_root(const std::vector<std::string>& roots) {
  for (const std::string& root : roots) {
    for (const MapRole role : kAllRoles) {
      if (is_stats(role)) continue;
      struct stat st{};
      if (::stat(pin_path(root, role).c_str(), &st) == 0) return root;
    }
  }
  return std::nullopt;
}

Result<MapInfo> map_info(int fd, const std::string& path) {
  bpf_map_info info{};
  __u32 len = sizeof(info);
  if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0) {
    return fail_errno(fmt::format("{}: BPF_OBJ_GET_INFO_BY_FD", path));
  }
  return MapInfo{info.id,          info.type,      info.key_size, info.value_size,
                 info.max_entries, info.map_flags, info.btf_id,   info.btf_value_type_id};
}

Result<std::optional<OpenMap>> open_map(const std::string& root, MapRole role) {
  OpenMap map;
  map.role = role;
  map.path = pin_path(root, role);
  struct stat st{};
  if (::stat(map.path.c_str(), &st) != 0) {
    if (errno == ENOENT) return std::optional<OpenMap>{};
    return fail_errno(fmt::format("{}: stat", map.path));
  }
  struct bpf_obj_get_opts opts{};  // LIBBPF_OPTS without its C-only compound literal
  opts.sz = sizeof(opts);
  opts.file_flags = BPF_F_RDONLY;
  const int fd = bpf_obj_get_opts(map.path.c_str(), &opts);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT) return std::optional<OpenMap>{};  // unpinned since the stat
    return fail_errno(fmt::format("{}: BPF_OBJ_GET (read-only){}", map.path,
                                  err == EPERM || err == EACCES
                                      ? " needs CAP_BPF (or CAP_SYS_ADMIN) and read access"
                                      : ""),
                      err);
  }
  map.fd = UniqueFd(fd);
  auto info = map_info(fd, map.path);
  if (!info) return std::unexpected(std::move(info.error()));
  map.info = *info;
  return std::optional<OpenMap>(std::move(map));
}

Status validate(const OpenMap& map) {
  const MapInfo& i = map.info;
  const bool stats = is_stats(map.role);
  const auto refuse = [&](const std::string& what) -> Status {
    return fail(Errc::kUnsupported,
                fmt::format("{}: {}; not a Cilium conntrack {} map this build can read (it knows "
                            "Cilium 1.{}-1.{}, include/egressd/abi/cilium_ct.h)",
                            map.path, what, stats ? "stats" : "", kOldestMinor, kNewestMinor));
  };
  const bool type_ok =
      stats ? (i.type == BPF_MAP_TYPE_LRU_PERCPU_HASH || i.type == BPF_MAP_TYPE_PERCPU_HASH)
            : (i.type == BPF_MAP_TYPE_LRU_HASH || i.type == BPF_MAP_TYPE_HASH);
  if (!type_ok) {
    return refuse(fmt::format(
        "map type {}, expected {}", i.type,
        stats ? "LRU_PERCPU_HASH (10) or PERCPU_HASH (5)" : "LRU_HASH (9) or HASH (1)"));
  }
  const size_t want_key = key_size(family_of(map.role));
  if (i.key_size != want_key) {
    return refuse(fmt::format("key size {}, expected {}", i.key_size, want_key));
  }
  const size_t want_value = stats ? kStatsValueSize : kValueSize;
  if (i.value_size != want_value) {
    return refuse(fmt::format("value size {}, expected {}", i.value_size, want_value));
  }
  if ((i.map_flags & ~kAllowedFlags) != 0) {
    return refuse(fmt::format("map flags {:#x} include unknown flags {:#x}", i.map_flags,
                              i.map_flags & ~kAllowedFlags));
  }
  if (i.max_entries == 0) return refuse("max_entries is 0");
  return {};
}

Result<Layout> layout_from_btf(const struct btf* b, uint32_t value_type_id) {
  auto members = value_members(b, value_type_id, kValueSize);
  if (!members) return std::unexpected(std::move(members.error()));
  const auto at = [&](std::string_view name, uint32_t offset) {
    for (const Member& m : *members) {
      if (m.name == name && m.offset == offset) return true;
    }
    return false;
  };
  const auto unknown = [&](std::string_view why) -> Result<Layout> {
    return fail(Errc::kUnsupported,
                fmt::format("the map's BTF describes a ct_entry this build does not know ({}; "
                            "members: {})",
                            why, describe(*members)));
  };
  if (!at("lifetime", EGRESSD_CILIUM_CT_OFF_LIFETIME)) return unknown("no lifetime at 32");
  // Member names per release: docs/cilium.md "Telling the layouts apart".
  if (at("rx_packets", 0) && at("tx_packets", 16) && at("tx_bytes", 24)) return Layout::kA;
  if (!at("packets", 16) || !at("bytes", 24)) return unknown("no counters at 16/24");
  if (at("nat_addr", 0) || at("nat_port", EGRESSD_CILIUM_CT_OFF_40)) return Layout::kD;
  if (at("ifindex", EGRESSD_CILIUM_CT_OFF_40)) return Layout::kB;
  if (at("reserved4", EGRESSD_CILIUM_CT_OFF_40)) return Layout::kC;
  return unknown("unknown member at offset 40");
}

Status check_stats_btf(const struct btf* b, uint32_t value_type_id) {
  auto members = value_members(b, value_type_id, kStatsValueSize);
  if (!members) return std::unexpected(std::move(members.error()));
  static constexpr std::array<std::pair<std::string_view, uint32_t>, 4> kWant{
      {{"rx_packets", 0}, {"rx_bytes", 8}, {"tx_packets", 16}, {"tx_bytes", 24}}};
  for (const auto& [name, offset] : kWant) {
    bool found = false;
    for (const Member& m : *members) found = found || (m.name == name && m.offset == offset);
    if (!found) {
      return fail(Errc::kUnsupported,
                  fmt::format("the stats map's BTF has no {} at {} (members: {})", name, offset,
                              describe(*members)));
    }
  }
  return {};
}

Result<std::optional<Layout>> btf_layout(const OpenMap& map) {
  if (map.info.btf_id == 0 || map.info.btf_value_type_id == 0) return std::optional<Layout>{};
  std::unique_ptr<btf, BtfDeleter> b(btf__load_from_kernel_by_id(map.info.btf_id));
  if (!b) return fail_errno(fmt::format("{}: loading BTF object {}", map.path, map.info.btf_id));
  if (is_stats(map.role)) {
    if (auto st = check_stats_btf(b.get(), map.info.btf_value_type_id); !st) {
      return std::unexpected(std::move(st.error()).wrap(map.path));
    }
    return std::optional<Layout>{};
  }
  auto layout = layout_from_btf(b.get(), map.info.btf_value_type_id);
  if (!layout) return std::unexpected(std::move(layout.error()).wrap(map.path));
  return std::optional<Layout>(*layout);
}

}  // namespace egressd::cilium
