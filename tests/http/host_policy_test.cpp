#include "berth/http/host_policy.hpp"

#include <gtest/gtest.h>

namespace berth::http {
namespace {

TEST(HostPolicy, LoopbackNamesAreExact) {
  for (const char* yes : {"localhost", "127.0.0.1", "127.255.0.9", "[::1]"}) {
    EXPECT_TRUE(is_loopback_name(yes)) << yes;
  }
  for (const char* no :
       {"127.evil.example", "127.0.0.1.evil", "127.0.0", "127.0.0.256", "127..0.1", "127.0.0.01x",
        "1127.0.0.1", "128.0.0.1", "", "0x7f.0.0.1", "127.0.0.1:80", "localhost.", "[::2]"}) {
    EXPECT_FALSE(is_loopback_name(no)) << no;
  }
}

TEST(HostPolicy, HostNameDropsThePortAndLowersCase) {
  EXPECT_EQ(host_name("Example.COM:7080"), "example.com");
  EXPECT_EQ(host_name("[::1]:7080"), "[::1]");
  EXPECT_EQ(host_name("127.0.0.1"), "127.0.0.1");
}

TEST(HostPolicy, RefusalsNameWhatIsWrong) {
  HostPolicy p{.loopback_only = true, .allowed = {"berth.example"}};
  EXPECT_EQ(p.refusal("127.0.0.1:7080", ""), std::nullopt);
  EXPECT_EQ(p.refusal("berth.example", "https://berth.example"), std::nullopt);
  EXPECT_EQ(p.refusal("127.0.0.1:7080", "http://localhost:3000"), std::nullopt);
  EXPECT_EQ(p.refusal("127.evil.example", ""), std::string(kBadHost));
  EXPECT_EQ(p.refusal("", ""), std::string(kBadHost));
  EXPECT_EQ(p.refusal("127.0.0.1", "http://evil.example"), std::string(kBadOrigin));
  EXPECT_EQ(p.refusal("127.0.0.1", "null"), std::string(kBadOrigin));
  HostPolicy open{.loopback_only = false, .allowed = {"*"}};
  EXPECT_EQ(open.refusal("203.0.113.7:7080", ""), std::nullopt);
  // Any Host, but a browser must be on the same origin.
  EXPECT_EQ(open.refusal("berth.corp", "https://berth.corp"), std::nullopt);
  EXPECT_EQ(open.refusal("berth.corp", "https://evil.example"), std::string(kBadOrigin));
}

}  // namespace
}  // namespace berth::http
