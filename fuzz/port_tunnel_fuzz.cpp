// libFuzzer target: what the server decodes from an agent's binary frames (core/port_tunnel)
// and what the preview proxy makes of an app's response head (http/preview_head): both come
// from inside a workspace. Invariants: no crash; a decoded frame encodes back to the same
// bytes; a rewritten head carries no Set-Cookie for the server's cookies and ends the head.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "berth/core/port_tunnel.hpp"
#include "berth/http/preview_head.hpp"

namespace tunnel = berth::port_tunnel;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  if (auto f = tunnel::decode(bytes)) {
    std::string again;
    switch (f->op) {
      case tunnel::Op::open:
        again = tunnel::encode_open(f->stream, f->port);
        break;
      case tunnel::Op::opened:
        again = tunnel::encode_opened(f->stream);
        break;
      case tunnel::Op::data:
        again = tunnel::encode_data(f->stream, f->payload);
        break;
      case tunnel::Op::eof:
        again = tunnel::encode_eof(f->stream);
        break;
      case tunnel::Op::close:
        again = tunnel::encode_close(f->stream, f->payload);
        break;
      case tunnel::Op::credit:
        again = tunnel::encode_credit(f->stream, f->credit);
        break;
    }
    if (again != bytes) __builtin_trap();
  }
  auto end = berth::http::response_head_end(bytes);
  std::string_view head = end ? bytes.substr(0, *end) : bytes;
  if (auto out = berth::http::rewrite_response_head(head, {.sandbox = true})) {
    if (!out->ends_with("\r\n\r\n")) __builtin_trap();
    std::string lower = *out;
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    // Every line that starts a header: none sets a cookie named berth*.
    std::size_t at = 0;
    while ((at = lower.find("\r\nset-cookie", at)) != std::string::npos) {
      at += 2;
      auto colon = lower.find_first_not_of(" \t", at + 10);
      if (colon == std::string::npos || lower[colon] != ':') continue;  // another header
      auto value = lower.find_first_not_of(" \t", colon + 1);
      if (value != std::string::npos && lower.compare(value, 5, "berth") == 0) __builtin_trap();
    }
  }
  (void)berth::http::strip_server_cookies(bytes);
  (void)berth::http::strip_token_param(bytes);
  return 0;
}
