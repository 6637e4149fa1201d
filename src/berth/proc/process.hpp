#pragma once
// Child processes for the provisioner and the agent: spawn in a new session (so the whole tree
// can be signalled), read output through pipes, and await exit through a pidfd, all as Asio
// coroutines. Linux only (pidfd_open, posix_spawn with POSIX_SPAWN_SETSID).

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "berth/core/result.hpp"

namespace berth::proc {

using Environment = std::map<std::string, std::string>;

// The current process environment as a map (a base for children's environments).
Environment current_environment();

enum class Output {
  discard,  // stdout and stderr go to /dev/null
  inherit,  // the child writes where we write
  pipes,    // stdout and stderr are readable through read_output()
};

// What the child takes on between fork and exec, for sandboxes: another user, resource
// limits, control groups, and descriptors it inherits. Every step that fails stops the spawn
// with the step's error (the child never runs with less confinement than asked for).
struct Confinement {
  // Both set: setgroups(0), setresgid(gid), setresuid(uid). Needs root.
  std::optional<unsigned> uid;
  std::optional<unsigned> gid;
  std::vector<std::pair<int, std::uint64_t>> rlimits;  // RLIMIT_* -> soft and hard limit
  std::vector<std::string> cgroup_procs;               // files the child writes its pid to
  std::vector<int> keep_fds;  // descriptors the child keeps at the same numbers
  // Written to /proc/self/oom_score_adj first (best effort). Lower values need root; any
  // process may raise its own.
  std::optional<int> oom_score_adj;
};

struct SpawnOptions {
  std::vector<std::string> argv;  // argv[0] is looked up in PATH when it has no '/'
  Environment env;
  std::string cwd;  // "" = inherit
  Output output = Output::pipes;
  std::string output_file;  // with Output::discard: append stdout and stderr here instead
  std::optional<Confinement> confine;  // set: fork+exec with these steps instead of posix_spawn
};

// A chunk of output from one stream.
struct OutputChunk {
  bool is_stderr = false;
  std::string data;
};

// A running child process. Owned by whoever spawned it; not thread-safe (one executor).
// Destroying a Process neither kills nor waits for the child; call terminate_group() and
// wait() for that. A child that is never awaited is reaped by wait() of a later owner only.
class Process {
 public:
  // Returns unavailable when the program cannot be started (not found, not executable).
  static Result<std::unique_ptr<Process>> spawn(boost::asio::any_io_executor executor,
                                                const SpawnOptions& options);
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  int pid() const { return pid_; }

  // The next chunk from stdout or stderr; nullopt once both reached end of file.
  // Only with Output::pipes.
  boost::asio::awaitable<std::optional<OutputChunk>> read_output();

  // Suspends until the child exits. Returns its exit code, or 128 + signal number.
  boost::asio::awaitable<int> wait();

  // Sends `signal` to the child's whole process group (it leads its own session).
  void signal_group(int signal) const;

  struct Impl;

 private:
  explicit Process(std::unique_ptr<Impl> impl, int pid);
  std::unique_ptr<Impl> impl_;
  int pid_;
};

// Watches a process that is not our child (e.g. an agent started before a server restart).
// Returns true once it has exited, false if `timeout` passed first.
boost::asio::awaitable<bool> await_exit(boost::asio::any_io_executor executor, int pid,
                                        std::chrono::milliseconds timeout);

// True if a process with this pid exists.
bool process_alive(int pid);

// SIGTERM to the process group `pgid`, then SIGKILL after `grace` if anything is left.
boost::asio::awaitable<void> terminate_group(boost::asio::any_io_executor executor, int pgid,
                                             std::chrono::milliseconds grace);

// Splits text into lines as output arrives in chunks; keeps a partial last line until
// more comes or flush() is called.
class LineSplitter {
 public:
  std::vector<std::string> feed(std::string_view chunk);
  std::optional<std::string> flush();

 private:
  std::string partial_;
};

}  // namespace berth::proc
