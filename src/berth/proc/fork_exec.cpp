#include "berth/proc/fork_exec.hpp"

#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace berth::proc::detail {

namespace {

// What the child reports when a step fails: the step and errno.
enum class Step : int { cgroup = 1, rlimit, setgroups, setgid, setuid, stdio, chdir, fds, exec };

const char* step_text(Step s) {
  switch (s) {
    case Step::cgroup:
      return "join its control group";
    case Step::rlimit:
      return "set a resource limit";
    case Step::setgroups:
      return "drop supplementary groups";
    case Step::setgid:
      return "change group";
    case Step::setuid:
      return "change user";
    case Step::stdio:
      return "set up standard input and output";
    case Step::chdir:
      return "enter its directory";
    case Step::fds:
      return "pass descriptors";
    case Step::exec:
      return "execute";
  }
  return "start";
}

// Only async-signal-safe calls from here on: the parent may have other threads.
[[noreturn]] void child_fail(int report_fd, Step step) {
  int msg[2] = {static_cast<int>(step), errno};
  (void)!::write(report_fd, msg, sizeof msg);
  _exit(127);
}

// Decimal digits of n into buf (no allocation); returns the length.
int format_pid(char* buf, long n) {
  char tmp[24];
  int len = 0;
  do {
    tmp[len++] = static_cast<char>('0' + n % 10);
    n /= 10;
  } while (n > 0);
  for (int i = 0; i < len; ++i) buf[i] = tmp[len - 1 - i];
  return len;
}

[[noreturn]] void run_child(const std::string& path, char* const argv[], char* const envp[],
                            const std::string& cwd, ChildStdio stdio, const Confinement& c,
                            int report_fd) {
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int sig : {SIGPIPE, SIGTERM, SIGINT, SIGCHLD, SIGHUP}) ::signal(sig, SIG_DFL);
  ::setsid();

  if (c.oom_score_adj) {
    char text[16];
    int n = 0;
    long v = *c.oom_score_adj;
    if (v < 0) {
      text[n++] = '-';
      v = -v;
    }
    n += format_pid(text + n, v);
    int fd = ::open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
      (void)!::write(fd, text, static_cast<std::size_t>(n));
      ::close(fd);
    }
  }
  char pid_text[24];
  int pid_len = format_pid(pid_text, static_cast<long>(::getpid()));
  for (const auto& file : c.cgroup_procs) {
    int fd = ::open(file.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0 || ::write(fd, pid_text, pid_len) != pid_len) child_fail(report_fd, Step::cgroup);
    ::close(fd);
  }
  for (const auto& [resource, value] : c.rlimits) {
    rlimit limit{static_cast<rlim_t>(value), static_cast<rlim_t>(value)};
    if (::setrlimit(resource, &limit) != 0) child_fail(report_fd, Step::rlimit);
  }
  if (c.gid) {
    if (::setgroups(0, nullptr) != 0) child_fail(report_fd, Step::setgroups);
    if (::setresgid(*c.gid, *c.gid, *c.gid) != 0) child_fail(report_fd, Step::setgid);
  }
  if (c.uid && ::setresuid(*c.uid, *c.uid, *c.uid) != 0) child_fail(report_fd, Step::setuid);

  // Standard streams: dup2 clears CLOEXEC on the copies.
  int fds[3] = {stdio.in, stdio.out, stdio.err};
  for (int i = 0; i < 3; ++i) {
    if (::dup2(fds[i], i) < 0) child_fail(report_fd, Step::stdio);
  }
  if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) child_fail(report_fd, Step::chdir);
  // Nothing else passes to the program but the descriptors asked for.
  if (::syscall(SYS_close_range, 3u, ~0u, CLOSE_RANGE_CLOEXEC) != 0) {
    child_fail(report_fd, Step::fds);
  }
  for (int fd : c.keep_fds) {
    if (::fcntl(fd, F_SETFD, 0) != 0) child_fail(report_fd, Step::fds);
  }
  ::execve(path.c_str(), argv, envp);
  child_fail(report_fd, Step::exec);
}

}  // namespace

std::string resolve_program(const std::string& program, const std::string& path_var) {
  if (program.find('/') != std::string::npos) return program;
  std::size_t start = 0;
  while (start <= path_var.size()) {
    auto colon = path_var.find(':', start);
    std::string dir =
        path_var.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
    if (!dir.empty()) {
      std::string candidate = dir;
      candidate += '/';
      candidate += program;
      if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    }
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  return program;
}

int fork_exec(const std::string& path, char* const argv[], char* const envp[],
              const std::string& cwd, ChildStdio stdio, const Confinement& confine,
              std::string& error) {
  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0) {
    error = fmt::format("cannot create a pipe: {}", std::strerror(errno));
    return -1;
  }
  pid_t pid = ::fork();
  if (pid < 0) {
    error = fmt::format("cannot fork: {}", std::strerror(errno));
    ::close(report[0]);
    ::close(report[1]);
    return -1;
  }
  if (pid == 0) {
    ::close(report[0]);
    run_child(path, argv, envp, cwd, stdio, confine, report[1]);
  }
  ::close(report[1]);
  int msg[2] = {0, 0};
  ssize_t n;
  do {
    n = ::read(report[0], msg, sizeof msg);
  } while (n < 0 && errno == EINTR);
  ::close(report[0]);
  if (n == static_cast<ssize_t>(sizeof msg)) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    error = fmt::format("cannot {} {}: {}", step_text(static_cast<Step>(msg[0])), path,
                        std::strerror(msg[1]));
    return -1;
  }
  return pid;  // exec succeeded: the report pipe closed without a word
}

}  // namespace berth::proc::detail
