#include "cilium/layout.h"

#include <charconv>

#include <fmt/format.h>

namespace egressd::cilium {

namespace {

// Minor version -> layout, from the release branches' bpf/lib/common.h and conntrack_types.h
// (table in docs/cilium.md): merged counters since v1.16 (cilium/cilium#31087), ifindex gone in
// v1.18, nat_addr/nat_port since v1.19 (cilium/cilium#43017).
Layout layout_of_minor(int minor) noexcept {
  if (minor <= 15) return Layout::kA;
  if (minor <= 17) return Layout::kB;
  if (minor == 18) return Layout::kC;
  return Layout::kD;
}

std::optional<int> take_number(std::string_view& s) {
  int v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end == s.data()) return std::nullopt;
  s.remove_prefix(static_cast<size_t>(end - s.data()));
  return v;
}

}  // namespace

std::string_view layout_letter(Layout layout) noexcept {
  switch (layout) {
    case Layout::kA: return "A";
    case Layout::kB: return "B";
    case Layout::kC: return "C";
    case Layout::kD: return "D";
  }
  return "?";
}

std::string_view layout_description(Layout layout) noexcept {
  switch (layout) {
    case Layout::kA: return "A (Cilium 1.11-1.15, rx/tx per direction)";
    case Layout::kB: return "B (Cilium 1.16-1.17, merged packets/bytes)";
    case Layout::kC: return "C (Cilium 1.18, merged packets/bytes)";
    case Layout::kD: return "D (Cilium 1.19+, merged packets/bytes, nat_addr)";
  }
  return "?";
}

std::string_view origin_name(LayoutOrigin origin) noexcept {
  return origin == LayoutOrigin::kBtf ? "btf" : "setting";
}

Result<Layout> layout_for_version(std::string_view version) {
  std::string_view s = version;
  if (!s.empty() && (s[0] == 'v' || s[0] == 'V')) s.remove_prefix(1);
  const auto major = take_number(s);
  std::optional<int> minor;
  if (!s.empty() && s[0] == '.') {
    s.remove_prefix(1);
    minor = take_number(s);
  }
  if (!major || !minor) {
    return fail(Errc::kInvalidArgument,
                fmt::format("cannot read Cilium version \"{}\": expected MAJOR.MINOR like 1.16 "
                            "or v1.16.3",
                            version));
  }
  // Anything after MAJOR.MINOR (".3", "-rc.1", "+build") does not change the layout.
  if (!s.empty() && s[0] != '.' && s[0] != '-' && s[0] != '+') {
    return fail(Errc::kInvalidArgument,
                fmt::format("cannot read Cilium version \"{}\": expected MAJOR.MINOR like 1.16 "
                            "or v1.16.3",
                            version));
  }
  if (*major != 1 || *minor < kOldestMinor || *minor > kNewestMinor) {
    return fail(Errc::kUnsupported,
                fmt::format("Cilium {} is outside the versions whose conntrack layout this build "
                            "knows (1.{}-1.{}); a newer release may have changed it: check "
                            "struct ct_entry in its bpf/lib/conntrack_types.h and set "
                            "--cilium-layout (docs/cilium.md)",
                            version, kOldestMinor, kNewestMinor));
  }
  return layout_of_minor(*minor);
}

Result<LayoutChoice> choose_layout(std::optional<Layout> from_btf, const LayoutSetting& setting,
                                   std::string_view map) {
  std::optional<Layout> configured = setting.layout;
  if (!setting.version.empty()) {
    auto l = layout_for_version(setting.version);
    if (!l) return std::unexpected(std::move(l.error()).wrap("--cilium-version"));
    if (configured && *configured != *l) {
      return fail(Errc::kInvalidArgument,
                  fmt::format("--cilium-layout {} contradicts --cilium-version {} (layout {}); "
                              "set one of them",
                              layout_letter(*configured), setting.version, layout_letter(*l)));
    }
    configured = *l;
  }
  if (from_btf) {
    if (configured && *configured != *from_btf) {
      return fail(Errc::kInvalidArgument,
                  fmt::format("{}: the map's BTF describes layout {} but the settings say {}; "
                              "remove --cilium-layout/--cilium-version or fix them",
                              map, layout_description(*from_btf), layout_description(*configured)));
    }
    return LayoutChoice{*from_btf, LayoutOrigin::kBtf};
  }
  if (configured) return LayoutChoice{*configured, LayoutOrigin::kSetting};
  return fail(Errc::kInvalidArgument,
              fmt::format("{}: cannot tell which Cilium conntrack layout the map holds (it has no "
                          "BTF, and all Cilium versions use the same key and value sizes); set "
                          "--cilium-version to the cluster's Cilium version (e.g. 1.16) or "
                          "--cilium-layout A|B|C|D (docs/cilium.md)",
                          map));
}

}  // namespace egressd::cilium
