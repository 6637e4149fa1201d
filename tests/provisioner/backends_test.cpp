#include "berth/provisioner/backends.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace berth::provisioner {
namespace {

bool has_pair(const std::vector<std::string>& argv, std::string_view a, std::string_view b) {
  for (std::size_t i = 0; i + 1 < argv.size(); ++i) {
    if (argv[i] == a && argv[i + 1] == b) return true;
  }
  return false;
}

CommandContext context(templates::Isolation isolation) {
  return {.isolation = isolation,
          .workspace_dir = "/data/workspaces/w1",
          .subdirectory = "sub",
          .hostname = "dev",
          .berth_binary = "/usr/bin/berth",
          .agent_binary = "/usr/bin/berth-agent"};
}

TEST(WrapCommand, ProcessRunsInTheWorkspaceDirectory) {
  auto cmd = wrap_command(context(templates::Isolation::process), {"/bin/sh", "-c", "true"});
  EXPECT_EQ(cmd.argv, (std::vector<std::string>{"/bin/sh", "-c", "true"}));
  EXPECT_EQ(cmd.cwd, "/data/workspaces/w1/sub");
}

TEST(WrapCommand, SandboxMountsTheWorkspaceAsHome) {
  auto ctx = context(templates::Isolation::sandbox);
  auto cmd = wrap_command(ctx, agent_command(ctx));
  ASSERT_FALSE(cmd.argv.empty());
  EXPECT_EQ(cmd.argv.front(), "bwrap");
  EXPECT_TRUE(has_pair(cmd.argv, "/data/workspaces/w1", "/home/berth"));
  EXPECT_TRUE(has_pair(cmd.argv, "--chdir", "/home/berth/sub"));
  EXPECT_TRUE(has_pair(cmd.argv, "/usr/bin/berth-agent", "/opt/berth/bin/berth-agent"));
  EXPECT_TRUE(has_pair(cmd.argv, "--hostname", "dev"));
  EXPECT_EQ(std::count(cmd.argv.begin(), cmd.argv.end(), "--unshare-net"), 0);
  EXPECT_EQ(cmd.argv.back(), "/opt/berth/bin/berth-agent");
  ctx.sandbox_network = false;
  auto isolated = wrap_command(ctx, {"true"});
  EXPECT_EQ(std::count(isolated.argv.begin(), isolated.argv.end(), "--unshare-net"), 1);
}

TEST(AgentCommand, FallsBackToBerthAgent) {
  auto ctx = context(templates::Isolation::process);
  EXPECT_EQ(agent_command(ctx), (std::vector<std::string>{"/usr/bin/berth-agent"}));
  ctx.agent_binary.clear();
  EXPECT_EQ(agent_command(ctx), (std::vector<std::string>{"/usr/bin/berth", "agent"}));
  ctx.isolation = templates::Isolation::sandbox;
  EXPECT_EQ(agent_command(ctx), (std::vector<std::string>{"/opt/berth/bin/berth", "agent"}));
}

}  // namespace
}  // namespace berth::provisioner
