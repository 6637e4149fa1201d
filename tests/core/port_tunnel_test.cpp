#include "berth/core/port_tunnel.hpp"

#include <gtest/gtest.h>

namespace berth::port_tunnel {
namespace {

TEST(PortTunnel, FramesRoundTrip) {
  auto open = decode(encode_open(7, 8080));
  ASSERT_TRUE(open);
  EXPECT_EQ(open->stream, 7u);
  EXPECT_EQ(open->op, Op::open);
  EXPECT_EQ(open->port, 8080);
  const std::string data_bytes = encode_data(0xfffffffe, "bytes\0here");
  auto data = decode(data_bytes);
  ASSERT_TRUE(data);
  EXPECT_EQ(data->stream, 0xfffffffeu);
  EXPECT_EQ(data->payload, "bytes");
  auto credit = decode(encode_credit(3, 65536));
  ASSERT_TRUE(credit);
  EXPECT_EQ(credit->credit, 65536u);
  const std::string close_bytes = encode_close(3, "nothing listens");
  auto close = decode(close_bytes);
  ASSERT_TRUE(close);
  EXPECT_EQ(close->payload, "nothing listens");
  EXPECT_EQ(decode(encode_eof(9))->op, Op::eof);
  EXPECT_EQ(decode(encode_opened(9))->op, Op::opened);
  EXPECT_EQ(encode_close(1, std::string(2000, 'x')).size(), kHeaderSize + kMaxReason);
}

// A data frame built in place (the agent reads the socket into the frame) is the frame
// encode_data makes, and a Chunk over a received frame is its payload.
TEST(PortTunnel, DataFramesBuiltInPlaceMatchEncoded) {
  const std::string payload(kMaxData, 'p');
  std::string frame(kHeaderSize, '\0');
  frame += payload;
  stamp_data_header(frame, 0x01020304);
  EXPECT_EQ(frame, encode_data(0x01020304, payload));
  auto decoded = decode(frame);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->op, Op::data);
  EXPECT_EQ(decoded->payload.size(), kMaxData);

  Chunk chunk{std::move(frame), kHeaderSize};
  EXPECT_EQ(chunk.size(), kMaxData);
  EXPECT_EQ(chunk.bytes(), payload);
  EXPECT_FALSE(chunk.empty());
  EXPECT_TRUE(Chunk{}.empty());
}

TEST(PortTunnel, MalformedFramesSayWhatIsWrong) {
  EXPECT_EQ(decode("abc").error().message,
            "tunnel frame of 3 bytes is shorter than its 5-byte header");
  EXPECT_EQ(decode(std::string("\0\0\0\0\3x", 6)).error().message, "tunnel frame names stream 0");
  EXPECT_EQ(decode(std::string("\0\0\0\1\x09", 5)).error().message,
            "tunnel frame has unknown op 9");
  EXPECT_EQ(decode(std::string("\0\0\0\1\1\0\0", 7)).error().message,
            "tunnel open frame names port 0");
  EXPECT_EQ(decode(std::string("\0\0\0\1\3", 5)).error().message,
            "tunnel data frame has a payload of 0 bytes");
  EXPECT_FALSE(decode(std::string("\0\0\0\1\3", 5) + std::string(kMaxData + 1, 'x')));
  EXPECT_EQ(decode(encode_credit(1, 0)).error().message,
            "tunnel credit frame grants 0 bytes (1 to 2097152 allowed)");
  EXPECT_FALSE(decode(encode_credit(1, kWindow + 1)));
  EXPECT_FALSE(decode(std::string("\0\0\0\1\2x", 6)));  // opened with a payload
}

}  // namespace
}  // namespace berth::port_tunnel
