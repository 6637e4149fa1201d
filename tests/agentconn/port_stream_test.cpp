#include "berth/agentconn/port_stream.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include "berth/core/port_tunnel.hpp"

namespace berth::agentconn {
namespace {

namespace asio = boost::asio;
namespace tunnel = port_tunnel;

// The agent's side of the wire, as frames: what the stream sent it.
class RecordingChannel final : public MessageChannel {
 public:
  asio::awaitable<std::optional<ChannelMessage>> read() override { co_return std::nullopt; }
  bool send(std::string message) override {
    sent.push_back({std::move(message), false});
    return true;
  }
  bool send_binary(std::string message) override {
    sent.push_back({std::move(message), true});
    return true;
  }
  void close() override {}
  // Credit granted back to the agent, in bytes.
  std::size_t credit() const {
    std::size_t total = 0;
    for (const auto& m : sent) {
      auto f = tunnel::decode(m.data);
      if (f && f->op == tunnel::Op::credit) total += f->credit;
    }
    return total;
  }
  std::vector<ChannelMessage> sent;
};

asio::awaitable<void> read_all(PortStream& stream, std::vector<std::size_t>& sizes) {
  while (auto chunk = co_await stream.read()) {
    if (chunk->empty()) break;
    sizes.push_back(chunk->size());
  }
}

// Everything the stream holds, read to the end of what was received (then eof): chunk sizes.
std::vector<std::size_t> drain(asio::io_context& io, PortStream& stream) {
  std::vector<std::size_t> sizes;
  auto done = asio::co_spawn(io, read_all(stream, sizes), asio::use_future);
  io.run();
  io.restart();
  done.get();
  return sizes;
}

tunnel::Chunk data(std::uint32_t stream, std::size_t n) {
  std::string frame = tunnel::encode_data(stream, std::string(n, 'x'));
  return tunnel::Chunk{std::move(frame), tunnel::kHeaderSize};
}

// An app in the workspace writing a byte at a time: its one-byte frames are held as a few
// chunks (a window's worth would otherwise be two million strings per stream), and every byte
// is credited back once read.
TEST(PortStream, TinyFramesAreHeldAsFewChunks) {
  asio::io_context io;
  RecordingChannel channel;
  PortStream stream(io.get_executor(), &channel, 7);
  stream.on_opened();
  constexpr std::size_t kBytes = tunnel::kWindow / 8;
  for (std::size_t i = 0; i < kBytes; ++i) ASSERT_TRUE(stream.on_data(data(7, 1)));
  stream.on_eof();
  auto sizes = drain(io, stream);
  EXPECT_LE(sizes.size(), kBytes / (64 * 1024) + 1);
  std::size_t total = 0;
  for (auto n : sizes) total += n;
  EXPECT_EQ(total, kBytes);
  EXPECT_EQ(channel.credit(), kBytes);
}

// Full frames are passed on as they came (the payload is not copied into another chunk).
TEST(PortStream, FullFramesStayWhole) {
  asio::io_context io;
  RecordingChannel channel;
  PortStream stream(io.get_executor(), &channel, 7);
  stream.on_opened();
  ASSERT_TRUE(stream.on_data(data(7, 10)));
  ASSERT_TRUE(stream.on_data(data(7, tunnel::kMaxData)));
  ASSERT_TRUE(stream.on_data(data(7, tunnel::kMaxData)));
  ASSERT_TRUE(stream.on_data(data(7, 5)));
  stream.on_eof();
  EXPECT_EQ(drain(io, stream),
            (std::vector<std::size_t>{10, tunnel::kMaxData, tunnel::kMaxData, 5}));
}

// Past the window is a protocol error: the stream ends and says why.
TEST(PortStream, DataPastTheWindowEndsTheStream) {
  asio::io_context io;
  RecordingChannel channel;
  PortStream stream(io.get_executor(), &channel, 7);
  stream.on_opened();
  for (std::size_t i = 0; i < tunnel::kWindow / tunnel::kMaxData; ++i) {
    ASSERT_TRUE(stream.on_data(data(7, tunnel::kMaxData)));
  }
  EXPECT_FALSE(stream.on_data(data(7, 1)));
  EXPECT_TRUE(stream.over());
  EXPECT_EQ(stream.reason(), "the agent sent past its window");
  auto last = tunnel::decode(channel.sent.back().data);
  ASSERT_TRUE(last);
  EXPECT_EQ(last->op, tunnel::Op::close);
}

}  // namespace
}  // namespace berth::agentconn
