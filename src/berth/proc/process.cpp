#include "berth/proc/process.hpp"

#include "berth/proc/fork_exec.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

extern char** environ;

namespace berth::proc {

namespace asio = boost::asio;
using asio::posix::stream_descriptor;

namespace {

constexpr std::size_t kReadChunk = 16 * 1024;

int pidfd_open(int pid) { return static_cast<int>(syscall(SYS_pidfd_open, pid, 0)); }

std::string errno_text() { return std::strerror(errno); }

std::string where_text(const SpawnOptions& options) {
  return options.cwd.empty() ? "" : fmt::format(" in {}", options.cwd);
}

pid_t spawn_plain(const SpawnOptions& options, char* const argv[], char* const envp[], int out_fd,
                  int err_fd, std::string& failure) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // A new session: the child leads its own process group, so signal_group reaches its tree,
  // and it has no controlling terminal.
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  sigaddset(&defaults, SIGTERM);
  sigaddset(&defaults, SIGINT);
  sigaddset(&defaults, SIGCHLD);
  posix_spawnattr_setsigdefault(&attr, &defaults);

  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  if (options.output == Output::pipes) {
    posix_spawn_file_actions_adddup2(&actions, out_fd, 1);
    posix_spawn_file_actions_adddup2(&actions, err_fd, 2);
  } else if (options.output == Output::discard && !options.output_file.empty()) {
    posix_spawn_file_actions_addopen(&actions, 1, options.output_file.c_str(),
                                     O_WRONLY | O_CREAT | O_APPEND, 0600);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
  } else if (options.output == Output::discard) {
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  }
  if (!options.cwd.empty()) posix_spawn_file_actions_addchdir_np(&actions, options.cwd.c_str());
  // Nothing but stdio passes to the child: Asio opens sockets without O_CLOEXEC, and an agent
  // that inherited the server's listening socket would keep its port busy after a restart.
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, argv[0], &actions, &attr, argv, envp);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    failure = fmt::format("cannot start {}{}: {}", options.argv[0], where_text(options),
                          std::strerror(rc));
    return -1;
  }
  return pid;
}

// The same child, through fork+exec so that it can take on its Confinement first. The
// descriptors are opened here, by the parent, before the child changes user.
pid_t spawn_confined(const SpawnOptions& options, char* const argv[], char* const envp[],
                     int out_fd, int err_fd, std::string& failure) {
  std::vector<int> opened;
  auto open_fd = [&](const char* path, int flags) {
    int fd = ::open(path, flags | O_CLOEXEC, 0600);
    if (fd >= 0) opened.push_back(fd);
    return fd;
  };
  detail::ChildStdio stdio;
  stdio.in = open_fd("/dev/null", O_RDONLY);
  if (options.output == Output::pipes) {
    stdio.out = out_fd;
    stdio.err = err_fd;
  } else if (options.output == Output::discard && !options.output_file.empty()) {
    stdio.out = stdio.err = open_fd(options.output_file.c_str(), O_WRONLY | O_CREAT | O_APPEND);
  } else if (options.output == Output::discard) {
    stdio.out = stdio.err = open_fd("/dev/null", O_WRONLY);
  } else {
    stdio.out = 1;
    stdio.err = 2;
  }
  pid_t pid = -1;
  if (stdio.in < 0 || stdio.out < 0 || stdio.err < 0) {
    failure = fmt::format("cannot open the output of {}: {}", options.argv[0], errno_text());
  } else {
    auto path_it = options.env.find("PATH");
    std::string program = detail::resolve_program(
        options.argv[0], path_it != options.env.end() ? path_it->second : "/usr/bin:/bin");
    pid = detail::fork_exec(program, argv, envp, options.cwd, stdio, *options.confine, failure);
    if (pid < 0) failure += where_text(options);
  }
  for (int fd : opened) ::close(fd);
  return pid;
}

}  // namespace

