#include "berth/cli/data_dir.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <fstream>

#include <fmt/format.h>

#include "berth/core/ids.hpp"

namespace berth::cli {

namespace fs = std::filesystem;

Result<std::string> host_identity(const fs::path& file) {
  std::string id;
  std::ifstream(file) >> id;
  if (looks_like_uuid(id)) return id;
  id = new_uuid();
  std::ofstream out(file.string() + ".tmp");
  out << id << "\n";
  out.close();
  std::error_code ec;
  fs::rename(file.string() + ".tmp", file, ec);
  if (!out || ec) {
    return Error::unavailable(fmt::format("cannot write {}", file.string()),
                              "check that the data directory is writable");
  }
  return id;
}

Result<int> lock_data_dir(const fs::path& dir, std::string_view what) {
  fs::path lock = dir / "berth.lock";
  int fd = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Error::unavailable(fmt::format("cannot open {}", lock.string()));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    std::string pid;
    std::ifstream(lock) >> pid;
    ::close(fd);
    return Error::failed_precondition(
        fmt::format("another {} (pid {}) is using {}", what, pid.empty() ? "?" : pid, dir.string()),
        "stop it first, or pass a different --data-dir");
  }
  std::string pid = std::to_string(::getpid()) + "\n";
  (void)::ftruncate(fd, 0);
  (void)::pwrite(fd, pid.data(), pid.size(), 0);
  return fd;
}

Result<fs::path> open_data_dir(const std::string& dir, std::string_view what) {
  std::error_code ec;
  fs::path data = fs::absolute(dir, ec);
  fs::create_directories(data, ec);
  if (ec) {
    return Error::unavailable(
        fmt::format("cannot create data directory {}: {}", data.string(), ec.message()));
  }
  auto lock = lock_data_dir(data, what);
  if (!lock) return lock.error();
  fs::permissions(data, fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec, ec);
  fs::create_directories(data / "logs", ec);
  fs::permissions(data / "logs", fs::perms::owner_all, ec);
  return data;
}

Result<std::vector<egress::Cidr>> parse_egress_allow_nets(const std::vector<std::string>& texts) {
  std::vector<egress::Cidr> nets;
  for (const auto& text : texts) {
    auto net = egress::Cidr::parse(text);
    if (!net) {
      return Error::invalid_argument("invalid --egress-allow-net: " + net.error().message,
                                     "give address ranges such as 10.20.0.0/16");
    }
    nets.push_back(*net);
  }
  return nets;
}

}  // namespace berth::cli
