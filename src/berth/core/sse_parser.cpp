#include "berth/core/sse_parser.hpp"

namespace berth {

namespace {

// The end of the line starting at `from` (the index of its CR or LF), and the index after
// its terminator; nullopt when the line is not terminated yet. A CR at the very end may be
// the first half of CRLF, so it waits for the next byte.
struct LineEnd {
  std::size_t end, next;
};
std::optional<LineEnd> line_end(std::string_view s, std::size_t from) {
  auto i = s.find_first_of("\r\n", from);
  if (i == std::string_view::npos) return std::nullopt;
  if (s[i] == '\n') return LineEnd{i, i + 1};
  if (i + 1 == s.size()) return std::nullopt;
  return LineEnd{i, s[i + 1] == '\n' ? i + 2 : i + 1};
}

}  // namespace

std::optional<SseEvent> SseParser::next() {
  if (start_ > 4096 && start_ * 2 > pending_.size()) {  // drop what was read, now and then
    pending_.erase(0, start_);
    start_ = 0;
  }
  const std::string_view all(pending_);
  std::size_t pos = start_;
  SseEvent ev;
  bool has_data = false;
  while (auto le = line_end(all, pos)) {
    std::string_view line = all.substr(pos, le->end - pos);
    pos = le->next;
    if (line.empty()) {
      // The frame ends here: consumed, whether or not it is an event.
      start_ = pos;
      if (has_data) return ev;
      ev = SseEvent();
      continue;
    }
    if (line.front() == ':') continue;  // a comment
    auto colon = line.find(':');
    std::string_view field = line.substr(0, colon);
    std::string_view value;
    if (colon != std::string_view::npos) {
      value = line.substr(colon + 1);
      if (value.starts_with(' ')) value.remove_prefix(1);
    }
    if (field == "event") {
      ev.event = value.empty() ? "message" : std::string(value);
    } else if (field == "data") {
      if (has_data) ev.data += '\n';
      ev.data.append(value);
      has_data = true;
    }
  }
  return std::nullopt;
}

}  // namespace berth
