#include "berth/provisioner/sandbox.hpp"

#include <errno.h>
#include <fcntl.h>
#include <linux/personality.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <mutex>

#include <fmt/format.h>

namespace berth::provisioner {

namespace fs = std::filesystem;

namespace {

// A memfd holding `data`, positioned at its start, inheritable (no CLOEXEC: the caller marks
// it kept and the spawn clears CLOEXEC anyway).
int data_fd(std::string_view name, std::string_view data) {
  int fd = ::memfd_create(std::string(name).c_str(), MFD_CLOEXEC);
  if (fd < 0) return -1;
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n <= 0) {
      ::close(fd);
      return -1;
    }
    done += static_cast<std::size_t>(n);
  }
  ::lseek(fd, 0, SEEK_SET);
  return fd;
}

Result<std::string> build_filter() {
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);  // other architectures: killed
  if (!ctx) return Error::internal("seccomp_init failed");
  struct Release {
    scmp_filter_ctx c;
    ~Release() { seccomp_release(c); }
  } release{ctx};
  int rc = 0;
  auto deny = [&](int err, int nr, std::vector<scmp_arg_cmp> args = {}) {
    if (nr < 0) return;  // not on this architecture
    int r = seccomp_rule_add_array(ctx, SCMP_ACT_ERRNO(err), nr, args.size(), args.data());
    if (r != 0 && r != -EDOM && rc == 0) rc = r;
  };
  // What Docker's default profile refuses: mounts and namespaces, tracing other processes,
  // kernel keyrings, BPF and perf, modules and kexec, clocks, swap, reboot, io_uring.
  for (int nr : {SCMP_SYS(mount),
                 SCMP_SYS(umount),
                 SCMP_SYS(umount2),
                 SCMP_SYS(pivot_root),
                 SCMP_SYS(chroot),
                 SCMP_SYS(unshare),
                 SCMP_SYS(setns),
                 SCMP_SYS(open_tree),
                 SCMP_SYS(move_mount),
                 SCMP_SYS(fsopen),
                 SCMP_SYS(fsconfig),
                 SCMP_SYS(fsmount),
                 SCMP_SYS(fspick),
                 SCMP_SYS(mount_setattr),
                 SCMP_SYS(ptrace),
                 SCMP_SYS(process_vm_readv),
                 SCMP_SYS(process_vm_writev),
                 SCMP_SYS(process_madvise),
                 SCMP_SYS(pidfd_getfd),
                 SCMP_SYS(kcmp),
                 SCMP_SYS(bpf),
                 SCMP_SYS(perf_event_open),
                 SCMP_SYS(userfaultfd),
                 SCMP_SYS(keyctl),
                 SCMP_SYS(add_key),
                 SCMP_SYS(request_key),
                 SCMP_SYS(io_uring_setup),
                 SCMP_SYS(io_uring_enter),
                 SCMP_SYS(io_uring_register),
                 SCMP_SYS(fanotify_init),
                 SCMP_SYS(open_by_handle_at),
                 SCMP_SYS(name_to_handle_at),
                 SCMP_SYS(lookup_dcookie),
                 SCMP_SYS(move_pages),
                 SCMP_SYS(migrate_pages),
                 SCMP_SYS(modify_ldt),
                 SCMP_SYS(uselib),
                 SCMP_SYS(syslog),
                 SCMP_SYS(quotactl),
                 SCMP_SYS(quotactl_fd),
                 SCMP_SYS(ustat),
                 SCMP_SYS(sysfs),
                 SCMP_SYS(_sysctl),
                 SCMP_SYS(vhangup),
                 SCMP_SYS(kexec_load),
                 SCMP_SYS(kexec_file_load),
                 SCMP_SYS(init_module),
                 SCMP_SYS(finit_module),
                 SCMP_SYS(delete_module),
                 SCMP_SYS(create_module),
                 SCMP_SYS(acct),
                 SCMP_SYS(swapon),
                 SCMP_SYS(swapoff),
                 SCMP_SYS(reboot),
                 SCMP_SYS(settimeofday),
                 SCMP_SYS(clock_settime),
                 SCMP_SYS(clock_adjtime),
                 SCMP_SYS(adjtimex),
                 SCMP_SYS(stime),
                 SCMP_SYS(iopl),
                 SCMP_SYS(ioperm)}) {
    deny(EPERM, nr);
  }
  // clone3 passes its flags in a struct a filter cannot read: ENOSYS makes glibc use clone.
  deny(ENOSYS, SCMP_SYS(clone3));
  for (unsigned long f : {CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER,
                          CLONE_NEWPID, CLONE_NEWNET}) {
    deny(EPERM, SCMP_SYS(clone), {SCMP_A0(SCMP_CMP_MASKED_EQ, f, f)});
  }
  for (unsigned long f :
       {READ_IMPLIES_EXEC, MMAP_PAGE_ZERO, ADDR_NO_RANDOMIZE, ADDR_COMPAT_LAYOUT, ADDR_LIMIT_32BIT,
        ADDR_LIMIT_3GB, SHORT_INODE, WHOLE_SECONDS, STICKY_TIMEOUTS, FDPIC_FUNCPTRS}) {
    deny(EPERM, SCMP_SYS(personality), {SCMP_A0(SCMP_CMP_MASKED_EQ, f, f)});
  }
  // Typing into another terminal (CVE-2017-5226); the command is 32-bit in the kernel.
  for (unsigned long cmd :
       {static_cast<unsigned long>(TIOCSTI), static_cast<unsigned long>(TIOCLINUX)}) {
    deny(EPERM, SCMP_SYS(ioctl), {SCMP_A1(SCMP_CMP_MASKED_EQ, 0xFFFFFFFFu, cmd)});
  }
  // Sockets: Unix, IPv4, IPv6 and netlink only (no packet sockets, no vsock to the host).
  for (int family = 0; family < AF_MAX; ++family) {
    if (family == AF_UNIX || family == AF_INET || family == AF_INET6 || family == AF_NETLINK)
      continue;
    deny(EAFNOSUPPORT, SCMP_SYS(socket), {SCMP_A0(SCMP_CMP_EQ, static_cast<scmp_datum_t>(family))});
  }
  deny(EAFNOSUPPORT, SCMP_SYS(socket), {SCMP_A0(SCMP_CMP_GE, static_cast<scmp_datum_t>(AF_MAX))});
  if (rc != 0)
    return Error::internal(fmt::format("seccomp rule not added: {}", std::strerror(-rc)));

  int fd = ::memfd_create("berth-seccomp", MFD_CLOEXEC);
  if (fd < 0) return Error::internal("memfd_create failed");
  if (int r = seccomp_export_bpf(ctx, fd); r != 0) {
    ::close(fd);
    return Error::internal(fmt::format("seccomp_export_bpf failed: {}", std::strerror(-r)));
  }
  std::string bytes;
  ::lseek(fd, 0, SEEK_SET);
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) bytes.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  return bytes;
}

