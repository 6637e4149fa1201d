#include "berth/chattools/workspace_ttl.hpp"

#include "berth/core/duration.hpp"

namespace berth::chattools {

Result<std::chrono::milliseconds> parse_chat_workspace_ttl(std::string_view text) {
  if (text.empty()) return std::chrono::milliseconds(0);
  auto d = parse_duration(text);
  if (!d) return d.error();
  if (d->count() < 0) return Error::invalid_argument("duration must be non-negative");
  return *d;
}

}  // namespace berth::chattools
