// validate(): what makes a pinned map one this build can read (type, key/value sizes, flags),
// on map descriptions as BPF_OBJ_GET_INFO_BY_FD reports them. Real maps: tests/bpf.
#include "cilium/maps.h"

#include <linux/bpf.h>

#include <gtest/gtest.h>

namespace egressd::cilium {
namespace {

OpenMap map(MapRole role, uint32_t type, uint32_t key, uint32_t value, uint32_t flags = 0,
            uint32_t max_entries = 524288) {
  OpenMap m;
  m.role = role;
  m.path = pin_path("/sys/fs/bpf", role);
  m.info.type = type;
  m.info.key_size = key;
  m.info.value_size = value;
  m.info.map_flags = flags;
  m.info.max_entries = max_entries;
  return m;
}

TEST(CiliumMaps, PinPathsAndRoles) {
  EXPECT_EQ(pin_path("/run/cilium/bpffs", MapRole::kAny6),
            "/run/cilium/bpffs/tc/globals/cilium_ct_any6_global");
  EXPECT_EQ(pin_name(MapRole::kTcp4), "cilium_ct4_global");
  EXPECT_EQ(pin_name(MapRole::kStats6), "cilium_ct_stats6");
  EXPECT_EQ(family_of(MapRole::kAny4), Family::kIpv4);
  EXPECT_EQ(family_of(MapRole::kStats6), Family::kIpv6);
  EXPECT_TRUE(is_stats(MapRole::kStats4));
  EXPECT_FALSE(is_stats(MapRole::kTcp6));
  EXPECT_EQ(default_bpf_roots(), (std::vector<std::string>{"/sys/fs/bpf", "/run/cilium/bpffs"}));
}

TEST(CiliumMaps, AcceptsWhatCiliumCreates) {
  EXPECT_TRUE(validate(map(MapRole::kTcp4, BPF_MAP_TYPE_LRU_HASH, 14, 56)).has_value());
  EXPECT_TRUE(validate(map(MapRole::kAny6, BPF_MAP_TYPE_LRU_HASH, 38, 56, BPF_F_NO_COMMON_LRU))
                  .has_value());
  EXPECT_TRUE(
      validate(map(MapRole::kTcp6, BPF_MAP_TYPE_HASH, 38, 56, BPF_F_NO_PREALLOC)).has_value());
  EXPECT_TRUE(
      validate(map(MapRole::kStats4, BPF_MAP_TYPE_LRU_PERCPU_HASH, 14, 32, BPF_F_NO_COMMON_LRU))
          .has_value());
}

TEST(CiliumMaps, RefusesOthersNamingFieldAndValues) {
  const std::pair<OpenMap, const char*> cases[] = {
      {map(MapRole::kTcp4, BPF_MAP_TYPE_ARRAY, 14, 56), "map type 2"},
      {map(MapRole::kTcp4, BPF_MAP_TYPE_LRU_PERCPU_HASH, 14, 56), "map type 10"},
      {map(MapRole::kStats4, BPF_MAP_TYPE_LRU_HASH, 14, 32), "map type 9"},
      {map(MapRole::kTcp4, BPF_MAP_TYPE_LRU_HASH, 38, 56), "key size 38, expected 14"},
      {map(MapRole::kAny6, BPF_MAP_TYPE_LRU_HASH, 14, 56), "key size 14, expected 38"},
      {map(MapRole::kTcp4, BPF_MAP_TYPE_LRU_HASH, 14, 64), "value size 64, expected 56"},
      {map(MapRole::kStats6, BPF_MAP_TYPE_LRU_PERCPU_HASH, 38, 56), "value size 56, expected 32"},
      {map(MapRole::kTcp4, BPF_MAP_TYPE_LRU_HASH, 14, 56, BPF_F_MMAPABLE), "unknown flags 0x400"},
      {map(MapRole::kTcp4, BPF_MAP_TYPE_LRU_HASH, 14, 56, 0, 0), "max_entries is 0"},
  };
  for (const auto& [m, expect] : cases) {
    auto st = validate(m);
    ASSERT_FALSE(st.has_value()) << expect;
    EXPECT_EQ(st.error().code(), Errc::kUnsupported);
    const std::string msg = st.error().message();
    EXPECT_NE(msg.find(expect), std::string::npos) << msg;
    EXPECT_NE(msg.find(m.path), std::string::npos) << msg;
  }
}

}  // namespace
}  // namespace egressd::cilium
