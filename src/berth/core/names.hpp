#pragma once
// Names of workspaces, templates, users and organizations: validation and generation
// (spec section 4.2-4.4). Pure functions; randomness comes in as a parameter so tests pin it.

#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace berth {

inline constexpr std::size_t kMaxNameLength = 32;
// Generated names keep room for "-" plus a 4-character hex suffix.
inline constexpr std::size_t kGeneratedNameBaseLength = 27;

// Returns nullopt when `name` is a valid name, else why it is not, e.g.
// "must be <= 32 characters" or "must be alphanumeric with hyphens".
std::optional<std::string> name_invalid_reason(std::string_view name);
inline bool name_valid(std::string_view name) { return !name_invalid_reason(name).has_value(); }

// A source of random bytes' worth of choices: returns a uniform value in [0, bound).
using RandomIndex = std::function<std::size_t(std::size_t bound)>;
RandomIndex default_random_index();

// A Docker-style "adjective-surname" name, as used when nothing better can be derived.
std::string random_docker_name(const RandomIndex& random);

// Turns arbitrary text (an e-mail, a display name) into a valid name, or a random one.
std::string username_from(std::string_view text, const RandomIndex& random);

// "<base>-<4 hex>" from a seed (usually the template name), as spec section 4.4.
std::string generated_workspace_name(std::string_view seed, const RandomIndex& random);

}  // namespace berth
