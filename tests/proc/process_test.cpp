#include "berth/proc/process.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

namespace berth::proc {
namespace {

namespace asio = boost::asio;

// A child sees stdin, stdout and stderr only: no descriptor of the parent's (the server's
// listening socket, the database) leaks into workspaces.
TEST(Process, ChildInheritsOnlyStdio) {
  int leaked = ::open("/dev/null", O_RDONLY);  // no O_CLOEXEC, as Asio's sockets
  ASSERT_GE(leaked, 3);
  asio::io_context io;
  auto run = [&]() -> asio::awaitable<std::string> {
    auto p =
        Process::spawn(io.get_executor(), {.argv = {"/bin/sh", "-c", "ls /proc/$$/fd"}, .env = {}});
    if (!p) co_return "spawn failed: " + p.error().message;
    std::string out;
    while (auto chunk = co_await (*p)->read_output()) {
      if (!chunk->is_stderr) out += chunk->data;
    }
    co_await (*p)->wait();
    co_return out;
  };
  auto f = asio::co_spawn(io, run(), asio::use_future);
  io.run();
  std::string fds = f.get();
  ::close(leaked);
  EXPECT_EQ(fds, "0\n1\n2\n") << "leaked descriptor " << leaked;
}

}  // namespace
}  // namespace berth::proc
