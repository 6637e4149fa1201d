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

}  // namespace berth::cli
