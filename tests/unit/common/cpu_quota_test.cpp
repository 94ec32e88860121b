#include "egressd/common/cpu_quota.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

namespace egressd {
namespace {

// A scratch cgroup root with v1 and v2 quota files written by the test.
class CpuQuota : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::temp_directory_path() /
            ("egressd-cgroup-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(root_ / "cpu");
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  void write(const std::filesystem::path& p, const std::string& text) {
    std::ofstream(root_ / p) << text;
  }
  [[nodiscard]] size_t quota(size_t cpus) const { return cpus_within_quota(cpus, root_.string()); }

  std::filesystem::path root_;
};

TEST_F(CpuQuota, NoQuotaFilesLeaveTheCpusAsTheyAre) {
  EXPECT_EQ(quota(64), 64u);
  EXPECT_EQ(quota(1), 1u);
  EXPECT_EQ(quota(0), 1u) << "never zero";
  EXPECT_EQ(cpus_within_quota(8, "/nonexistent/egressd"), 8u);
}

TEST_F(CpuQuota, CgroupV1QuotaRoundsUp) {
  write("cpu/cpu.cfs_quota_us", "50000\n");
  write("cpu/cpu.cfs_period_us", "100000\n");
  EXPECT_EQ(quota(64), 1u) << "half a CPU rounds up to one";
  write("cpu/cpu.cfs_quota_us", "250000\n");
  EXPECT_EQ(quota(64), 3u);
  EXPECT_EQ(quota(2), 2u) << "a quota above the CPUs changes nothing";
  write("cpu/cpu.cfs_quota_us", "-1\n");
  EXPECT_EQ(quota(64), 64u) << "-1 is no quota";
  write("cpu/cpu.cfs_period_us", "garbage\n");
  write("cpu/cpu.cfs_quota_us", "50000\n");
  EXPECT_EQ(quota(64), 64u) << "an unreadable period is no quota";
}

TEST_F(CpuQuota, CgroupV2WinsOverV1WhenPresent) {
  write("cpu/cpu.cfs_quota_us", "50000\n");
  write("cpu/cpu.cfs_period_us", "100000\n");
  write("cpu.max", "max 100000\n");
  EXPECT_EQ(quota(64), 64u) << "v2 says no quota; v1's files are ignored";
  write("cpu.max", "100000 100000\n");
  EXPECT_EQ(quota(64), 1u);
  write("cpu.max", "150000 100000\n");
  EXPECT_EQ(quota(64), 2u);
  EXPECT_EQ(quota(1), 1u);
  write("cpu.max", "1600000 100000\n");
  EXPECT_EQ(quota(64), 16u);
}

}  // namespace
}  // namespace egressd
