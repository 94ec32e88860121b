// Which of Cilium's four ct_entry value layouts a map holds (include/egressd/abi/cilium_ct.h),
// and how it is chosen: from the map's BTF when it has one, else from a setting
// (--cilium-layout or --cilium-version). All layouts have the same key and value sizes, so
// nothing in the bytes says which one is there: without BTF or a setting the reader refuses to
// start rather than guess (docs/cilium.md).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "egressd/common/error.h"

namespace egressd::cilium {

enum class Layout : uint8_t {
  kA,  // v1.11-v1.15: rx/tx per direction
  kB,  // v1.16-v1.17: merged packets/bytes, ifindex at 40
  kC,  // v1.18: merged, offset 40 reserved
  kD,  // v1.19+: merged, nat_addr union at 0, nat_port at 40
};

// "A".."D".
[[nodiscard]] std::string_view layout_letter(Layout layout) noexcept;
// "A (Cilium 1.11-1.15)" for logs and errors.
[[nodiscard]] std::string_view layout_description(Layout layout) noexcept;
// Layout A keeps rx and tx apart; B-D sum both directions into one pair.
[[nodiscard]] constexpr bool per_direction(Layout layout) noexcept {
  return layout == Layout::kA;
}

// The Cilium minor versions this build knows the layout of.
inline constexpr int kOldestMinor = 11;
inline constexpr int kNewestMinor = 19;

// "1.15", "v1.16.3", "1.18.0-rc.1" -> the layout of that release. Versions outside
// 1.11..1.19 are refused: a newer release may have changed the layout again.
[[nodiscard]] Result<Layout> layout_for_version(std::string_view version);

// What the user configured. Both may be set if they agree.
struct LayoutSetting {
  std::optional<Layout> layout;  // --cilium-layout
  std::string version;           // --cilium-version, empty if unset
};

// How the layout of a map was decided, for logs and the layout-info metric.
enum class LayoutOrigin : uint8_t { kBtf, kSetting };
[[nodiscard]] std::string_view origin_name(LayoutOrigin origin) noexcept;

struct LayoutChoice {
  Layout layout = Layout::kA;
  LayoutOrigin origin = LayoutOrigin::kSetting;
};

// The layout of one map: its BTF wins when present (a setting that disagrees is an error: one of
// the two is wrong and counters would be misread); else the setting; else one clear error.
// `map` names the map in messages.
[[nodiscard]] Result<LayoutChoice> choose_layout(std::optional<Layout> from_btf,
                                                 const LayoutSetting& setting,
                                                 std::string_view map);

}  // namespace egressd::cilium
