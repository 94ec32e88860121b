// The Cilium maps the source knows, and their pinned names (also the `map` label of its metrics).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace egressd::cilium {

// The six maps, in reading order.
enum class MapRole : uint8_t { kTcp4, kAny4, kTcp6, kAny6, kStats4, kStats6 };
inline constexpr size_t kMapRoles = 6;
inline constexpr std::array<MapRole, kMapRoles> kAllRoles{MapRole::kTcp4,   MapRole::kAny4,
                                                          MapRole::kTcp6,   MapRole::kAny6,
                                                          MapRole::kStats4, MapRole::kStats6};

// The pin's file name under `<bpffs>/tc/globals/`: "cilium_ct4_global", ...
[[nodiscard]] constexpr std::string_view pin_name(MapRole role) noexcept {
  switch (role) {
    case MapRole::kTcp4: return "cilium_ct4_global";
    case MapRole::kAny4: return "cilium_ct_any4_global";
    case MapRole::kTcp6: return "cilium_ct6_global";
    case MapRole::kAny6: return "cilium_ct_any6_global";
    case MapRole::kStats4: return "cilium_ct_stats4";
    case MapRole::kStats6: return "cilium_ct_stats6";
  }
  return "?";
}

}  // namespace egressd::cilium
