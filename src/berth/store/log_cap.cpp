#include "berth/store/log_cap.hpp"

#include <fmt/format.h>

namespace berth::store {

CappedLines cap_log_lines(std::int64_t stored, const std::vector<std::size_t>& sizes,
                          std::int64_t cap) {
  CappedLines out;
  out.new_total = stored;
  if (stored > cap) return out;  // already marked: everything is dropped
  for (std::size_t size : sizes) {
    const std::int64_t next = out.new_total + static_cast<std::int64_t>(size) + 1;  // + newline
    if (next > cap) {
      out.add_marker = true;
      out.new_total = cap + 1;
      return out;
    }
    out.new_total = next;
    ++out.keep;
  }
  return out;
}

std::string log_cap_marker(std::int64_t cap) {
  return fmt::format(
      "log truncated: this log reached its limit of {} bytes; later output was dropped", cap);
}

}  // namespace berth::store
