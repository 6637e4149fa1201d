#pragma once
// The fork+exec path of Process::spawn, for children that must change user, limits or
// control groups before exec (which posix_spawn cannot do). Internal to proc/.

#include <string>

#include "berth/proc/process.hpp"

namespace berth::proc::detail {

struct ChildStdio {
  int in = -1;
  int out = -1;
  int err = -1;
};

// Forks; the child applies `confine`, moves `stdio` to 0-2, starts a new session and execs
// `path` (absolute). Returns the child's pid, or -1 with `error` set to what failed (the
// child's failures are reported through a pipe, so a refused setresuid is an error here).
int fork_exec(const std::string& path, char* const argv[], char* const envp[],
              const std::string& cwd, ChildStdio stdio, const Confinement& confine,
              std::string& error);

// argv[0] as an absolute path: itself when it has a '/', else the first match in `path_var`.
std::string resolve_program(const std::string& program, const std::string& path_var);

}  // namespace berth::proc::detail
