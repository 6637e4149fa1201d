#pragma once
// Build and agent logs are bounded: what a script or a workspace prints must not fill the
// server's disk (an agent once stored 345 MB in 5 s). Past the cap one marker line is stored
// and the rest is dropped. Pure: the store applies it inside its append transaction.

#include <cstdint>
#include <string>
#include <vector>

namespace berth::store {

inline constexpr std::int64_t kMaxLogBytes =
    std::int64_t{4} * 1024 * 1024;  // per build and per agent

struct CappedLines {
  std::size_t keep = 0;        // how many of the new lines to store, in order
  bool add_marker = false;     // store the marker after them
  std::int64_t new_total = 0;  // the log's stored bytes afterwards (past the cap once marked)
};

// `stored` bytes are in the log; `sizes` are the new lines' sizes.
CappedLines cap_log_lines(std::int64_t stored, const std::vector<std::size_t>& sizes,
                          std::int64_t cap = kMaxLogBytes);

// The line stored once a log reaches its cap.
std::string log_cap_marker(std::int64_t cap = kMaxLogBytes);

}  // namespace berth::store
