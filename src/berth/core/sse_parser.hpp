#pragma once
// Server-Sent Events, read side: bytes in, events out, as the HTML standard's "event stream
// interpretation" describes it (event and data fields, several data lines joined with "\n",
// comments and other fields ignored, LF, CRLF or CR line ends). Used by the CLI and by the
// relay between replicas; pure, so it is fuzzed (fuzz/sse_fuzz.cpp).

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace berth {

struct SseEvent {
  std::string event = "message";
  std::string data;
};

class SseParser {
 public:
  // Appends bytes as they arrive.
  void feed(std::string_view bytes) { pending_.append(bytes); }
  // The next complete event, or nullopt until more bytes arrive. A frame with no data field
  // is not an event (the standard drops it), so keep-alive comments never surface.
  std::optional<SseEvent> next();
  // Bytes held for an event not yet complete: a caller bounds it.
  std::size_t buffered() const { return pending_.size() - start_; }

 private:
  std::string pending_;
  std::size_t start_ = 0;  // where the unread bytes begin
};

}  // namespace berth
