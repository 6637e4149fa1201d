#include "berth/net/netns.hpp"

#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include <fmt/format.h>

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77  // Linux 6.5; Debian 12's headers predate it
#endif

namespace berth::net {

UniqueFd::~UniqueFd() {
  if (fd_ >= 0) ::close(fd_);
}

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

Result<UniqueFd> peer_pidfd(int unix_socket) {
  int pidfd = -1;
  socklen_t len = sizeof(pidfd);
  if (::getsockopt(unix_socket, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len) != 0 || pidfd < 0) {
    return Error::unavailable(
        fmt::format("cannot tell the process at the other end: {}", std::strerror(errno)));
  }
  return UniqueFd(pidfd);
}

Result<UniqueFd> tcp_socket_in_netns_of(int pidfd, int family) {
  int fd = -1;
  int setns_errno = 0;
  int socket_errno = 0;
  // The thread enters the namespace and ends there; its socket stays in it.
  std::thread maker([&] {
    if (::setns(pidfd, CLONE_NEWNET) != 0) {
      setns_errno = errno;
      return;
    }
    fd = ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) socket_errno = errno;
  });
  maker.join();
  if (setns_errno == EPERM) {
    return Error::permission_denied(
        "cannot enter the workspace's network namespace: the server lacks CAP_SYS_ADMIN");
  }
  if (setns_errno != 0) {
    return Error::unavailable(fmt::format("cannot enter the workspace's network namespace: {}",
                                          std::strerror(setns_errno)));
  }
  if (fd < 0) {
    return Error::unavailable(
        fmt::format("cannot make a socket in the workspace's network "
                    "namespace: {}",
                    std::strerror(socket_errno)));
  }
  return UniqueFd(fd);
}

}  // namespace berth::net
