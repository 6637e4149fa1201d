#include "berth/core/ids.hpp"

#include <gtest/gtest.h>

namespace berth {
namespace {

TEST(Base64Decode, StandardAlphabetWithPadding) {
  EXPECT_EQ(base64_decode("dG9vbHMvY2FsbA=="), "tools/call");
  EXPECT_EQ(base64_decode("ZXhlY3V0ZQ=="), "execute");
  EXPECT_EQ(base64_decode("YWJj"), "abc");
  EXPECT_EQ(base64_decode("YWI="), "ab");
  EXPECT_EQ(base64_decode(""), "");
  EXPECT_EQ(base64_decode("w6lsw6g="), "\xc3\xa9l\xc3\xa8");  // "élè"
}

TEST(Base64, EncodeThenDecodeGivesTheBytesBack) {
  for (const std::string s : {"", "a", "ab", "abc", "tools/call", "\xc3\xa9\x00\xff"}) {
    EXPECT_EQ(base64_decode(base64_encode(s)), s);
  }
  EXPECT_EQ(base64_encode("ab"), "YWI=");
}

TEST(Base64Decode, RefusesWhatIsNotBase64) {
  for (const char* bad : {"YWJ", "YW J", "YW=j", "Y===", "YWJj\n", "!!!!", "YWJ\0"}) {
    EXPECT_FALSE(base64_decode(bad)) << bad;
  }
}

TEST(Uuid, NewOnesLookLikeUuids) {
  EXPECT_TRUE(looks_like_uuid(new_uuid()));
  EXPECT_FALSE(looks_like_uuid("not-a-uuid"));
}

}  // namespace
}  // namespace berth
