// libFuzzer target: the Server-Sent Events reader (core/sse_parser), which reads what a
// server or another replica streams. Invariants: no crash, and the events do not depend on
// how the bytes were split into reads (the first byte picks a split size).
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "berth/core/sse_parser.hpp"

namespace {

std::vector<berth::SseEvent> read(std::string_view bytes, std::size_t step) {
  berth::SseParser p;
  std::vector<berth::SseEvent> out;
  for (std::size_t i = 0; i < bytes.size(); i += step) {
    p.feed(bytes.substr(i, step));
    while (auto ev = p.next()) out.push_back(*ev);
  }
  if (p.buffered() > bytes.size()) __builtin_trap();
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t step = 1 + data[0] % 16;
  std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  auto whole = read(bytes, bytes.size() + 1);
  auto split = read(bytes, step);
  if (whole.size() != split.size()) __builtin_trap();
  for (std::size_t i = 0; i < whole.size(); ++i) {
    if (whole[i].event != split[i].event || whole[i].data != split[i].data) __builtin_trap();
  }
  return 0;
}
