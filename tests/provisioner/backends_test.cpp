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
          .agent_binary = "/usr/bin/berth-agent",
          .agent_socket_dir = "/data/run"};
}

TEST(WrapCommand, ProcessRunsInTheWorkspaceDirectory) {
  auto cmd = wrap_command(context(templates::Isolation::process), {"/bin/sh", "-c", "true"});
  ASSERT_TRUE(cmd) << cmd.error().message;
  EXPECT_EQ(cmd->argv, (std::vector<std::string>{"/bin/sh", "-c", "true"}));
  EXPECT_EQ(cmd->cwd, "/data/workspaces/w1/sub");
  EXPECT_FALSE(cmd->sandbox);
}

TEST(WrapCommand, SandboxIsHardenedAndMountsTheWorkspaceAsHome) {
  auto ctx = context(templates::Isolation::sandbox);
  ctx.host_uid = 200'007;
  auto cmd = wrap_command(ctx, agent_command(ctx));
  ASSERT_TRUE(cmd) << cmd.error().message;
  const auto& argv = cmd->argv;
  ASSERT_FALSE(argv.empty());
  EXPECT_EQ(argv.front(), "bwrap");
  EXPECT_TRUE(has_pair(argv, "/data/workspaces/w1", "/home/berth"));
  EXPECT_TRUE(has_pair(argv, "--chdir", "/home/berth/sub"));
  EXPECT_TRUE(has_pair(argv, "/usr/bin/berth-agent", "/opt/berth/bin/berth-agent"));
  EXPECT_TRUE(has_pair(argv, "/data/run", "/run/berth"));
  EXPECT_TRUE(has_pair(argv, "--hostname", "dev"));
  // Every namespace, an unprivileged uid with no capabilities, no nested user namespaces.
  for (const char* flag : {"--unshare-all", "--unshare-user", "--disable-userns"}) {
    EXPECT_EQ(std::count(argv.begin(), argv.end(), flag), 1) << flag;
  }
  EXPECT_TRUE(has_pair(argv, "--uid", "1000"));
  EXPECT_TRUE(has_pair(argv, "--cap-drop", "ALL"));
  EXPECT_EQ(std::count(argv.begin(), argv.end(), "--share-net"), 0);
  // Never the host's /etc or / as a whole.
  EXPECT_FALSE(has_pair(argv, "/etc", "/etc"));
  EXPECT_FALSE(has_pair(argv, "/", "/"));
  EXPECT_EQ(argv.back(), "/opt/berth/bin/berth-agent");
  // The filter, passwd, group and hosts go by descriptor; the child becomes the host uid.
  const auto& c = cmd->sandbox->confine;
  EXPECT_EQ(c.keep_fds.size(), 4u);
  EXPECT_EQ(c.uid, 200'007u);
  EXPECT_EQ(c.gid, 200'007u);
  auto seccomp = std::find(argv.begin(), argv.end(), "--seccomp");
  ASSERT_NE(seccomp, argv.end());
  EXPECT_NE(std::find(c.keep_fds.begin(), c.keep_fds.end(), std::stoi(*(seccomp + 1))),
            c.keep_fds.end());
  EXPECT_EQ(agent_url(ctx, "http://127.0.0.1:7080"), "unix:/run/berth/agent.sock");
}

TEST(SeccompFilter, BuildsOnce) {
  auto bpf = seccomp_filter_bpf();
  ASSERT_TRUE(bpf) << bpf.error().message;
  EXPECT_GT(bpf->size(), 100u);
  EXPECT_EQ(bpf->size() % 8, 0u);  // sock_filter instructions
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
