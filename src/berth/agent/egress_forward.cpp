#include "berth/agent/egress_forward.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

namespace berth::agent {

namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;
using tcp = asio::ip::tcp;
using local = asio::local::stream_protocol;
using error_code = boost::system::error_code;

namespace {

constexpr std::size_t kPumpBuffer = std::size_t{64} * 1024;

struct Pair {
  explicit Pair(asio::io_context& io) : inside(io), proxy(io) {}
  tcp::socket inside;
  local::socket proxy;
  int open_directions = 2;
  void close() {
    error_code ec;
    inside.close(ec);
    proxy.close(ec);
  }
};

template <class From, class To>
awaitable<void> pump(std::shared_ptr<Pair> p, From& from, To& to) {
  std::vector<char> bytes(kPumpBuffer);
  error_code ec;
  for (;;) {
    std::size_t n =
        co_await from.async_read_some(asio::buffer(bytes), asio::redirect_error(use_awaitable, ec));
    if (ec) break;
    co_await asio::async_write(to, asio::buffer(bytes.data(), n),
                               asio::redirect_error(use_awaitable, ec));
    if (ec) break;
  }
  error_code ignored;
  if (ec == asio::error::eof) {
    to.shutdown(asio::socket_base::shutdown_send, ignored);
  } else {
    p->close();
  }
  if (--p->open_directions == 0) p->close();
}

awaitable<void> relay(std::shared_ptr<Pair> p, std::string socket_path) {
  error_code ec;
  local::endpoint endpoint(socket_path);
  co_await p->proxy.async_connect(endpoint, asio::redirect_error(use_awaitable, ec));
  if (ec) {
    // The client may be waiting for a CONNECT answer: give it one that says what happened.
    static constexpr std::string_view kBody =
        "berth egress: this workspace's egress proxy is not reachable (is its server "
        "restarting?); retry shortly\n";
    std::string text =
        "HTTP/1.1 502 Berth egress proxy unreachable\r\nContent-Type: text/plain\r\n"
        "Connection: close\r\nContent-Length: " +
        std::to_string(kBody.size()) + "\r\n\r\n" + std::string(kBody);
    co_await asio::async_write(p->inside, asio::buffer(text),
                               asio::redirect_error(use_awaitable, ec));
    p->close();
    co_return;
  }
  p->inside.set_option(tcp::no_delay(true), ec);
  asio::co_spawn(p->inside.get_executor(), pump(p, p->inside, p->proxy), asio::detached);
  asio::co_spawn(p->inside.get_executor(), pump(p, p->proxy, p->inside), asio::detached);
}

awaitable<void> accept_loop(asio::io_context& io, tcp::acceptor& acceptor,
                            std::string socket_path) {
  for (;;) {
    auto p = std::make_shared<Pair>(io);
    error_code ec;
    co_await acceptor.async_accept(p->inside, asio::redirect_error(use_awaitable, ec));
    if (ec) {
      if (ec == asio::error::operation_aborted) co_return;
      continue;
    }
    asio::co_spawn(io, relay(p, socket_path), asio::detached);
  }
}

// Relays until the command (pid `command_pid`, this relay's grandparent) ends: the sandbox's
// init waits for every process in it, so a relay that stayed would keep the sandbox, and the
// build log pipe it holds, open after its command.
[[noreturn]] void serve_forever(int listen_fd, const std::string& socket_path, pid_t command_pid) {
  int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null_fd >= 0) {
    // The command's output goes to build logs and the agent's log: the relay keeps none of
    // it open, so those see their end when the command ends.
    ::dup2(null_fd, 0);
    ::dup2(null_fd, 1);
    ::dup2(null_fd, 2);
  }
  try {
    int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, command_pid, 0));
    if (pidfd < 0) ::_exit(0);  // the command is gone already
    asio::io_context io(1);
    tcp::acceptor acceptor(io, tcp::v4(), listen_fd);
    asio::posix::stream_descriptor command(io, pidfd);
    command.async_wait(asio::posix::stream_descriptor::wait_read,
                       [&io](const error_code&) { io.stop(); });
    asio::co_spawn(io, accept_loop(io, acceptor, socket_path), asio::detached);
    io.run();
  } catch (...) {
  }
  ::_exit(0);
}

}  // namespace

int run_egress_forward(int argc, char** argv, int first) {
  if (argc - first < 4 || std::string_view(argv[first + 2]) != "--") return -1;
  std::string socket_path = argv[first];
  std::string_view port_text = argv[first + 1];
  unsigned port = 0;
  auto [end, perr] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (perr != std::errc{} || end != port_text.data() + port_text.size() || port == 0 ||
      port > 65535) {
    return -1;
  }
  char** command = argv + first + 3;

  // Listen before the command starts, so that its first request finds the relay.
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int one = 1;
  bool listening = fd >= 0 && ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0 &&
                   ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
                   ::listen(fd, 128) == 0;
  if (!listening) {
    std::fprintf(stderr,
                 "berth egress-forward: cannot listen on 127.0.0.1:%u: %s (running "
                 "without egress)\n",
                 port, std::strerror(errno));
  } else {
    // Fork twice: the relay becomes a child of the sandbox's init, not of the command, which
    // then never sees it among its children (a shell's `wait` would wait for it forever).
    const pid_t command_pid = ::getpid();
    pid_t child = ::fork();
    if (child == 0) {
      if (::fork() == 0) serve_forever(fd, socket_path, command_pid);
      ::_exit(0);
    }
    if (child > 0) ::waitpid(child, nullptr, 0);
  }
  if (fd >= 0) ::close(fd);
  ::execvp(command[0], command);
  std::fprintf(stderr, "berth egress-forward: cannot run %s: %s\n", command[0],
               std::strerror(errno));
  return 127;
}

}  // namespace berth::agent
