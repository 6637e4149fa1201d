#pragma once
// Port tunnels: TCP connections to a port inside a workspace, carried over its agent's
// WebSocket as binary frames next to the JSON text frames (agent_protocol.hpp). The server
// opens a stream, the agent dials 127.0.0.1:<port> in the workspace (its own network
// namespace when sandboxed) and both sides pump bytes. Preview URLs run on it.
//
// One binary frame: stream id (u32, big-endian) | op (u8) | payload.
//
//   server -> agent  open    u16 port        dial the port; answer opened or close
//   agent -> server  opened  (empty)
//   both             data    bytes           at most kMaxData per frame
//   both             eof     (empty)         the sender will send no more data (half close)
//   both             close   reason (text)   the stream is over; no more frames for it
//   both             credit  u32 bytes       the receiver has passed on this many more bytes
//
// Flow control: each side may have at most kWindow bytes of data unacknowledged on a stream;
// the receiver grants credit as it writes them on. Data past the window is a protocol error
// and ends the stream. Decoding trusts nothing (fuzz target fuzz_port_tunnel).

#include <cstdint>
#include <string>
#include <string_view>

#include "berth/core/result.hpp"

namespace berth::port_tunnel {

enum class Op : std::uint8_t { open = 1, opened = 2, data = 3, eof = 4, close = 5, credit = 6 };

inline constexpr std::size_t kHeaderSize = 5;
inline constexpr std::size_t kMaxData = std::size_t{256} * 1024;
inline constexpr std::size_t kWindow = std::size_t{2} * 1024 * 1024;
inline constexpr std::size_t kMaxReason = 512;
// Open streams per agent connection; more opens are refused.
inline constexpr std::size_t kMaxStreams = 256;

struct Frame {
  std::uint32_t stream = 0;
  Op op = Op::data;
  std::uint16_t port = 0;    // open
  std::uint32_t credit = 0;  // credit
  std::string_view payload;  // data: the bytes; close: the reason (a view into the input)
};

// invalid_argument naming what is wrong: short frames, unknown ops, stream 0, port 0, payload
// sizes that do not fit the op.
Result<Frame> decode(std::string_view bytes);

// Payload bytes kept in the frame they arrived in (at `offset`), so that passing a data
// frame's bytes on never copies them. Empty: no bytes.
struct Chunk {
  std::string frame;
  std::size_t offset = 0;
  std::string_view bytes() const { return std::string_view(frame).substr(offset); }
  std::size_t size() const { return frame.size() - offset; }
  bool empty() const { return size() == 0; }
};

std::string encode_open(std::uint32_t stream, std::uint16_t port);
std::string encode_opened(std::uint32_t stream);
std::string encode_data(std::uint32_t stream, std::string_view bytes);
// A data frame built in place: `frame` holds kHeaderSize bytes of room followed by 1 to
// kMaxData bytes of payload; this writes the header over the room.
void stamp_data_header(std::string& frame, std::uint32_t stream);
std::string encode_eof(std::uint32_t stream);
std::string encode_close(std::uint32_t stream, std::string_view reason);
std::string encode_credit(std::uint32_t stream, std::uint32_t bytes);

}  // namespace berth::port_tunnel
