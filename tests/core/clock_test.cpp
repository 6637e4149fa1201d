#include "berth/core/clock.hpp"

#include <gtest/gtest.h>

namespace berth {
namespace {

TEST(Clock, Rfc3339RoundTrips) {
  for (UnixMillis t : {UnixMillis{0}, UnixMillis{1'795'000'123'456}, now_ms()}) {
    EXPECT_EQ(parse_rfc3339(format_rfc3339(t)), t) << format_rfc3339(t);
  }
  EXPECT_EQ(format_rfc3339(1'795'000'123'456), "2026-11-18T11:08:43.456Z");
}

TEST(Clock, Rfc3339RefusesOtherForms) {
  EXPECT_EQ(parse_rfc3339(""), std::nullopt);
  EXPECT_EQ(parse_rfc3339("2026-11-18T08:02:03Z"), std::nullopt);           // no milliseconds
  EXPECT_EQ(parse_rfc3339("2026-11-18T08:02:03.456+01:00"), std::nullopt);  // not UTC
  EXPECT_EQ(parse_rfc3339("2026-13-18T08:02:03.456Z"), std::nullopt);       // no 13th month
  EXPECT_EQ(parse_rfc3339("2026-11-18 08:02:03.456Z"), std::nullopt);
}

}  // namespace
}  // namespace berth
