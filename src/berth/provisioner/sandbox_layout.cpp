#include "berth/provisioner/sandbox_layout.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include "berth/core/ids.hpp"

namespace berth::provisioner {

namespace fs = std::filesystem;

namespace {

constexpr auto kPassThrough =
    fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec;  // 0711

// `from` at `to` (replacing what is there): a hard link when the file system allows it,
// else a copy. Either way readable and executable by every user.
Status publish(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  fs::remove(to, ec);
  fs::create_hard_link(from, to, ec);
  if (ec) {
    ec.clear();
    fs::copy_file(from, to, fs::copy_options::overwrite_existing, ec);
    if (ec) {
      return Error::unavailable(fmt::format("cannot publish {} for sandboxes at {}: {}",
                                            from.string(), to.string(), ec.message()),
                                "check that the data directory is writable");
    }
  }
  struct stat st {};
  if (::stat(to.c_str(), &st) == 0 && (st.st_mode & 0005) != 0005) {
    ::chmod(to.c_str(), 0755);
  }
  return {};
}

}  // namespace

fs::path first_closed_ancestor(const fs::path& path) {
  fs::path p = fs::absolute(path).lexically_normal();
  for (fs::path dir = p.parent_path(); !dir.empty(); dir = dir.parent_path()) {
    struct stat st {};
    if (::stat(dir.c_str(), &st) == 0 && (st.st_mode & S_IXOTH) == 0) return dir;
    if (dir == dir.root_path()) break;
  }
  return {};
}

Result<SandboxLayout> prepare_sandbox_layout(const fs::path& data_dir, const fs::path& berth_binary,
                                             const fs::path& agent_binary) {
  SandboxLayout l;
  l.root = data_dir;
  // Only a root server's sandboxes run as other users; otherwise they run as the server's.
  if (::geteuid() == 0) {
    if (auto closed = first_closed_ancestor(data_dir); !closed.empty()) {
      l.root = fs::path("/var/tmp") /
               ("berth-" + sha256_hex(fs::absolute(data_dir).string()).substr(0, 12));
      l.warning = fmt::format(
          "sandbox users cannot pass through {} (above the data directory), so workspaces and "
          "the agent socket live in {}; a data directory under a directory others can pass "
          "through (such as /var/lib/berth) keeps them together",
          closed.string(), l.root.string());
    }
  }
  l.workspaces = l.root / "workspaces";
  l.run = l.root / "run";
  l.egress = l.root / "egress";
  std::error_code ec;
  for (const auto& dir : {l.root, l.workspaces, l.run, l.run / "bin", l.egress}) {
    fs::create_directories(dir, ec);
    if (ec) {
      return Error::unavailable(fmt::format("cannot create {}: {}", dir.string(), ec.message()),
                                "check that the data directory is writable");
    }
    fs::permissions(
        dir, dir == l.run / "bin" ? kPassThrough | fs::perms::others_read : kPassThrough, ec);
  }
  if (!agent_binary.empty()) {
    l.agent_binary = l.run / "bin" / "berth-agent";
    if (auto s = publish(agent_binary, l.agent_binary); !s) return s.error();
    l.berth_binary = berth_binary;
  } else {
    l.berth_binary = l.run / "bin" / "berth";
    if (auto s = publish(berth_binary, l.berth_binary); !s) return s.error();
  }
  return l;
}

}  // namespace berth::provisioner
