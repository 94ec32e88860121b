// Finding, opening and validating Cilium's pinned conntrack maps.
//
// Maps are identified by pin path, never by kernel name (kernel names are cut at 15 characters:
// "cilium_ct4_glob"). They live in `<bpffs>/tc/globals/`; the bpffs root is /sys/fs/bpf, else
// /run/cilium/bpffs (Cilium's fallback when the host has no bpffs), or --bpf-root. Pins are opened
// read-only (BPF_F_RDONLY): egressd never writes Cilium's maps.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cilium/ct_entry.h"
#include "cilium/layout.h"
#include "cilium/map_role.h"
#include "egressd/common/error.h"
#include "egressd/common/unique_fd.h"

struct btf;

namespace egressd::cilium {

[[nodiscard]] constexpr bool is_stats(MapRole role) noexcept {
  return role == MapRole::kStats4 || role == MapRole::kStats6;
}
[[nodiscard]] constexpr Family family_of(MapRole role) noexcept {
  return role == MapRole::kTcp4 || role == MapRole::kAny4 || role == MapRole::kStats4
             ? Family::kIpv4
             : Family::kIpv6;
}

// /sys/fs/bpf, then /run/cilium/bpffs.
[[nodiscard]] std::vector<std::string> default_bpf_roots();
// `<root>/tc/globals/<pin_name(role)>`.
[[nodiscard]] std::string pin_path(const std::string& root, MapRole role);
// The first root holding at least one of the four CT map pins; nullopt if none does.
[[nodiscard]] std::optional<std::string> find_root(const std::vector<std::string>& roots);

// What BPF_OBJ_GET_INFO_BY_FD says about a map.
struct MapInfo {
  uint32_t id = 0;
  uint32_t type = 0;
  uint32_t key_size = 0;
  uint32_t value_size = 0;
  uint32_t max_entries = 0;
  uint32_t map_flags = 0;
  uint32_t btf_id = 0;
  uint32_t btf_value_type_id = 0;
};

struct OpenMap {
  MapRole role = MapRole::kTcp4;
  std::string path;
  UniqueFd fd;
  MapInfo info;
};

[[nodiscard]] Result<MapInfo> map_info(int fd, const std::string& path);

// Opens the pin of `role` under `root` read-only. nullopt if the pin does not exist; an error if
// it exists but cannot be opened.
[[nodiscard]] Result<std::optional<OpenMap>> open_map(const std::string& root, MapRole role);

// Type, key size, value size and flags of a Cilium CT map (LRU_HASH or HASH, 14/38-byte key,
// 56-byte value) or stats map (LRU_PERCPU_HASH or PERCPU_HASH, 32-byte value). Anything else is
// refused with an error naming the map, the field and both values.
[[nodiscard]] Status validate(const OpenMap& map);

// The layout named by the map's BTF; nullopt if the map has none (btf_id == 0).
[[nodiscard]] Result<std::optional<Layout>> btf_layout(const OpenMap& map);
// The same on a BTF object already loaded (unit tests build one in memory).
[[nodiscard]] Result<Layout> layout_from_btf(const struct btf* btf, uint32_t value_type_id);
// Checks a stats map's BTF names rx_packets, rx_bytes, tx_packets, tx_bytes at 0, 8, 16, 24.
[[nodiscard]] Status check_stats_btf(const struct btf* btf, uint32_t value_type_id);

}  // namespace egressd::cilium
