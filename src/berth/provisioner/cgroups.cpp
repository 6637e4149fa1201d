#include "berth/provisioner/cgroups.hpp"

#include <signal.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <mutex>

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

constexpr std::string_view kV2Root = "/sys/fs/cgroup";
constexpr std::string_view kServerLeaf = "berth-server";

std::string workspace_group_name(std::string_view workspace_id) {
  return fmt::format("berth-{}", workspace_id);
}

bool write_file(const fs::path& file, const std::string& value) {
  std::ofstream out(file);
  out << value;
  out.flush();
  return static_cast<bool>(out);
}

std::string read_text(const fs::path& file) {
  std::ifstream in(file);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<int> pids_in(const fs::path& group) {
  std::vector<int> pids;
  std::ifstream in(group / "cgroup.procs");
  int pid = 0;
  while (in >> pid) pids.push_back(pid);
  return pids;
}

bool has_word(const std::string& list, std::string_view word) {
  std::stringstream words(list);
  std::string w;
  while (words >> w) {
    if (w == word) return true;
  }
  return false;
}

// Which hierarchy this host gives the server, decided once.
struct Hierarchy {
  enum class Kind { none, v1, v2 } kind = Kind::none;
  fs::path v2_parent;  // v2: where workspace groups go
  std::string why_not;
};

const Hierarchy& hierarchy() {
  static std::once_flag once;
  static Hierarchy h;
  std::call_once(once, [] {
    if (!own_group("memory").empty()) {
      h.kind = ::geteuid() == 0 ? Hierarchy::Kind::v1 : Hierarchy::Kind::none;
      h.why_not = "the server does not run as root, so it cannot make cgroup v1 groups";
      return;
    }
    std::string path = unified_cgroup_path(read_text("/proc/self/cgroup"));
    std::error_code ec;
    if (path.empty() || !fs::exists(fs::path(kV2Root) / "cgroup.controllers", ec)) {
      h.why_not = "this host has neither cgroup v1 memory groups nor a cgroup v2 hierarchy";
      return;
    }
    fs::path own = fs::path(kV2Root) / fs::path(path).relative_path();
    // Already prepared by an earlier server of this process's lineage (a restart in place).
    if (own.filename() == kServerLeaf) own = own.parent_path();
    auto ready = prepare_cgroup_v2_parent(own, path == "/");
    if (!ready) {
      h.why_not = ready.error().message;
      return;
    }
    h.kind = Hierarchy::Kind::v2;
    h.v2_parent = own;
  });
  return h;
}

// The workspace's group directories (one per v1 controller, or the one v2 group).
std::vector<fs::path> groups_of(std::string_view workspace_id) {
  const auto& h = hierarchy();
  std::vector<fs::path> out;
  if (h.kind == Hierarchy::Kind::v2) {
    out.push_back(h.v2_parent / workspace_group_name(workspace_id));
  } else if (h.kind == Hierarchy::Kind::v1) {
    for (const char* controller : kControllers) {
      fs::path own = own_group(controller);
      if (!own.empty()) out.push_back(own / workspace_group_name(workspace_id));
    }
  }
  return out;
}

Result<std::vector<std::string>> create_v1(std::string_view workspace_id,
                                           const CgroupLimits& limits) {
  std::vector<std::string> procs;
  for (const char* controller : kControllers) {
    fs::path own = own_group(controller);
    if (own.empty()) {
      return Error::failed_precondition(
          fmt::format("this host has no cgroup v1 {} hierarchy", controller));
    }
    fs::path group = own / workspace_group_name(workspace_id);
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

Result<std::vector<std::string>> create_v2(const fs::path& parent, std::string_view workspace_id,
                                           const CgroupLimits& limits) {
  fs::path group = parent / workspace_group_name(workspace_id);
  std::error_code ec;
  fs::create_directories(group, ec);
  if (ec) {
    return Error::failed_precondition(
        fmt::format("cannot create control group {}: {}", group.string(), ec.message()));
  }
  for (const auto& [file, value] : cgroup_v2_limit_files(limits)) {
    // memory.swap.max is absent where swap is not accounted; the others must take.
    if (file == "memory.swap.max" && !fs::exists(group / file)) continue;
    if (!write_file(group / file, value)) {
      return Error::failed_precondition(fmt::format("cannot set {} in {}", file, group.string()));
    }
  }
  return std::vector<std::string>{(group / "cgroup.procs").string()};
}

}  // namespace

std::vector<std::pair<std::string, std::string>> cgroup_v2_limit_files(const CgroupLimits& limits) {
  const std::int64_t period = 100'000;
  const auto quota = static_cast<std::int64_t>(std::llround(limits.cpus * period));
  return {{"memory.max", std::to_string(limits.memory_bytes)},
          {"memory.swap.max", "0"},
          {"pids.max", std::to_string(limits.processes)},
          {"cpu.max", fmt::format("{} {}", quota, period)}};
}

std::string unified_cgroup_path(std::string_view proc_self_cgroup) {
  std::size_t pos = 0;
  while (pos < proc_self_cgroup.size()) {
    std::size_t end = proc_self_cgroup.find('\n', pos);
    if (end == std::string_view::npos) end = proc_self_cgroup.size();
    std::string_view line = proc_self_cgroup.substr(pos, end - pos);
    if (line.starts_with("0::")) return std::string(line.substr(3));
    pos = end + 1;
  }
  return "";
}

Status prepare_cgroup_v2_parent(const fs::path& group, bool is_root) {
  const std::string available = read_text(group / "cgroup.controllers");
  for (const char* controller : kControllers) {
    if (!has_word(available, controller)) {
      return Error::failed_precondition(fmt::format(
          "the server's control group {} offers no {} controller (under systemd, run Berth "
          "as a service with Delegate=yes)",
          group.string(), controller));
    }
  }
  const std::string enabled = read_text(group / "cgroup.subtree_control");
  std::string wanted;
  for (const char* controller : kControllers) {
    if (!has_word(enabled, controller)) wanted += fmt::format("+{} ", controller);
  }
  if (wanted.empty()) return Status{};
  if (!is_root) {
    // A v2 group with processes cannot enable controllers for its children: move them all
    // (the server, and what shares its group) into a leaf first.
    fs::path leaf = group / std::string(kServerLeaf);
    std::error_code ec;
    fs::create_directories(leaf, ec);
    if (ec) {
      return Error::failed_precondition(
          fmt::format("cannot create control group {}: {} (under systemd, run Berth as a "
                      "service with Delegate=yes)",
                      leaf.string(), ec.message()));
    }
    for (int pid : pids_in(group)) {
      if (!write_file(leaf / "cgroup.procs", std::to_string(pid))) {
        return Error::failed_precondition(
            fmt::format("cannot move process {} into {}", pid, leaf.string()));
      }
    }
  }
  wanted.pop_back();
  if (!write_file(group / "cgroup.subtree_control", wanted)) {
    return Error::failed_precondition(
        fmt::format("cannot enable {} for the children of {}", wanted, group.string()));
  }
  return Status{};
}

Result<std::vector<std::string>> create_workspace_cgroups(std::string_view workspace_id,
                                                          const CgroupLimits& limits) {
  const auto& h = hierarchy();
  switch (h.kind) {
    case Hierarchy::Kind::v1:
      return create_v1(workspace_id, limits);
    case Hierarchy::Kind::v2:
      return create_v2(h.v2_parent, workspace_id, limits);
    case Hierarchy::Kind::none:
      break;
  }
  return Error::failed_precondition(h.why_not);
}

std::string_view cgroup_version() {
  switch (hierarchy().kind) {
    case Hierarchy::Kind::v1:
      return "v1";
    case Hierarchy::Kind::v2:
      return "v2";
    case Hierarchy::Kind::none:
      break;
  }
  return "";
}

void remove_workspace_cgroups(std::string_view workspace_id) {
  for (const fs::path& group : groups_of(workspace_id)) {
    std::error_code ec;
    if (!fs::exists(group, ec)) continue;
    // Whatever is left (a process that escaped its session) ends with its workspace.
    if (fs::exists(group / "cgroup.kill", ec)) (void)write_file(group / "cgroup.kill", "1");
    for (int round = 0; round < 20 && ::rmdir(group.c_str()) != 0; ++round) {
      for (int pid : pids_in(group)) ::kill(pid, SIGKILL);
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
}

std::int64_t workspace_oom_kills(std::string_view workspace_id) {
  for (const fs::path& group : groups_of(workspace_id)) {
    for (const char* file : {"memory.oom_control", "memory.events"}) {
      std::ifstream in(group / file);
      std::string key;
      std::int64_t value = 0;
      while (in >> key >> value) {
        if (key == "oom_kill") return value;
      }
    }
  }
  return 0;
}

}  // namespace berth::provisioner
