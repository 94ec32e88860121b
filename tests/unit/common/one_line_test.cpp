// The one escaping rule for outside text in log lines and errors (egressd/common/one_line.h).
#include "egressd/common/one_line.h"

#include <string>

#include <gtest/gtest.h>

namespace egressd {
namespace {

TEST(OneLine, EscapesControlCharactersQuotesAndBackslashes) {
  EXPECT_EQ(escape_one_line("plain text", 80), "plain text");
  EXPECT_EQ(escape_one_line("a\nb\rc\td\x1b[31m\x7f", 80), "a\\x0ab\\x0dc\\x09d\\x1b[31m\\x7f");
  EXPECT_EQ(escape_one_line(std::string("nul\0here", 8), 80), "nul\\x00here");
  EXPECT_EQ(escape_one_line("say \"hi\" \\o/", 80), "say \\\"hi\\\" \\\\o/");
  EXPECT_EQ(escape_one_line("caf\xc3\xa9", 80), "caf\xc3\xa9") << "UTF-8 stays as it is";
}

TEST(OneLine, CutsAfterMaxShownCharacters) {
  EXPECT_EQ(escape_one_line("abcdef", 6), "abcdef");
  EXPECT_EQ(escape_one_line("abcdefg", 6), "abcdef...");
  EXPECT_EQ(escape_one_line("\n\n\n", 2), "\\x0a\\x0a...");
  EXPECT_EQ(quote_one_line("abcdefg", 3), "\"abc...\"");
  EXPECT_EQ(quote_one_line("", 3), "\"\"");
}

}  // namespace
}  // namespace egressd
