#include "egressd/common/error.h"

#include <gtest/gtest.h>

#include "common/manual_clock.h"
#include "egressd/common/log.h"

namespace egressd {
namespace {

Result<int> parse_positive(int v) {
  if (v <= 0) return fail(Errc::kInvalidArgument, "value must be positive");
  return v;
}

TEST(Error, CarriesCodeContextAndErrno) {
  const auto r = parse_positive(-1);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Errc::kInvalidArgument);
  EXPECT_EQ(r.error().message(), "value must be positive");
  EXPECT_EQ(*parse_positive(3), 3);

  const Status st = fail_errno("opening /nope", ENOENT);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), Errc::kNotFound);
  EXPECT_EQ(st.error().message(), "opening /nope: No such file or directory");
  EXPECT_EQ(fail_errno("x", EPERM).error().code(), Errc::kPermission);
  EXPECT_EQ(fail_errno("x", ENOBUFS).error().code(), Errc::kResource);
}

TEST(Error, WrapPrefixesTheContext) {
  Error e(Errc::kParse, "item 3: bad ip");
  EXPECT_EQ(std::move(e).wrap("loading inventory").message(), "loading inventory: item 3: bad ip");
}

TEST(Log, ParsesLevelNames) {
  EXPECT_EQ(log::parse_level("debug"), spdlog::level::debug);
  EXPECT_EQ(log::parse_level("warning"), spdlog::level::warn);
  EXPECT_FALSE(log::parse_level("verbose").has_value());
}

TEST(Log, RateLimitAllowsOnePerPeriodAndCountsTheRest) {
  testing::ManualClock clock;
  log::RateLimit limit(std::chrono::seconds(10), clock);
  uint64_t suppressed = 99;
  EXPECT_TRUE(limit.allow(suppressed));
  EXPECT_EQ(suppressed, 0u) << "nothing was suppressed before the first event";
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(limit.allow(suppressed));
  clock.advance(std::chrono::seconds(9));
  EXPECT_FALSE(limit.allow(suppressed)) << "still inside the period";
  clock.advance(std::chrono::seconds(1));
  EXPECT_TRUE(limit.allow(suppressed)) << "the period has passed";
  EXPECT_EQ(suppressed, 6u) << "the allowed line learns how many were suppressed before it";
  EXPECT_FALSE(limit.allow(suppressed));
  clock.advance(std::chrono::seconds(10));
  EXPECT_TRUE(limit.allow(suppressed));
  EXPECT_EQ(suppressed, 1u) << "the count restarts after each allowed line";

  log::RateLimit unlimited(std::chrono::milliseconds(0), clock);
  EXPECT_TRUE(unlimited.allow(suppressed));
  EXPECT_TRUE(unlimited.allow(suppressed)) << "a zero period allows every event";
  EXPECT_EQ(suppressed, 0u);
}

}  // namespace
}  // namespace egressd
