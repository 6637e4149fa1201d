#include "berth/core/port_tunnel.hpp"

#include <cassert>

#include <fmt/format.h>

namespace berth::port_tunnel {

namespace {

std::string header(std::uint32_t stream, Op op, std::size_t payload) {
  std::string out;
  out.reserve(kHeaderSize + payload);
  out.push_back(static_cast<char>(stream >> 24));
  out.push_back(static_cast<char>(stream >> 16));
  out.push_back(static_cast<char>(stream >> 8));
  out.push_back(static_cast<char>(stream));
  out.push_back(static_cast<char>(op));
  return out;
}

std::uint32_t read_u32(std::string_view b) {
  return (std::uint32_t{static_cast<unsigned char>(b[0])} << 24) |
         (std::uint32_t{static_cast<unsigned char>(b[1])} << 16) |
         (std::uint32_t{static_cast<unsigned char>(b[2])} << 8) |
         std::uint32_t{static_cast<unsigned char>(b[3])};
}

}  // namespace

Result<Frame> decode(std::string_view bytes) {
  if (bytes.size() < kHeaderSize) {
    return Error::invalid_argument(
        fmt::format("tunnel frame of {} bytes is shorter than its 5-byte header", bytes.size()));
  }
  Frame f;
  f.stream = read_u32(bytes);
  if (f.stream == 0) return Error::invalid_argument("tunnel frame names stream 0");
  const auto op = static_cast<unsigned char>(bytes[4]);
  std::string_view payload = bytes.substr(kHeaderSize);
  auto wrong_size = [&](const char* name) {
    return Error::invalid_argument(
        fmt::format("tunnel {} frame has a payload of {} bytes", name, payload.size()));
  };
  switch (op) {
    case static_cast<unsigned char>(Op::open):
      if (payload.size() != 2) return wrong_size("open");
      f.op = Op::open;
      f.port = static_cast<std::uint16_t>((static_cast<unsigned char>(payload[0]) << 8) |
                                          static_cast<unsigned char>(payload[1]));
      if (f.port == 0) return Error::invalid_argument("tunnel open frame names port 0");
      return f;
    case static_cast<unsigned char>(Op::opened):
    case static_cast<unsigned char>(Op::eof):
      if (!payload.empty()) return wrong_size(op == 2 ? "opened" : "eof");
      f.op = static_cast<Op>(op);
      return f;
    case static_cast<unsigned char>(Op::data):
      if (payload.empty() || payload.size() > kMaxData) return wrong_size("data");
      f.op = Op::data;
      f.payload = payload;
      return f;
    case static_cast<unsigned char>(Op::close):
      if (payload.size() > kMaxReason) return wrong_size("close");
      f.op = Op::close;
      f.payload = payload;
      return f;
    case static_cast<unsigned char>(Op::credit):
      if (payload.size() != 4) return wrong_size("credit");
      f.op = Op::credit;
      f.credit = read_u32(payload);
      if (f.credit == 0 || f.credit > kWindow) {
        return Error::invalid_argument(fmt::format(
            "tunnel credit frame grants {} bytes (1 to {} allowed)", f.credit, kWindow));
      }
      return f;
    default:
      return Error::invalid_argument(fmt::format("tunnel frame has unknown op {}", op));
  }
}

std::string encode_open(std::uint32_t stream, std::uint16_t port) {
  std::string out = header(stream, Op::open, 2);
  out.push_back(static_cast<char>(port >> 8));
  out.push_back(static_cast<char>(port));
  return out;
}

std::string encode_opened(std::uint32_t stream) { return header(stream, Op::opened, 0); }

std::string encode_data(std::uint32_t stream, std::string_view bytes) {
  std::string out = header(stream, Op::data, bytes.size());
  out.append(bytes);
  return out;
}

void stamp_data_header(std::string& frame, std::uint32_t stream) {
  assert(frame.size() > kHeaderSize && frame.size() <= kHeaderSize + kMaxData);
  frame[0] = static_cast<char>(stream >> 24);
  frame[1] = static_cast<char>(stream >> 16);
  frame[2] = static_cast<char>(stream >> 8);
  frame[3] = static_cast<char>(stream);
  frame[4] = static_cast<char>(Op::data);
}

std::string encode_eof(std::uint32_t stream) { return header(stream, Op::eof, 0); }

std::string encode_close(std::uint32_t stream, std::string_view reason) {
  reason = reason.substr(0, kMaxReason);
  std::string out = header(stream, Op::close, reason.size());
  out.append(reason);
  return out;
}

std::string encode_credit(std::uint32_t stream, std::uint32_t bytes) {
  std::string out = header(stream, Op::credit, 4);
  out.push_back(static_cast<char>(bytes >> 24));
  out.push_back(static_cast<char>(bytes >> 16));
  out.push_back(static_cast<char>(bytes >> 8));
  out.push_back(static_cast<char>(bytes));
  return out;
}

}  // namespace berth::port_tunnel
