// Sockets in another process's network namespace (net/netns.hpp), with real namespaces: a
// child process in a network namespace of its own listens on its loopback; a socket made from
// its pidfd reaches that listener and nothing on the host's loopback. Needs root (CI runs as
// root; the server only uses this as root).

#include "berth/net/netns.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

namespace berth::net {
namespace {

int pidfd_open(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

// A listening socket on 127.0.0.1 (port chosen by the kernel) in the caller's namespace.
int listen_loopback(std::uint16_t& port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, 4) != 0)
    return -1;
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  port = ntohs(a.sin_port);
  return fd;
}

// Connects the non-blocking socket `fd` to 127.0.0.1:port; 0 or the errno.
int connect_loopback(int fd, std::uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) return 0;
  if (errno != EINPROGRESS) return errno;
  pollfd p{fd, POLLOUT, 0};
  if (::poll(&p, 1, 5000) != 1) return ETIMEDOUT;
  int err = 0;
  socklen_t len = sizeof err;
  ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
  return err;
}

std::string read_all(int fd) {
  std::string out;
  char buf[256];
  pollfd p{fd, POLLIN, 0};
  while (::poll(&p, 1, 5000) == 1) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

// A child in a new network namespace with its loopback up, listening on 127.0.0.1; it answers
// one connection with "inside" and exits.
struct NamespacedChild {
  pid_t pid = -1;
  std::uint16_t port = 0;

  bool start() {
    int report[2];
    if (::pipe(report) != 0) return false;
    pid = ::fork();
    if (pid == 0) {
      ::close(report[0]);
      std::uint16_t p = 0;
      int s = -1;
      if (::unshare(CLONE_NEWNET) == 0) {
        int ctl = ::socket(AF_INET, SOCK_DGRAM, 0);
        ifreq ifr{};
        std::strcpy(ifr.ifr_name, "lo");
        if (::ioctl(ctl, SIOCGIFFLAGS, &ifr) == 0) {
          ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
          ::ioctl(ctl, SIOCSIFFLAGS, &ifr);
        }
        s = listen_loopback(p);
      }
      if (::write(report[1], &p, sizeof p) != sizeof p || s < 0) ::_exit(1);
      int c = ::accept(s, nullptr, nullptr);
      if (c >= 0 && ::write(c, "inside", 6) == 6) ::close(c);
      ::_exit(0);
    }
    ::close(report[1]);
    bool ok = ::read(report[0], &port, sizeof port) == sizeof port && port != 0;
    ::close(report[0]);
    return ok;
  }
  ~NamespacedChild() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  }
};

class Netns : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "entering namespaces needs root";
  }
};

TEST_F(Netns, SocketReachesTheChildsLoopbackAndNotTheHosts) {
  NamespacedChild child;
  ASSERT_TRUE(child.start()) << "could not make a network namespace";
  UniqueFd pidfd(pidfd_open(child.pid));
  ASSERT_TRUE(pidfd);

  // The host's loopback has a listener on its own port; the child's namespace does not.
  std::uint16_t host_port = 0;
  UniqueFd host(listen_loopback(host_port));
  ASSERT_TRUE(host);
  auto other = tcp_socket_in_netns_of(pidfd.get(), AF_INET);
  ASSERT_TRUE(other) << other.error().message;
  EXPECT_EQ(connect_loopback(other->get(), host_port), ECONNREFUSED);

  auto s = tcp_socket_in_netns_of(pidfd.get(), AF_INET);
  ASSERT_TRUE(s) << s.error().message;
  ASSERT_EQ(connect_loopback(s->get(), child.port), 0);
  EXPECT_EQ(read_all(s->get()), "inside");
}

TEST_F(Netns, ThisProcessNamespaceReachesTheHostsLoopback) {
  UniqueFd self(pidfd_open(::getpid()));
  std::uint16_t port = 0;
  UniqueFd listener(listen_loopback(port));
  ASSERT_TRUE(listener);
  auto s = tcp_socket_in_netns_of(self.get(), AF_INET);
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(connect_loopback(s->get(), port), 0);
}

TEST_F(Netns, AnEndedProcessHasNoNamespaceToEnter) {
  pid_t pid = ::fork();
  if (pid == 0) ::_exit(0);
  UniqueFd pidfd(pidfd_open(pid));
  ASSERT_TRUE(pidfd);
  ::waitpid(pid, nullptr, 0);
  auto s = tcp_socket_in_netns_of(pidfd.get(), AF_INET);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::unavailable);
  EXPECT_NE(s.error().message.find("cannot enter the workspace's network namespace"),
            std::string::npos)
      << s.error().message;
}

TEST(PeerPidfd, NamesTheProcessThatConnected) {
  int pair[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
  UniqueFd a(pair[0]);
  UniqueFd b(pair[1]);
  auto pidfd = peer_pidfd(a.get());
  ASSERT_TRUE(pidfd) << pidfd.error().message;
  std::ifstream info("/proc/self/fdinfo/" + std::to_string(pidfd->get()));
  std::string line;
  std::string pid_line;
  while (std::getline(info, line)) {
    if (line.starts_with("Pid:")) pid_line = line;
  }
  EXPECT_EQ(pid_line, "Pid:\t" + std::to_string(::getpid()));
}

TEST(PeerPidfd, ATcpSocketHasNone) {
  UniqueFd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  auto pidfd = peer_pidfd(s.get());
  ASSERT_FALSE(pidfd);
  EXPECT_EQ(pidfd.error().code, ErrorCode::unavailable);
}

TEST(UniqueFd, ClosesOnceAndMoves) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  ::close(fds[1]);
  UniqueFd a(fds[0]);
  UniqueFd b(std::move(a));
  EXPECT_FALSE(a);
  EXPECT_EQ(b.get(), fds[0]);
  b = UniqueFd();
  EXPECT_EQ(::fcntl(fds[0], F_GETFD), -1);
  EXPECT_EQ(errno, EBADF);
}

}  // namespace
}  // namespace berth::net
