#include "berth/core/names.hpp"

#include <gtest/gtest.h>

namespace berth {
namespace {

// A deterministic "random" source: always picks index 0 (so suffixes are "0000").
std::size_t first(std::size_t) { return 0; }

TEST(NameValid, AcceptsAlphanumericWithSingleHyphens) {
  EXPECT_TRUE(name_valid("a"));
  EXPECT_TRUE(name_valid("my-workspace-2"));
  EXPECT_TRUE(name_valid(std::string(32, 'x')));
}

TEST(NameValid, RejectsWithTheSpecMessages) {
  EXPECT_EQ(name_invalid_reason(std::string(33, 'x')), "must be <= 32 characters");
  EXPECT_EQ(name_invalid_reason(""), "must be >= 1 character");
  EXPECT_EQ(name_invalid_reason("new"), "cannot use \"new\" as a name");
  EXPECT_EQ(name_invalid_reason("create"), "cannot use \"create\" as a name");
  EXPECT_TRUE(name_valid("New"));  // the reserved words are case-sensitive
  for (const char* bad : {"-a", "a-", "a--b", "a_b", "a.b", "a b", "ä"}) {
    EXPECT_EQ(name_invalid_reason(bad), "must be alphanumeric with hyphens") << bad;
  }
}

TEST(UsernameFrom, KeepsValidNamesAndCleansOthers) {
  EXPECT_EQ(username_from("alice", first), "alice");
  EXPECT_EQ(username_from("bob.smith@example.com", first), "bobsmith");
  EXPECT_EQ(username_from("My Workspace!", first), "MyWorkspace");
  // Nothing usable is left: a Docker-style name.
  EXPECT_EQ(username_from("__", first), "brave-babbage");
}

TEST(GeneratedWorkspaceName, TemplateNamePlusHexSuffix) {
  EXPECT_EQ(generated_workspace_name("shell", first), "shell-0000");
  EXPECT_EQ(generated_workspace_name("  My Workspace!  ", first), "myworkspace-0000");
  EXPECT_EQ(generated_workspace_name("", first), "workspace-0000");
}

TEST(GeneratedWorkspaceName, LongValidNamesAreCutTo27) {
  std::string seed = "abcdefghijklmnopqrstuvwxyz-abcd";  // 31 chars, valid
  EXPECT_EQ(generated_workspace_name(seed, first), "abcdefghijklmnopqrstuvwxyz-0000");
  // Cutting at 27 would leave a trailing hyphen: it is trimmed.
  EXPECT_EQ(generated_workspace_name("abcdefghijklmnopqrstuvwxyz-abc", first),
            "abcdefghijklmnopqrstuvwxyz-0000");
}

TEST(GeneratedWorkspaceName, InvalidSeedsGetARandomBase) {
  EXPECT_EQ(generated_workspace_name("fun--dashboard", first), "brave-babbage-0000");
  EXPECT_EQ(generated_workspace_name(std::string(40, 'a') + "--", first), "brave-babbage-0000");
}

TEST(GeneratedWorkspaceName, AlwaysValidWithRealRandomness) {
  auto random = default_random_index();
  for (int i = 0; i < 200; ++i) {
    auto name = generated_workspace_name("Some Template_Name", random);
    EXPECT_TRUE(name_valid(name)) << name;
  }
}

}  // namespace
}  // namespace berth
