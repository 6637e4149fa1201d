// The cgroup v2 steps, against a directory laid out like a delegated group (the kernel's
// semantics are not emulated: these pin which files are written with what). The v1 path and
// the limits themselves are exercised against the real kernel by tests/security/limits_test.
#include "berth/provisioner/cgroups.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "berth/core/ids.hpp"

namespace berth::provisioner {
namespace {

namespace fs = std::filesystem;

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void put(const fs::path& p, const std::string& text) { std::ofstream(p) << text; }

struct FakeGroup : ::testing::Test {
  fs::path dir = fs::temp_directory_path() / ("berth-cg-" + random_hex(6));
  void SetUp() override { fs::create_directories(dir); }
  void TearDown() override { fs::remove_all(dir); }
};

TEST(CgroupV2, FindsTheUnifiedPath) {
  EXPECT_EQ(unified_cgroup_path("12:memory:/x\n0::/system.slice/berth.service\n"),
            "/system.slice/berth.service");
  EXPECT_EQ(unified_cgroup_path("0::/"), "/");
  EXPECT_EQ(unified_cgroup_path("4:pids:/a\n3:cpu,cpuacct:/a\n"), "");
}

TEST(CgroupV2, LimitFiles) {
  auto files = cgroup_v2_limit_files({.memory_bytes = 512 << 20, .processes = 64, .cpus = 1.5});
  ASSERT_EQ(files.size(), 4u);
  EXPECT_EQ(files[0], (std::pair<std::string, std::string>{"memory.max", "536870912"}));
  EXPECT_EQ(files[1], (std::pair<std::string, std::string>{"memory.swap.max", "0"}));
  EXPECT_EQ(files[2], (std::pair<std::string, std::string>{"pids.max", "64"}));
  EXPECT_EQ(files[3], (std::pair<std::string, std::string>{"cpu.max", "150000 100000"}));
}

TEST_F(FakeGroup, ADelegatedGroupMovesItsProcessesToALeafAndEnablesControllers) {
  put(dir / "cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma misc\n");
  put(dir / "cgroup.subtree_control", "\n");
  put(dir / "cgroup.procs", "4242\n");
  ASSERT_TRUE(prepare_cgroup_v2_parent(dir, false));
  EXPECT_EQ(slurp(dir / "berth-server" / "cgroup.procs"), "4242");
  EXPECT_EQ(slurp(dir / "cgroup.subtree_control"), "+memory +pids +cpu");
}

TEST_F(FakeGroup, TheRootGroupAndEnabledControllersNeedNoLeaf) {
  put(dir / "cgroup.controllers", "cpu memory pids\n");
  put(dir / "cgroup.subtree_control", "memory\n");
  put(dir / "cgroup.procs", "1\n");
  ASSERT_TRUE(prepare_cgroup_v2_parent(dir, true));
  EXPECT_FALSE(fs::exists(dir / "berth-server"));
  EXPECT_EQ(slurp(dir / "cgroup.subtree_control"), "+pids +cpu");

  put(dir / "cgroup.subtree_control", "cpu memory pids\n");
  ASSERT_TRUE(prepare_cgroup_v2_parent(dir, false));
  EXPECT_FALSE(fs::exists(dir / "berth-server"));
}

TEST_F(FakeGroup, AGroupWithoutTheControllersSaysHowToDelegate) {
  put(dir / "cgroup.controllers", "cpu io\n");
  auto st = prepare_cgroup_v2_parent(dir, false);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message,
            fmt::format("the server's control group {} offers no memory controller (under "
                        "systemd, run Berth as a service with Delegate=yes)",
                        dir.string()));
}

}  // namespace
}  // namespace berth::provisioner
