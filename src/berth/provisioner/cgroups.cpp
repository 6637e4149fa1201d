#include "berth/provisioner/cgroups.hpp"

#include <signal.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <fmt/format.h>

namespace berth::provisioner {

namespace fs = std::filesystem;

namespace {

constexpr const char* kControllers[] = {"memory", "pids", "cpu"};

// The server's own group in the v1 hierarchy of `controller` ("" when there is none).
fs::path own_group(std::string_view controller) {
  std::ifstream in("/proc/self/cgroup");
  std::string line;
  while (std::getline(in, line)) {
    // "4:memory:/some/path" or "1:cpu,cpuacct:/"
    auto a = line.find(':');
    auto b = line.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    std::string list = line.substr(a + 1, b - a - 1);
    std::stringstream names(list);
    std::string name;
    while (std::getline(names, name, ',')) {
      if (name == controller) {
        fs::path mount = fs::path("/sys/fs/cgroup") / list;
        if (!fs::exists(mount)) mount = fs::path("/sys/fs/cgroup") / std::string(controller);
        return mount / fs::path(line.substr(b + 1)).relative_path();
      }
    }
  }
  return {};
}

fs::path group_of(std::string_view controller, std::string_view workspace_id) {
  fs::path own = own_group(controller);
  if (own.empty()) return {};
  return own / fmt::format("berth-{}", workspace_id);
}

bool write_file(const fs::path& file, const std::string& value) {
  std::ofstream out(file);
  out << value;
  out.flush();
  return static_cast<bool>(out);
}

std::vector<int> pids_in(const fs::path& group) {
  std::vector<int> pids;
  std::ifstream in(group / "cgroup.procs");
  int pid = 0;
  while (in >> pid) pids.push_back(pid);
  return pids;
}

}  // namespace

Result<std::vector<std::string>> create_workspace_cgroups(std::string_view workspace_id,
                                                          const CgroupLimits& limits) {
  if (::geteuid() != 0) {
    return Error::failed_precondition(
        "the server does not run as root, so it cannot give workspaces control groups");
  }
  std::vector<std::string> procs;
  for (const char* controller : kControllers) {
    fs::path group = group_of(controller, workspace_id);
    if (group.empty()) {
      return Error::failed_precondition(
          fmt::format("this host has no cgroup v1 {} hierarchy", controller));
    }
    std::error_code ec;
    fs::create_directories(group, ec);
    if (ec) {
      return Error::failed_precondition(
          fmt::format("cannot create control group {}: {}", group.string(), ec.message()));
    }
    bool ok = true;
    if (std::string_view(controller) == "memory") {
      ok = write_file(group / "memory.limit_in_bytes", std::to_string(limits.memory_bytes));
      // Swap counts too where the kernel accounts it (the file is absent otherwise).
      if (fs::exists(group / "memory.memsw.limit_in_bytes")) {
        (void)write_file(group / "memory.memsw.limit_in_bytes",
                         std::to_string(limits.memory_bytes));
      }
    } else if (std::string_view(controller) == "pids") {
      ok = write_file(group / "pids.max", std::to_string(limits.processes));
    } else {
      const std::int64_t period = 100'000;
      ok =
          write_file(group / "cpu.cfs_period_us", std::to_string(period)) &&
          write_file(group / "cpu.cfs_quota_us",
                     std::to_string(static_cast<std::int64_t>(std::llround(limits.cpus * period))));
    }
    if (!ok) {
      return Error::failed_precondition(
          fmt::format("cannot set the {} limit in {}", controller, group.string()));
    }
    procs.push_back((group / "cgroup.procs").string());
  }
  return procs;
}

void remove_workspace_cgroups(std::string_view workspace_id) {
  for (const char* controller : kControllers) {
    fs::path group = group_of(controller, workspace_id);
    if (group.empty() || !fs::exists(group)) continue;
    // Whatever is left (a process that escaped its session) ends with its workspace.
    for (int round = 0; round < 20 && ::rmdir(group.c_str()) != 0; ++round) {
      for (int pid : pids_in(group)) ::kill(pid, SIGKILL);
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
}

std::int64_t workspace_oom_kills(std::string_view workspace_id) {
  fs::path group = group_of("memory", workspace_id);
  if (group.empty()) return 0;
  std::ifstream in(group / "memory.oom_control");
  std::string key;
  std::int64_t value = 0;
  while (in >> key >> value) {
    if (key == "oom_kill") return value;
  }
  return 0;
}

}  // namespace berth::provisioner
