#pragma once
// Result keys shared by several tools. Tests spell them literally, so a rename shows.

namespace berth::chattools::key {

inline constexpr const char* kError = "error";
inline constexpr const char* kDetail = "detail";
inline constexpr const char* kValidations = "validations";

}  // namespace berth::chattools::key
