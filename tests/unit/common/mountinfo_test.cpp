// The mount table parser on a real mountinfo (this development VM's, a hybrid cgroup v1/v2
// system: tests/fixtures/mountinfo/) and on hand-written lines.
#include "egressd/common/mountinfo.h"

#include <gtest/gtest.h>

namespace egressd {
namespace {

TEST(Mountinfo, RealHybridSystemFindsTheUnifiedHierarchy) {
  auto mounts = read_mountinfo(EGRESSD_SOURCE_DIR "/tests/fixtures/mountinfo/debian12-hybrid.txt");
  ASSERT_TRUE(mounts) << mounts.error().message();
  EXPECT_GT(mounts->size(), 10u);
  auto root = find_cgroup2_root(*mounts);
  ASSERT_TRUE(root) << root.error().message();
  EXPECT_EQ(*root, "/sys/fs/cgroup/unified");
  bool saw_v1_cpu = false;
  for (const auto& m : *mounts)
    saw_v1_cpu |= m.fstype == "cgroup" && m.mount_point == "/sys/fs/cgroup/cpu";
  EXPECT_TRUE(saw_v1_cpu) << "v1 controllers are listed too";
}

TEST(Mountinfo, UnifiedSystemAndEscapesAndOptionalFields) {
  const auto mounts = parse_mountinfo(
      "30 23 0:26 / /sys/fs/cgroup rw,nosuid shared:4 - cgroup2 cgroup2 rw,nsdelegate\n"
      "99 30 0:26 /kubepods /host/cg rw shared:4 master:1 - cgroup2 cgroup2 rw\n"
      "101 23 0:40 / /mnt/with\\040space rw - bpf bpf rw\n");
  ASSERT_EQ(mounts.size(), 3u);
  EXPECT_EQ(mounts[2].mount_point, "/mnt/with space");
  EXPECT_EQ(mounts[2].fstype, "bpf");
  EXPECT_EQ(mounts[1].root, "/kubepods");
  EXPECT_EQ(find_cgroup2_root(mounts).value(), "/sys/fs/cgroup")
      << "a bind mount of a sub-hierarchy is not the root";
}

TEST(Mountinfo, MalformedLinesAreSkippedAndNoCgroup2IsAClearError) {
  const auto mounts = parse_mountinfo(
      "garbage\n"
      "1 2 3 4\n"
      "5 6 0:1 / /x rw -\n"
      " - cgroup2 cgroup2 rw\n"
      "7 8 0:2 / /proc rw - proc proc rw");  // no final newline
  ASSERT_EQ(mounts.size(), 1u);
  EXPECT_EQ(mounts[0].mount_point, "/proc");
  const auto root = find_cgroup2_root(mounts);
  ASSERT_FALSE(root);
  EXPECT_NE(root.error().message().find("no cgroup v2"), std::string::npos);
  EXPECT_TRUE(parse_mountinfo("").empty());
  EXPECT_EQ(parse_mountinfo("1 2 3 / /a\\04 rw - x x").at(0).mount_point, "/a\\04")
      << "a cut escape stays as written";
}

}  // namespace
}  // namespace egressd