Environment current_environment() {
  Environment env;
  for (char** e = environ; e && *e; ++e) {
    std::string_view kv(*e);
    auto eq = kv.find('=');
    if (eq == std::string_view::npos) continue;
    env.emplace(std::string(kv.substr(0, eq)), std::string(kv.substr(eq + 1)));
  }
  return env;
}

struct Process::Impl {
  Impl(asio::any_io_executor ex) : pidfd(ex), out(ex), err(ex) {}
  stream_descriptor pidfd;
  stream_descriptor out;
  stream_descriptor err;
  bool out_open = false;
  bool err_open = false;
  bool next_is_err = false;  // alternate which stream we poll first
  std::optional<int> exit_code;
};

Process::Process(std::unique_ptr<Impl> impl, int pid) : impl_(std::move(impl)), pid_(pid) {}
Process::~Process() = default;

Result<std::unique_ptr<Process>> Process::spawn(asio::any_io_executor executor,
                                                const SpawnOptions& options) {
  if (options.argv.empty()) return Error::invalid_argument("spawn: empty command");
  int out_pipe[2] = {-1, -1};
  int err_pipe[2] = {-1, -1};
  auto close_all = [&] {
    for (int fd : {out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1]}) {
      if (fd >= 0) ::close(fd);
    }
  };
  if (options.output == Output::pipes) {
    if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0) {
      close_all();
      return Error::unavailable("spawn: cannot create pipes: " + errno_text());
    }
  }
  std::vector<char*> argv;
  for (const auto& a : options.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<std::string> env_strings;
  env_strings.reserve(options.env.size());
  for (const auto& [k, v] : options.env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);

  pid_t pid = 0;
  std::string failure;
  if (options.confine) {
    pid = spawn_confined(options, argv.data(), envp.data(), out_pipe[1], err_pipe[1], failure);
  } else {
    pid = spawn_plain(options, argv.data(), envp.data(), out_pipe[1], err_pipe[1], failure);
  }
  if (options.output == Output::pipes) {
    ::close(out_pipe[1]);
    ::close(err_pipe[1]);
    out_pipe[1] = err_pipe[1] = -1;
  }
  if (pid <= 0) {
    close_all();
    return Error::unavailable(failure);
  }
  auto impl = std::make_unique<Impl>(executor);
  int pidfd = pidfd_open(pid);
  if (pidfd < 0) {
    close_all();
    return Error::internal("pidfd_open failed: " + errno_text());
  }
  impl->pidfd.assign(pidfd);
  if (options.output == Output::pipes) {
    impl->out.assign(out_pipe[0]);
    impl->err.assign(err_pipe[0]);
    impl->out_open = impl->err_open = true;
  }
  return std::unique_ptr<Process>(new Process(std::move(impl), pid));
}

asio::awaitable<std::optional<OutputChunk>> Process::read_output() {
  using namespace asio::experimental::awaitable_operators;
  auto& s = *impl_;
  while (s.out_open || s.err_open) {
    std::string buf(kReadChunk, '\0');
    boost::system::error_code ec;
    bool is_err = false;
    std::size_t n = 0;
    if (s.out_open && s.err_open) {
      // Wait until either is readable, then read what is there from that one.
      boost::system::error_code e1, e2;
      auto which = co_await (s.out.async_wait(stream_descriptor::wait_read,
                                              asio::redirect_error(asio::use_awaitable, e1)) ||
                             s.err.async_wait(stream_descriptor::wait_read,
                                              asio::redirect_error(asio::use_awaitable, e2)));
      is_err = which.index() == 1;
    } else {
      is_err = s.err_open;
    }
    auto& stream = is_err ? s.err : s.out;
    n = co_await stream.async_read_some(asio::buffer(buf),
                                        asio::redirect_error(asio::use_awaitable, ec));
    if (ec || n == 0) {
      boost::system::error_code ignored;
      stream.close(ignored);
      (is_err ? s.err_open : s.out_open) = false;
      continue;
    }
    buf.resize(n);
    co_return OutputChunk{is_err, std::move(buf)};
  }
  co_return std::nullopt;
}

