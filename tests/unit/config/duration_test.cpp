// parse_duration against the cases of Go's own time.ParseDuration tests (src/time/time_test.go),
// so values written for castai/egressd mean the same here.
#include <gtest/gtest.h>

#include "config/config.h"

namespace egressd::config {
namespace {

using std::chrono::nanoseconds;

constexpr int64_t kNs = 1;
constexpr int64_t kUs = 1000 * kNs;
constexpr int64_t kMs = 1000 * kUs;
constexpr int64_t kS = 1000 * kMs;
constexpr int64_t kMin = 60 * kS;
constexpr int64_t kH = 60 * kMin;

struct Valid {
  const char* text;
  int64_t ns;
};

class DurationValid : public ::testing::TestWithParam<Valid> {};

TEST_P(DurationValid, Parses) {
  auto d = parse_duration(GetParam().text);
  ASSERT_TRUE(d.has_value()) << GetParam().text << ": " << d.error().message();
  EXPECT_EQ(d->count(), GetParam().ns) << GetParam().text;
}

INSTANTIATE_TEST_SUITE_P(
    GoCases, DurationValid,
    ::testing::Values(
        // simple
        Valid{"0", 0}, Valid{"5s", 5 * kS}, Valid{"30s", 30 * kS}, Valid{"1478s", 1478 * kS},
        // sign
        Valid{"-5s", -5 * kS}, Valid{"+5s", 5 * kS}, Valid{"-0", 0}, Valid{"+0", 0},
        // decimal
        Valid{"5.0s", 5 * kS}, Valid{"5.6s", 5 * kS + 600 * kMs}, Valid{"5.s", 5 * kS},
        Valid{".5s", 500 * kMs}, Valid{"1.0s", kS}, Valid{"1.00s", kS},
        Valid{"1.004s", kS + 4 * kMs}, Valid{"1.0040s", kS + 4 * kMs},
        Valid{"100.00100s", 100 * kS + kMs},
        // different units
        Valid{"10ns", 10 * kNs}, Valid{"11us", 11 * kUs}, Valid{"12\u00b5s", 12 * kUs},
        Valid{"12\u03bcs", 12 * kUs}, Valid{"13ms", 13 * kMs}, Valid{"14s", 14 * kS},
        Valid{"15m", 15 * kMin}, Valid{"16h", 16 * kH},
        // composite
        Valid{"3h30m", 3 * kH + 30 * kMin}, Valid{"10.5s4m", 4 * kMin + 10 * kS + 500 * kMs},
        Valid{"-2m3.4s", -(2 * kMin + 3 * kS + 400 * kMs)},
        Valid{"1h2m3s4ms5us6ns", kH + 2 * kMin + 3 * kS + 4 * kMs + 5 * kUs + 6 * kNs},
        Valid{"39h9m14.425s", 39 * kH + 9 * kMin + 14 * kS + 425 * kMs},
        // large value
        Valid{"52763797000ns", 52763797000 * kNs},
        // more than 9 digits after the decimal point
        Valid{"0.3333333333333333333h", 20 * kMin},
        // 9007199254740993 = 1<<53+1 cannot be stored precisely in a float64
        Valid{"9007199254740993ns", (int64_t{1} << 53) + 1},
        // largest duration that can be represented by int64 in nanoseconds
        Valid{"9223372036854775807ns", INT64_MAX}, Valid{"9223372036854775.807us", INT64_MAX},
        Valid{"9223372036s854ms775us807ns", INT64_MAX}, Valid{"-9223372036854775808ns", INT64_MIN},
        Valid{"-9223372036854775.808us", INT64_MIN},
        Valid{"-9223372036s854ms775us808ns", INT64_MIN},
        // huge string; issue 15011.
        Valid{"0.100000000000000000000h", 6 * kMin},
        // This value tests the first overflow check in leadingFraction.
        Valid{"0.830103483285477580700h", 49 * kMin + 48 * kS + 372539827 * kNs}));

class DurationInvalid : public ::testing::TestWithParam<const char*> {};

TEST_P(DurationInvalid, Rejected) {
  auto d = parse_duration(GetParam());
  ASSERT_FALSE(d.has_value()) << GetParam() << " = " << d->count();
  EXPECT_EQ(d.error().code(), Errc::kInvalidArgument);
}

INSTANTIATE_TEST_SUITE_P(GoCases, DurationInvalid,
                         ::testing::Values(
                             // invalid
                             "", "3", "-", "s", ".", "-.", ".s", "+.s", "1d", "\x85\x85",
                             "\xff"
                             "ff",
                             "hello \xff"
                             "ff world",
                             // overflow
                             "9223372036854775810ns", "9223372036854775808ns",
                             "-9223372036854775809ns", "9223372036854776us", "3000000h",
                             "9223372036854775.808us", "9223372036854ms775us808ns",
                             // not Go syntax either
                             "5 s", " 5s", "5s ", "1h-5m", "5S", "1e3s"));

TEST(Duration, MessagesSayWhy) {
  EXPECT_EQ(parse_duration("5x").error().message(),
            "invalid duration \"5x\": unknown unit \"x\" (use ns, us, ms, s, m or h)");
  EXPECT_EQ(parse_duration("3").error().message(),
            "invalid duration \"3\": missing unit (ns, us, ms, s, m, h)");
  EXPECT_EQ(parse_duration("").error().message(), "invalid duration \"\": empty duration");
  EXPECT_EQ(parse_duration("3000000h").error().message(),
            "invalid duration \"3000000h\": duration out of range");
}

}  // namespace
}  // namespace egressd::config
