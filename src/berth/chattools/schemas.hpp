#pragma once
// The outputSchema of the workspace tools (create, start, stop, wait). One schema for all four:
// they return the same keys (spec section 3.1.6 plus Berth's), and clients such as the official
// SDK validate structuredContent against it, so every key a result can carry is listed here.

#include <nlohmann/json.hpp>

namespace berth::chattools {

nlohmann::json workspace_result_schema();

}  // namespace berth::chattools
