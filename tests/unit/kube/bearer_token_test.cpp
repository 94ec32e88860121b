// Bearer tokens: what may go into an Authorization header (kube/bearer_token.h). A token with a
// CR or LF would add header lines of the file author's choosing; errors say where the bad byte
// is and never contain the token.
#include "kube/bearer_token.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

namespace egressd::kube {
namespace {

TEST(BearerToken, TrimsSurroundingWhitespaceLikeClientGo) {
  EXPECT_EQ(parse_bearer_token("eyJhbGciOi.J9-_~+/=\n").value(), "eyJhbGciOi.J9-_~+/=");
  EXPECT_EQ(parse_bearer_token(" \t abc \r\n").value(), "abc");
  EXPECT_EQ(parse_bearer_token("!\"#$%&'()*,:;<>?@[\\]^`{|}").value(),
            "!\"#$%&'()*,:;<>?@[\\]^`{|}");
}

TEST(BearerToken, RefusesWhatCannotBeOneHeaderValue) {
  const std::pair<std::string_view, std::string_view> cases[] = {
      {"", "empty"},
      {" \n\r\n", "empty"},
      {"secret-1\r\nX-Injected: 1", "a control character (0x0d) at byte 8"},
      {"secret-1\nX-Injected: 1\n", "a control character (0x0a) at byte 8"},
      {std::string_view("sec\0ret", 7), "a control character (0x00) at byte 3"},
      {"sec\x7fret", "a control character (0x7f) at byte 3"},
      {"secret one", "a space at byte 6"},
      {"secret\tone", "a control character (0x09) at byte 6"},
      {"s\xc3\xa9"
       "cret",
       "a non-ASCII byte (0xc3) at byte 1"},
  };
  for (const auto& [text, expected] : cases) {
    const auto token = parse_bearer_token(text);
    ASSERT_FALSE(token.has_value()) << text;
    EXPECT_EQ(token.error().message(), expected);
    EXPECT_EQ(token.error().message().find("secret"), std::string::npos) << "the token leaked";
  }
}

class TokenFile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        std::filesystem::path(::testing::TempDir()) / ("egd-token-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string write(const std::string& content) {
    const auto path = (dir_ / "token").string();
    std::ofstream(path, std::ios::binary | std::ios::trunc) << content;
    return path;
  }
  std::filesystem::path dir_;
};

TEST_F(TokenFile, ReadsAndTrims) {
  EXPECT_EQ(read_token_file(write("fake-token-1\n")).value(), "fake-token-1");
}

TEST_F(TokenFile, ErrorsNameTheFileNotTheToken) {
  const auto path = write("secret-1\r\nX-Injected: 1\n");
  const auto bad = read_token_file(path);
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().message(), "token file " + path + ": a control character (0x0d) at byte 8");
  const auto missing = read_token_file((dir_ / "nope").string());
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().message(), "token file " + (dir_ / "nope").string() +
                                           ": cannot open file: No such file or directory");
  const auto directory = read_token_file(dir_.string());
  ASSERT_FALSE(directory.has_value());
  EXPECT_EQ(directory.error().message(),
            "token file " + dir_.string() + ": not a regular file (a directory)");
}

}  // namespace
}  // namespace egressd::kube
