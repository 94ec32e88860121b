// Layout selection: Cilium versions -> layouts, the settings, BTF member names of every layout
// (built as each release declares struct ct_entry), and the one clear error when nothing says.
#include "cilium/layout.h"

#include <gtest/gtest.h>

#include "cilium/maps.h"
#include "unit/cilium/ct_fixtures.h"

namespace egressd::cilium {
namespace {

using testing::BtfLayout;
using testing::build_btf;

TEST(CiliumLayout, VersionTable) {
  // docs/cilium.md: A up to 1.15, B 1.16-1.17, C 1.18, D 1.19.
  const std::pair<const char*, Layout> cases[] = {
      {"1.11", Layout::kA},   {"1.12.19", Layout::kA},     {"v1.15.11", Layout::kA},
      {"1.16", Layout::kB},   {"1.16.0-rc.2", Layout::kB}, {"V1.17.3", Layout::kB},
      {"1.18.1", Layout::kC}, {"1.19", Layout::kD},        {"1.19.0+abc", Layout::kD},
  };
  for (const auto& [version, want] : cases) {
    auto l = layout_for_version(version);
    ASSERT_TRUE(l.has_value()) << version << ": " << l.error().message();
    EXPECT_EQ(*l, want) << version;
  }
}

TEST(CiliumLayout, UnknownVersionsAreRefused) {
  for (const char* v : {"1.10", "1.20", "1.21.0", "2.0", "0.15"}) {
    auto l = layout_for_version(v);
    ASSERT_FALSE(l.has_value()) << v;
    EXPECT_EQ(l.error().code(), Errc::kUnsupported) << v;
    EXPECT_NE(l.error().message().find("--cilium-layout"), std::string::npos) << v;
  }
  for (const char* v : {"", "1", "1.", "v", "latest", "1.x", "1.16x", "one.two"}) {
    auto l = layout_for_version(v);
    ASSERT_FALSE(l.has_value()) << v;
    EXPECT_EQ(l.error().code(), Errc::kInvalidArgument) << v;
  }
}

TEST(CiliumLayout, LayoutNames) {
  EXPECT_EQ(layout_letter(Layout::kA), "A");
  EXPECT_EQ(layout_letter(Layout::kD), "D");
  EXPECT_TRUE(per_direction(Layout::kA));
  EXPECT_FALSE(per_direction(Layout::kB));
  EXPECT_FALSE(per_direction(Layout::kC));
  EXPECT_FALSE(per_direction(Layout::kD));
}

TEST(CiliumLayout, ChoiceRefusesToGuess) {
  auto none = choose_layout(std::nullopt, {}, "/x/tc/globals/cilium_ct4_global");
  ASSERT_FALSE(none.has_value());
  const std::string msg = none.error().message();
  EXPECT_NE(msg.find("cilium_ct4_global"), std::string::npos) << msg;
  EXPECT_NE(msg.find("--cilium-version"), std::string::npos) << msg;
  EXPECT_NE(msg.find("--cilium-layout"), std::string::npos) << msg;
  EXPECT_NE(msg.find("no BTF"), std::string::npos) << msg;
}

TEST(CiliumLayout, ChoiceFromSettingsAndBtf) {
  auto v = choose_layout(std::nullopt, {std::nullopt, "1.16.2"}, "m");
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->layout, Layout::kB);
  EXPECT_EQ(v->origin, LayoutOrigin::kSetting);
  auto l = choose_layout(std::nullopt, {Layout::kC, ""}, "m");
  ASSERT_TRUE(l.has_value());
  EXPECT_EQ(l->layout, Layout::kC);
  auto both = choose_layout(std::nullopt, {Layout::kD, "1.19"}, "m");
  ASSERT_TRUE(both.has_value());
  EXPECT_EQ(both->layout, Layout::kD);
  // Settings that disagree with each other, or with the map's BTF, are one clear error.
  EXPECT_FALSE(choose_layout(std::nullopt, {Layout::kA, "1.16"}, "m").has_value());
  auto btf = choose_layout(Layout::kA, {}, "m");
  ASSERT_TRUE(btf.has_value());
  EXPECT_EQ(btf->origin, LayoutOrigin::kBtf);
  auto agree = choose_layout(Layout::kB, {std::nullopt, "1.17"}, "m");
  ASSERT_TRUE(agree.has_value());
  EXPECT_EQ(agree->origin, LayoutOrigin::kBtf);
  auto clash = choose_layout(Layout::kD, {std::nullopt, "1.15"}, "m");
  ASSERT_FALSE(clash.has_value());
  EXPECT_NE(clash.error().message().find("BTF"), std::string::npos);
  // A bad setting is reported even when BTF would decide.
  EXPECT_FALSE(choose_layout(Layout::kA, {std::nullopt, "1.30"}, "m").has_value());
}

TEST(CiliumBtf, EveryLayoutByMemberNames) {
  const std::pair<BtfLayout, Layout> cases[] = {
      {BtfLayout::kA, Layout::kA},
      {BtfLayout::kB, Layout::kB},
      {BtfLayout::kC, Layout::kC},
      {BtfLayout::kD, Layout::kD},
  };
  for (const auto& [built, want] : cases) {
    auto b = build_btf(built);
    ASSERT_NE(b.b, nullptr);
    auto l = layout_from_btf(b.b, b.value_id);
    ASSERT_TRUE(l.has_value()) << l.error().message();
    EXPECT_EQ(*l, want) << layout_letter(want);
    btf__free(b.b);
  }
}

TEST(CiliumBtf, UnknownStructIsRefusedWithItsMembers) {
  auto b = build_btf(BtfLayout::kUnknown40);
  auto l = layout_from_btf(b.b, b.value_id);
  ASSERT_FALSE(l.has_value());
  EXPECT_EQ(l.error().code(), Errc::kUnsupported);
  EXPECT_NE(l.error().message().find("future_field@40"), std::string::npos) << l.error().message();
  // A value type of another size (the stats struct) is no ct_entry.
  auto stats = build_btf(BtfLayout::kStats);
  EXPECT_FALSE(layout_from_btf(stats.b, stats.value_id).has_value());
  EXPECT_TRUE(check_stats_btf(stats.b, stats.value_id).has_value());
  auto a = build_btf(BtfLayout::kA);
  EXPECT_FALSE(check_stats_btf(a.b, a.value_id).has_value());
  btf__free(b.b);
  btf__free(stats.b);
  btf__free(a.b);
}

}  // namespace
}  // namespace egressd::cilium