asio::awaitable<int> Process::wait() {
  if (impl_->exit_code) co_return *impl_->exit_code;
  boost::system::error_code ec;
  co_await impl_->pidfd.async_wait(stream_descriptor::wait_read,
                                   asio::redirect_error(asio::use_awaitable, ec));
  // The executor's thread never blocks here: waitpid only with WNOHANG. A pidfd that reports
  // readiness while its process still runs (seen under load on this kernel: the server then
  // froze in a blocking waitpid) is followed by polling until the process has ended.
  int status = 0;
  pid_t got = waitpid(pid_, &status, WNOHANG);
  if (got == 0 && !ec) {
    spdlog::warn("pidfd woke before its process ended pid={}; polling for its exit", pid_);
    asio::steady_timer timer(impl_->pidfd.get_executor());
    while ((got = waitpid(pid_, &status, WNOHANG)) == 0) {
      timer.expires_after(std::chrono::milliseconds(200));
      co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return -1;  // cancelled: not ended, a later wait() may still see it end
    }
  }
  if (got != pid_) co_return -1;  // cancelled before it ended, or not our child
  int code = -1;
  if (WIFEXITED(status)) code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) code = 128 + WTERMSIG(status);
  impl_->exit_code = code;
  co_return code;
}

void Process::signal_group(int signal) const { ::kill(-pid_, signal); }

bool process_alive(int pid) { return pid > 0 && (::kill(pid, 0) == 0 || errno == EPERM); }

asio::awaitable<bool> await_exit(asio::any_io_executor executor, int pid,
                                 std::chrono::milliseconds timeout) {
  using namespace asio::experimental::awaitable_operators;
  int fd = pidfd_open(pid);
  if (fd < 0) co_return true;  // already gone
  stream_descriptor pidfd(executor, fd);
  asio::steady_timer timer(executor, timeout);
  boost::system::error_code e1, e2;
  auto which = co_await (pidfd.async_wait(stream_descriptor::wait_read,
                                          asio::redirect_error(asio::use_awaitable, e1)) ||
                         timer.async_wait(asio::redirect_error(asio::use_awaitable, e2)));
  if (which.index() == 0) {
    int status = 0;
    waitpid(pid, &status, WNOHANG);  // reap it if it was our child
    co_return true;
  }
  co_return false;
}

asio::awaitable<void> terminate_group(asio::any_io_executor executor, int pgid,
                                      std::chrono::milliseconds grace) {
  if (pgid <= 0) co_return;
  ::kill(-pgid, SIGTERM);
  // (GCC 12 mis-compiles co_await inside an if condition; keep awaits in statements.)
  const bool exited = co_await await_exit(executor, pgid, grace);
  if (!exited) {
    ::kill(-pgid, SIGKILL);
    co_await await_exit(executor, pgid, std::chrono::seconds(5));
  } else {
    ::kill(-pgid, SIGKILL);  // the leader is gone; take any stragglers of its group with it
  }
}

std::vector<std::string> LineSplitter::feed(std::string_view chunk) {
  std::vector<std::string> lines;
  partial_.append(chunk);
  std::size_t start = 0;
  while (true) {
    auto nl = partial_.find('\n', start);
    if (nl == std::string::npos) break;
    std::string line = partial_.substr(start, nl - start);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(std::move(line));
    start = nl + 1;
  }
  partial_.erase(0, start);
  // Never hold an unbounded line: cut very long ones.
  constexpr std::size_t kMaxLine = 64 * 1024;
  if (partial_.size() > kMaxLine) {
    lines.push_back(partial_.substr(0, kMaxLine));
    partial_.erase(0, kMaxLine);
  }
  return lines;
}

std::optional<std::string> LineSplitter::flush() {
  if (partial_.empty()) return std::nullopt;
  std::string out = std::move(partial_);
  partial_.clear();
  return out;
}

}  // namespace berth::proc