// Merged-/usr systems (Debian 12) have /bin etc. as symlinks into /usr; others are real dirs.
void system_dir(std::vector<std::string>& argv, const std::string& dir) {
  std::error_code ec;
  if (fs::is_symlink(dir, ec)) {
    argv.insert(argv.end(), {"--symlink", fs::read_symlink(dir, ec).string(), dir});
  } else if (fs::is_directory(dir, ec)) {
    argv.insert(argv.end(), {"--ro-bind", dir, dir});
  }
}

// The few /etc files toolchains need; never all of /etc (shadow, keys, the host's config).
constexpr const char* kEtcFiles[] = {"/etc/ld.so.cache",     "/etc/alternatives",  "/etc/ssl/certs",
                                     "/etc/ssl/openssl.cnf", "/etc/nsswitch.conf", "/etc/localtime",
                                     "/etc/ca-certificates", "/etc/bash.bashrc",   "/etc/profile",
                                     "/etc/gitconfig"};

// bubblewrap, from PATH unless BERTH_BWRAP names it (an install elsewhere; tests).
std::string bwrap_program() {
  const char* path = std::getenv("BERTH_BWRAP");
  return path && *path ? path : "bwrap";
}

}  // namespace

PreparedSandbox::PreparedSandbox(PreparedSandbox&& other) noexcept
    : argv(std::move(other.argv)), confine(std::move(other.confine)) {
  other.confine.keep_fds.clear();
}

PreparedSandbox::~PreparedSandbox() {
  for (int fd : confine.keep_fds) ::close(fd);
}

void PreparedSandbox::pass_fd(int fd) { confine.keep_fds.push_back(fd); }

Result<std::string> seccomp_filter_bpf() {
  static std::once_flag once;
  static Result<std::string> filter = Error::internal("not built");
  std::call_once(once, [] { filter = build_filter(); });
  return filter;
}

