#pragma once
// The chat workspace TTL site setting, agents_workspace_ttl (spec section 4.5). Pure.

#include <chrono>
#include <string_view>

#include "berth/core/result.hpp"

namespace berth::chattools {

// "" -> 0 (disabled); Go duration syntax otherwise. invalid_argument with
// `invalid duration "<text>": ...` or "duration must be non-negative".
Result<std::chrono::milliseconds> parse_chat_workspace_ttl(std::string_view text);

}  // namespace berth::chattools
