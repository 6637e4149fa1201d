#include "berth/provisioner/sandbox_layout.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <fstream>

#include "berth/core/ids.hpp"

namespace berth::provisioner {
namespace {

namespace fs = std::filesystem;

unsigned mode_of(const fs::path& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 ? (st.st_mode & 07777) : 0;
}

struct TempDir {
  TempDir() : path(fs::temp_directory_path() / ("berth-layout-" + random_hex(4))) {
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  fs::path path;
};

fs::path fake_binary(const fs::path& dir, const std::string& name) {
  fs::path p = dir / name;
  std::ofstream(p) << "#!/bin/sh\n";
  fs::permissions(p, fs::perms::owner_all);
  return p;
}

TEST(SandboxLayout, TheDataDirectoryWhenOthersCanPassThrough) {
  TempDir t;
  auto agent = fake_binary(t.path, "berth-agent");
  auto layout = prepare_sandbox_layout(t.path / "data", t.path / "berth", agent);
  ASSERT_TRUE(layout) << layout.error().message;
  EXPECT_EQ(layout->root, t.path / "data");
  EXPECT_EQ(layout->workspaces, t.path / "data" / "workspaces");
  EXPECT_TRUE(layout->warning.empty());
  EXPECT_EQ(mode_of(layout->workspaces), 0711u);
  EXPECT_EQ(mode_of(layout->run), 0711u);
  // The agent is published where sandboxes reach it, runnable by everyone.
  EXPECT_EQ(layout->agent_binary, layout->run / "bin" / "berth-agent");
  EXPECT_EQ(mode_of(layout->agent_binary) & 0005u, 0005u);
}

// As root, a data directory below a directory others cannot pass through (a checkout in
// /root, mode 0700) would leave every sandbox unable to bind its workspace.
TEST(SandboxLayout, AClosedParentMovesSandboxFilesToVarTmp) {
  if (::geteuid() != 0) GTEST_SKIP() << "only a root server's sandboxes run as other users";
  TempDir t;
  fs::create_directories(t.path / "private" / "data");
  fs::permissions(t.path / "private", fs::perms::owner_all);
  EXPECT_EQ(first_closed_ancestor(t.path / "private" / "data"), t.path / "private");
  auto layout =
      prepare_sandbox_layout(t.path / "private" / "data", fake_binary(t.path, "berth"), {});
  ASSERT_TRUE(layout) << layout.error().message;
  EXPECT_TRUE(layout->root.string().starts_with("/var/tmp/berth-")) << layout->root;
  EXPECT_TRUE(first_closed_ancestor(layout->workspaces).empty());
  EXPECT_NE(
      layout->warning.find("sandbox users cannot pass through " + (t.path / "private").string()),
      std::string::npos)
      << layout->warning;
  EXPECT_TRUE(layout->agent_binary.empty());
  EXPECT_EQ(layout->berth_binary, layout->run / "bin" / "berth");
  EXPECT_TRUE(fs::exists(layout->berth_binary));
  std::error_code ec;
  fs::remove_all(layout->root, ec);
}

}  // namespace
}  // namespace berth::provisioner
