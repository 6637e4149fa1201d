#include "berth/core/tags.hpp"

#include <gtest/gtest.h>

namespace berth {
namespace {

TEST(Tags, ParsesAndFormatsPairs) {
  auto t = parse_tags("zone=eu,gpu=a100");
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ((Tags{{"gpu", "a100"}, {"zone", "eu"}}), *t);
  EXPECT_EQ("gpu=a100,zone=eu", format_tags(*t));
  EXPECT_EQ(R"({"gpu":"a100","zone":"eu"})", tags_json(*t));
  auto none = parse_tags("");
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
  EXPECT_EQ("{}", tags_json(*none));
}

TEST(Tags, RefusesMalformedPairsSayingWhich) {
  auto no_value = parse_tags("gpu");
  ASSERT_FALSE(no_value);
  EXPECT_EQ("tag \"gpu\" has no value", no_value.error().message);
  EXPECT_EQ("write tags as name=value pairs separated by commas, e.g. gpu=a100,zone=eu",
            no_value.error().detail);
  auto twice = parse_tags("a=1,a=2");
  ASSERT_FALSE(twice);
  EXPECT_EQ("tag \"a\" is given twice", twice.error().message);
  auto bad_key = parse_tags("GPU=1");
  ASSERT_FALSE(bad_key);
  EXPECT_EQ("tag name \"GPU\" may hold lower-case letters, digits and - _ . only",
            bad_key.error().message);
  auto bad_value = parse_tags("a=x y");
  ASSERT_FALSE(bad_value);
  EXPECT_EQ("tag value \"x y\" may hold letters, digits and - _ . : / only",
            bad_value.error().message);
  auto empty_value = parse_tags("a=");
  ASSERT_FALSE(empty_value);
  EXPECT_EQ("a tag value must not be empty", empty_value.error().message);
  std::string many;
  for (int i = 0; i < 17; ++i) many += (i ? "," : "") + std::string("k") + std::to_string(i) + "=v";
  auto too_many = parse_tags(many);
  ASSERT_FALSE(too_many);
  EXPECT_EQ("more than 16 tags", too_many.error().message);
}

TEST(Tags, JsonRoundTripRefusesNonStrings) {
  auto back = tags_from_json(R"({"zone":"eu"})");
  ASSERT_TRUE(back);
  EXPECT_EQ((Tags{{"zone", "eu"}}), *back);
  EXPECT_FALSE(tags_from_json(R"({"zone":1})"));
  EXPECT_FALSE(tags_from_json("[]"));
  EXPECT_FALSE(tags_from_json("{"));
  EXPECT_FALSE(tags_from_json(R"({"Zone":"eu"})"));
}

TEST(Tags, UntaggedJobsRunOnlyOnUntaggedProvisioners) {
  EXPECT_TRUE(tags_satisfy({}, {}));
  EXPECT_FALSE(tags_satisfy({{"gpu", "a100"}}, {}));
  EXPECT_FALSE(tags_satisfy({}, {{"gpu", "a100"}}));
}

TEST(Tags, TaggedJobsNeedEveryTagWithItsValue) {
  Tags offered{{"gpu", "a100"}, {"zone", "eu"}};
  EXPECT_TRUE(tags_satisfy(offered, {{"gpu", "a100"}}));
  EXPECT_TRUE(tags_satisfy(offered, offered));
  EXPECT_FALSE(tags_satisfy(offered, {{"gpu", "h100"}}));
  EXPECT_FALSE(tags_satisfy(offered, {{"gpu", "a100"}, {"arch", "arm64"}}));
}

}  // namespace
}  // namespace berth
