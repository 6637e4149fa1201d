#include "berth/core/untrusted.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace berth {
namespace {

using nlohmann::json;

std::string nested(int depth) { return std::string(depth, '[') + std::string(depth, ']'); }

TEST(UntrustedJson, DepthIsCountedOutsideStringsOnly) {
  EXPECT_FALSE(json_nesting_exceeds(nested(64), 64));
  EXPECT_TRUE(json_nesting_exceeds(nested(65), 64));
  // Brackets inside strings, escaped quotes included, do not nest.
  std::string in_string = "[\"" + std::string(1000, '[') + "\\\"" + std::string(1000, '{') + "\"]";
  EXPECT_FALSE(json_nesting_exceeds(in_string, 2));
  EXPECT_TRUE(json_nesting_exceeds("{\"a\":{\"b\":[{}]}}", 3));
  EXPECT_FALSE(json_nesting_exceeds("{\"a\":{\"b\":[{}]}}", 4));
  // Unbalanced closers never go below zero (and never wrap the count).
  EXPECT_FALSE(json_nesting_exceeds(std::string(100, ']') + nested(3), 3));
}

TEST(UntrustedJson, ParseRefusesDeepNestingBeforeBuildingAnything) {
  json out = "untouched";
  // About 300,000 levels (600 KB) killed the server through nlohmann's recursive copy/dump.
  EXPECT_EQ(parse_untrusted_json(nested(300'000), out), JsonRefusal::too_deep);
  EXPECT_EQ(out, "untouched");
  EXPECT_EQ(parse_untrusted_json("{\"a\": [1, 2", out), JsonRefusal::invalid);
  EXPECT_EQ(parse_untrusted_json("\"\xff\"", out), JsonRefusal::invalid);
  ASSERT_EQ(parse_untrusted_json(nested(64), out), JsonRefusal::none);
  EXPECT_TRUE(out.is_array());
  EXPECT_EQ(json_refusal_message(JsonRefusal::too_deep, "the body"),
            "the body nests arrays or objects deeper than 64 levels");
  EXPECT_EQ(json_refusal_message(JsonRefusal::invalid, "the body"), "the body is not valid JSON");
}

TEST(Utf8, ValidTextIsUnchanged) {
  for (std::string s : {"", "plain ascii\n", "caf\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80",
                        "\xEF\xBF\xBD", "\xF4\x8F\xBF\xBF"}) {
    EXPECT_EQ(valid_utf8(s), s);
  }
}

TEST(Utf8, EachMaximalInvalidSubpartBecomesOneReplacement) {
  const std::string r = "\xEF\xBF\xBD";
  EXPECT_EQ(valid_utf8("\xff\xfe"), r + r);
  EXPECT_EQ(valid_utf8("a\x80z"), "a" + r + "z");
  EXPECT_EQ(valid_utf8("\xC0\xAF"), r + r);          // overlong '/'
  EXPECT_EQ(valid_utf8("\xED\xA0\x80"), r + r + r);  // a surrogate
  EXPECT_EQ(valid_utf8("\xE2\x82"), r);              // truncated at the end
  EXPECT_EQ(valid_utf8("\xE2\x82"
                       "A"),
            r + "A");                                        // truncated in the middle
  EXPECT_EQ(valid_utf8("\xF4\x90\x80\x80"), r + r + r + r);  // above U+10FFFF
  // The result always dumps as JSON.
  json j = valid_utf8("\xF0\x9F\x98");
  EXPECT_EQ(j.dump(), "\"" + r + "\"");
}

TEST(Utf8, DumpJsonReplacesInsteadOfThrowing) {
  json j = {{"output", std::string("ok\xff")}};
  EXPECT_THROW((void)j.dump(), json::type_error);
  EXPECT_EQ(dump_json(j), "{\"output\":\"ok\xEF\xBF\xBD\"}");
}

}  // namespace
}  // namespace berth

namespace berth {
namespace {

TEST(Utf8, FirstInvalidByte) {
  EXPECT_EQ(first_invalid_utf8("caf\xC3\xA9"), std::nullopt);
  EXPECT_EQ(first_invalid_utf8("abc\x90xyz"), 3u);
  EXPECT_EQ(first_invalid_utf8("ab\xE2\x82"), 2u);
  EXPECT_EQ(first_invalid_utf8(""), std::nullopt);
}

}  // namespace
}  // namespace berth
