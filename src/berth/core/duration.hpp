#pragma once
// Durations as users write them ("10m", "2h30m", "1.5h", "500ms"): Go's time.ParseDuration
// syntax, which templates, site settings and CLI flags all share.

#include <chrono>
#include <string>
#include <string_view>

#include "berth/core/result.hpp"

namespace berth {

using Millis = std::chrono::milliseconds;

// Parses Go duration syntax. A bare "0" is allowed; any other number needs a unit
// (ns, us, µs, ms, s, m, h). Returns invalid_argument with `invalid duration "<text>": ...`.
Result<Millis> parse_duration(std::string_view text);

// Formats like Go's Duration.String() for whole milliseconds: "2h0m0s", "1m30s", "250ms", "0s".
std::string format_duration(Millis d);

}  // namespace berth
