#pragma once
// Wall-clock time as Berth stores it: integer milliseconds since the Unix epoch, which both
// SQLite and PostgreSQL hold as BIGINT without time-zone surprises.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace berth {

using UnixMillis = std::int64_t;

UnixMillis now_ms();
// RFC 3339 in UTC with milliseconds, e.g. "2026-11-21T23:09:21.123Z".
std::string format_rfc3339(UnixMillis t);
// The inverse of format_rfc3339 (UTC "Z" form only); nullopt for anything else.
std::optional<UnixMillis> parse_rfc3339(std::string_view text);

}  // namespace berth
