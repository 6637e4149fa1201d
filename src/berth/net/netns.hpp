#pragma once
// Sockets in the network namespace of another process on this host. The preview proxy dials a
// sandboxed workspace's ports with them: the socket is the server's own (no descriptor from
// the workspace is ever used), made in the sandbox's namespace, so it reaches that
// namespace's 127.0.0.1 and nothing of the host's.

#include <utility>

#include "berth/core/result.hpp"

namespace berth::net {

// A file descriptor that closes with it.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd();
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  // Gives up ownership.
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_ = -1;
};

// A pidfd of the process that connected the Unix socket `unix_socket` (SO_PEERPIDFD, Linux
// 6.5): that very process, never another that reused its pid. unavailable when the kernel
// cannot tell (older kernels, a peer that already exited, not a Unix socket).
Result<UniqueFd> peer_pidfd(int unix_socket);

// A new TCP socket (non-blocking, close-on-exec) for `family` (AF_INET or AF_INET6) in the
// network namespace of the process `pidfd` refers to. A socket keeps the namespace it was
// made in: connected from any thread, it reaches that namespace's addresses only. It is made
// on a short-lived thread that enters the namespace and ends, so no thread of the caller ever
// changes namespace. permission_denied without CAP_SYS_ADMIN (a server that is not root);
// unavailable when the process has ended.
Result<UniqueFd> tcp_socket_in_netns_of(int pidfd, int family);

}  // namespace berth::net
