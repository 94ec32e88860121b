#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "harness/process.h"

namespace egressd {
namespace {

using egressd::testing::run;
using egressd::testing::RunResult;

RunResult egressd(std::vector<std::string> args) {
  args.insert(args.begin(), EGRESSD_BIN);
  return run(args);
}

size_t lines(const std::string& s) {
  size_t n = 0;
  for (char c : s) n += c == '\n' ? 1 : 0;
  return n;
}

// One line on stderr naming what was wrong, exit status 2, nothing on stdout.
void expect_one_line_error(const RunResult& r, const std::string& needle) {
  EXPECT_EQ(r.exit_code, 2) << r.describe();
  EXPECT_EQ(lines(r.err), 1u) << r.err;
  EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
}

TEST(Cli, HelpAndVersion) {
  auto r = egressd({"--help"});
  EXPECT_EQ(r.exit_code, 0);
  for (const char* flag :
       {"--read-interval", "--ct-mode", "--exclude-namespaces", "--group-public-ips", "--log-level",
        "--http-listen-port", "--http-listen-address", "--inventory", "--node-name"}) {
    EXPECT_NE(r.out.find(flag), std::string::npos) << flag;
  }
  r = egressd({"--version"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out.rfind("egressd ", 0), 0u) << r.out;
}

TEST(Cli, BadValuesUnknownFlagsAndMissingFilesAreOneLine) {
  expect_one_line_error(egressd({"--read-interval", "5x"}), "--read-interval");
  expect_one_line_error(egressd({"--http-listen-port", "70000"}), "--http-listen-port");
  expect_one_line_error(egressd({"--ct-mode", "magic"}), "--ct-mode");
  expect_one_line_error(egressd({"--log-level", "loud"}), "--log-level");
  expect_one_line_error(egressd({"--no-such-flag"}), "--no-such-flag");
  expect_one_line_error(egressd({"--inventory", "/nonexistent/inventory.json"}),
                        "/nonexistent/inventory.json");
  expect_one_line_error(egressd({"--config", "/nonexistent/egressd.yaml"}),
                        "/nonexistent/egressd.yaml");
}

// A FIFO named as any input file: one line and exit 2 at once, not a hang in open() (the
// harness's 20 s timeout would turn a hang into a failure).
// --help and --version win over everything else on the line (docs/configuration.md).
TEST(Cli, HelpWinsOverABadFlag) {
  auto r = egressd({"--bogus", "--help"});
  EXPECT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_NE(r.out.find("--read-interval"), std::string::npos);
  r = egressd({"--read-interval", "5x", "--version"});
  EXPECT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_EQ(r.out.rfind("egressd ", 0), 0u) << r.out;
}

TEST(Cli, AFifoAsAnyInputFileIsRefusedAtOnce) {
  const auto fifo =
      std::filesystem::temp_directory_path() / ("egressd-cli-fifo-" + std::to_string(::getpid()));
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  for (const char* flag : {"--inventory", "--config", "--kubeconfig"}) {
    SCOPED_TRACE(flag);
    const RunResult r = egressd({flag, fifo.string()});
    EXPECT_FALSE(r.timed_out);
    expect_one_line_error(r, "not a regular file (a FIFO)");
  }
  std::filesystem::remove(fifo);
}

TEST(Cli, UnknownYamlKeyIsOneLine) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("egressd-cli-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const auto file = dir / "egressd.yaml";
  std::ofstream(file) << "read-interval: 2s\nreed-interval: 3s\n";
  expect_one_line_error(egressd({"--config", file.string()}), "reed-interval");
  std::filesystem::remove_all(dir);
}

TEST(Cli, MalformedInventoryFailsAtStartWithOneLogLine) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("egressd-cli-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const auto file = dir / "inventory.json";
  std::ofstream(file) << R"({"kind": "List", "items": [{"kind": "Pod", "metadata": )";
  const auto r = egressd({"--inventory", file.string(), "--http-listen-port", "0"});
  std::filesystem::remove_all(dir);
  EXPECT_EQ(r.exit_code, 1) << r.describe();
  EXPECT_NE(r.err.find("error loading --inventory"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("Segmentation"), std::string::npos);
}

}  // namespace
}  // namespace egressd