Result<PreparedSandbox> prepare_sandbox(const SandboxLaunch& launch,
                                        const std::vector<std::string>& command) {
  auto filter = seccomp_filter_bpf();
  if (!filter) return filter.error();
  PreparedSandbox p;
  const std::string inside_uid = std::to_string(kSandboxInsideUid);
  auto add_data = [&](std::string_view name, std::string_view text) -> Result<int> {
    int fd = data_fd(name, text);
    if (fd < 0)
      return Error::internal(fmt::format("cannot create {}: {}", name, std::strerror(errno)));
    p.pass_fd(fd);
    return fd;
  };
  auto seccomp_fd = add_data("berth-seccomp", *filter);
  auto passwd_fd =
      add_data("passwd", fmt::format("berth:x:{0}:{0}:workspace:{1}:/bin/bash\n"
                                     "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
                                     inside_uid, kSandboxHome));
  auto group_fd = add_data("group", fmt::format("berth:x:{}:\nnogroup:x:65534:\n", inside_uid));
  auto hosts_fd =
      add_data("hosts", fmt::format("127.0.0.1 localhost {0}\n::1 localhost {0}\n",
                                    launch.hostname.empty() ? "berth" : launch.hostname));
  for (const auto* r : {&seccomp_fd, &passwd_fd, &group_fd, &hosts_fd}) {
    if (!*r) return r->error();
  }

  std::string inside_dir = std::string(kSandboxHome);
  if (!launch.subdirectory.empty()) inside_dir += "/" + launch.subdirectory;
  auto& a = p.argv;
  a = {bwrap_program(),
       // Namespaces: user (an unprivileged uid, no capabilities, no nested namespaces), pid,
       // network (only lo), ipc, uts, cgroup.
       "--unshare-all", "--unshare-user", "--disable-userns", "--uid", inside_uid, "--gid",
       inside_uid, "--cap-drop", "ALL", "--hostname",
       launch.hostname.empty() ? "berth" : launch.hostname,
       // The filesystem: the system read-only, a fresh /proc, /dev, /tmp and /run.
       "--ro-bind", "/usr", "/usr"};
  for (const char* d : {"/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"}) system_dir(a, d);
  a.insert(a.end(), {"--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--tmpfs", "/run",
                     "--dir", "/var/tmp", "--dir", "/etc"});
  std::error_code ec;
  for (const char* f : kEtcFiles) {
    if (fs::exists(f, ec)) a.insert(a.end(), {"--ro-bind", f, f});
  }
  a.insert(a.end(),
           {"--ro-bind-data", std::to_string(*passwd_fd), "/etc/passwd", "--ro-bind-data",
            std::to_string(*group_fd), "/etc/group", "--ro-bind-data", std::to_string(*hosts_fd),
            "/etc/hosts", "--bind", launch.home.string(), std::string(kSandboxHome), "--ro-bind",
            launch.agent_socket_dir.string(), std::string(kSandboxRun)});
  if (!launch.egress_dir.empty()) {
    a.insert(a.end(), {"--ro-bind", launch.egress_dir.string(), std::string(kSandboxEgressDir)});
  }
  // The agent's executable, published where sandboxes can reach it (sandbox_layout.hpp).
  if (!launch.agent_binary.empty()) {
    a.insert(a.end(), {"--ro-bind", launch.agent_binary.string(), std::string(kSandboxAgent)});
  } else {
    a.insert(a.end(), {"--ro-bind", launch.berth_binary.string(), std::string(kSandboxBerth)});
  }
  a.insert(a.end(), {"--chdir", inside_dir, "--seccomp", std::to_string(*seccomp_fd), "--"});
  a.insert(a.end(), command.begin(), command.end());

  auto& c = p.confine;
  c.cgroup_procs = launch.limits.cgroup_procs;
  c.rlimits.emplace_back(RLIMIT_NOFILE, launch.limits.max_open_files);
  c.rlimits.emplace_back(RLIMIT_CORE, 0);
  if (launch.host_uid) {
    // The agent must survive its workspace's memory limit: the OOM killer then picks the
    // command that grew, not the agent (which sets its commands back to 0).
    c.oom_score_adj = kAgentOomScoreAdj;
    c.uid = *launch.host_uid;
    c.gid = *launch.host_uid;
    // Counted per host uid: with a uid of its own, this is the workspace's process limit.
    c.rlimits.emplace_back(RLIMIT_NPROC, launch.limits.max_processes);
  }
  return p;
}

Status sandbox_support() {
  static std::once_flag once;
  static Status support = Error::internal("not checked");
  std::call_once(once, [] {
    const std::string bwrap = bwrap_program();
    if (std::system((bwrap + " --version >/dev/null 2>&1").c_str()) != 0) {
      support = Error::failed_precondition(
          "bubblewrap (bwrap) is not installed, so workspaces cannot be sandboxed",
          "install the bubblewrap package");
      return;
    }
    // The whole launch, as a workspace would get it, minus the binds of a real workspace.
    std::string cmd =
        bwrap +
        " --unshare-all --unshare-user --disable-userns --uid 1000 --gid 1000 --cap-drop "
        "ALL --ro-bind /usr /usr --symlink usr/lib64 /lib64 --symlink usr/lib /lib --proc /proc "
        "--dev /dev /usr/bin/true >/dev/null 2>&1";
    if (::geteuid() == 0) {
      cmd = fmt::format("setpriv --reuid={0} --regid={0} --clear-groups {1}", kSandboxUidBase, cmd);
    }
    if (std::system(cmd.c_str()) != 0) {
      support = Error::failed_precondition(
          "bubblewrap cannot create a user namespace here, so workspaces cannot be sandboxed",
          "enable unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1)");
      return;
    }
    support = Status{};
  });
  return support;
}

}  // namespace berth::provisioner
