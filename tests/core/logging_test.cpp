#include "berth/core/logging.hpp"

#include <gtest/gtest.h>

namespace berth {
namespace {

TEST(Logging, MessagesSplitIntoAnEventAndItsFields) {
  auto f = split_log_message("tool call done tool=execute chat_id=abc is_error=false ms=1.5");
  EXPECT_EQ(f.event, "tool call done");
  ASSERT_EQ(f.fields.size(), 4u);
  EXPECT_EQ(f.fields[0], (std::pair<std::string, std::string>{"tool", "execute"}));
  EXPECT_EQ(f.fields[3], (std::pair<std::string, std::string>{"ms", "1.5"}));
  // A value runs to the next " key=", so free text keeps its spaces.
  auto e = split_log_message("build failed job_id=1 error=script exited with 3 code=SCRIPT");
  ASSERT_EQ(e.fields.size(), 3u);
  EXPECT_EQ(e.fields[1].second, "script exited with 3");
  EXPECT_EQ(e.fields[2].second, "SCRIPT");
  EXPECT_EQ(split_log_message("no fields here").event, "no fields here");
  EXPECT_TRUE(split_log_message("no fields here").fields.empty());
  EXPECT_EQ(split_log_message("").event, "");
  // Not a key: upper case, digits, nothing before '='.
  EXPECT_TRUE(split_log_message("a X=1 =2 9=3").fields.empty());
  EXPECT_EQ(split_log_message("k=v").event, "k=v");  // a field needs a space before it
  auto empty = split_log_message("event a= b=2");
  ASSERT_EQ(empty.fields.size(), 2u);
  EXPECT_EQ(empty.fields[0].second, "");
}

TEST(Logging, RequestIdsAClientMayChoose) {
  EXPECT_TRUE(valid_request_id("trace-42"));
  EXPECT_TRUE(valid_request_id("a.b_c:d-E9"));
  EXPECT_TRUE(valid_request_id(std::string(64, 'a')));
  EXPECT_FALSE(valid_request_id(std::string(65, 'a')));
  EXPECT_FALSE(valid_request_id(""));
  EXPECT_FALSE(valid_request_id("a b"));
  EXPECT_FALSE(valid_request_id("a\nlevel=error"));
  EXPECT_FALSE(valid_request_id("a\"b"));
  EXPECT_TRUE(valid_request_id(new_request_id()));
  EXPECT_NE(new_request_id(), new_request_id());
}

TEST(Logging, ScopesNestAndRestore) {
  EXPECT_EQ(current_request_id(), "");
  {
    RequestLogScope outer(std::make_shared<const std::string>("one"));
    EXPECT_EQ(current_request_id(), "one");
    {
      RequestLogScope inner(std::make_shared<const std::string>("two"));
      EXPECT_EQ(current_request_id(), "two");
    }
    EXPECT_EQ(current_request_id(), "one");
  }
  EXPECT_EQ(current_request_id(), "");
  EXPECT_TRUE(parse_log_format("json"));
  EXPECT_FALSE(parse_log_format("xml"));
  EXPECT_EQ(parse_log_format("xml").error().message, "--log-format xml is not a format");
}

}  // namespace
}  // namespace berth
