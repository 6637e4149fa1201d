#pragma once
// Reading tool arguments the way every tool does: strings trimmed, UUIDs in any common form,
// parameters as an object of strings. Errors are worded for the model. Pure.

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "berth/core/result.hpp"
#include "berth/templates/parameters.hpp"

namespace berth::chattools {

std::string trim(std::string_view s);
std::string lower(std::string_view s);

// The trimmed string argument `name`; "" when absent or null. invalid_argument
// "<name> must be a string" for another JSON type.
Result<std::string> string_argument(const nlohmann::json& args, std::string_view name);

// Why `text` is not a UUID, in the words of the reference parser: "invalid UUID length: 7" or
// "invalid UUID format".
std::string uuid_error(std::string_view text);

// The `parameters` argument: an object whose values are strings (numbers and booleans are
// accepted and written as text). Absent or null = none.
Result<templates::ParameterValues> parameters_argument(const nlohmann::json& args);

}  // namespace berth::chattools
