#include "berth/core/duration.hpp"

#include <gtest/gtest.h>

namespace berth {
namespace {

TEST(ParseDuration, GoSyntax) {
  EXPECT_EQ(parse_duration("2h")->count(), 7'200'000);
  EXPECT_EQ(parse_duration("2h30m")->count(), 9'000'000);
  EXPECT_EQ(parse_duration("90m")->count(), 5'400'000);
  EXPECT_EQ(parse_duration("1.5h")->count(), 5'400'000);
  EXPECT_EQ(parse_duration("250ms")->count(), 250);
  EXPECT_EQ(parse_duration("0s")->count(), 0);
  EXPECT_EQ(parse_duration("0")->count(), 0);
  EXPECT_EQ(parse_duration("-1m")->count(), -60'000);
}

TEST(ParseDuration, ErrorsSayWhatIsWrong) {
  auto r = parse_duration("10");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::invalid_argument);
  EXPECT_EQ(r.error().message, "invalid duration \"10\": missing unit");
  EXPECT_EQ(parse_duration("ten").error().message, "invalid duration \"ten\": expected a number");
  EXPECT_EQ(parse_duration("5d").error().message, "invalid duration \"5d\": unknown unit \"d\"");
  EXPECT_EQ(parse_duration("").error().message, "invalid duration \"\": empty");
}

TEST(FormatDuration, LikeGo) {
  EXPECT_EQ(format_duration(Millis(7'200'000)), "2h0m0s");
  EXPECT_EQ(format_duration(Millis(90'000)), "1m30s");
  EXPECT_EQ(format_duration(Millis(250)), "250ms");
  EXPECT_EQ(format_duration(Millis(1500)), "1.5s");
  EXPECT_EQ(format_duration(Millis(0)), "0s");
}

}  // namespace
}  // namespace berth
