// Reading user-named files: a FIFO, a device, a directory or an oversized file is refused at once
// with one line naming what it is — never a hang in open() or a read of gigabytes.
#include "egressd/common/file_input.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <sys/stat.h>

namespace egressd {
namespace {

class FileInput : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("egressd-files-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(FileInput, ReadsARegularFileWithinItsCap) {
  const auto path = (dir_ / "config.yaml").string();
  std::ofstream(path) << "read-interval: 5s\n";
  auto text = read_regular_file(path, 1024, "config");
  ASSERT_TRUE(text) << text.error().message();
  EXPECT_EQ(*text, "read-interval: 5s\n");
  EXPECT_EQ(read_regular_file(path, 18, "config").value().size(), 18u) << "exactly the cap";
}

// A FIFO without a writer: open() without O_NONBLOCK would wait for one forever.
TEST_F(FileInput, AFifoIsRefusedWithoutBlocking) {
  const auto path = (dir_ / "fifo").string();
  ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0);
  auto text = read_regular_file(path, 1024, "inventory " + path);
  ASSERT_FALSE(text);
  EXPECT_EQ(text.error().message(), "inventory " + path + ": not a regular file (a FIFO)");
}

TEST_F(FileInput, DirectoriesDevicesAndMissingFilesAreOneLine) {
  auto d = read_regular_file(dir_.string(), 1024, "kubeconfig");
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().message(), "kubeconfig: not a regular file (a directory)");
  auto dev = read_regular_file("/dev/zero", 1024, "token file");
  ASSERT_FALSE(dev) << "/dev/zero would read forever";
  EXPECT_EQ(dev.error().message(), "token file: not a regular file (a character device)");
  auto missing = read_regular_file((dir_ / "nope").string(), 1024, "config");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message(), "config: cannot open file: No such file or directory");
}

TEST_F(FileInput, TooLargeIsRefusedBeforeReading) {
  const auto path = (dir_ / "big").string();
  std::ofstream(path) << std::string(3000, 'x');
  auto text = read_regular_file(path, 2048, "config");
  ASSERT_FALSE(text);
  EXPECT_EQ(text.error().message(), "config: larger than 2 KiB (3000 bytes)");
  auto opened = open_regular_file(path, uint64_t{1} << 20, "config");
  ASSERT_TRUE(opened);
  EXPECT_EQ(opened->size, 3000u);
  EXPECT_EQ(describe_size(uint64_t{256} << 20), "256 MiB");
  EXPECT_EQ(describe_size(100), "100 bytes");
}

}  // namespace
}  // namespace egressd
