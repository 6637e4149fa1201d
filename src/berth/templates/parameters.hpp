#pragma once
// Parameter values: checking one value against its declaration, and resolving the full set
// for a build from the request, a preset, the previous build and the defaults.

#include <map>
#include <optional>
#include <string>

#include "berth/core/result.hpp"
#include "berth/templates/template_spec.hpp"

namespace berth::templates {

using ParameterValues = std::map<std::string, std::string>;

// Limits on what a template and a caller may send: a parameter value is an environment
// variable, and a validation pattern runs on every create. RE2 runs in time linear in the
// value, so these caps bound memory, not time.
inline constexpr std::size_t kMaxParameterValueBytes = std::size_t{16} * 1024;
inline constexpr std::size_t kMaxValidationPatternBytes = 1024;

// nullopt if `pattern` compiles as an RE2 regular expression within the limits, else why not.
std::optional<std::string> check_validation_pattern(std::string_view pattern);

// nullopt if `value` is acceptable for `p`, else why not (e.g. "must be a number").
std::optional<std::string> check_parameter_value(const ParameterSpec& p, std::string_view value);

struct ResolveInput {
  ParameterValues provided;                 // what the caller asked for
  std::optional<std::string> preset;        // preset name
  std::optional<ParameterValues> previous;  // values of the workspace's previous build
};

// Returns the value of every declared parameter, in this order of precedence: provided, preset,
// previous build, default. invalid_argument (one Validation per parameter at fault) when a
// value is unknown, malformed, missing for a required parameter, names an unknown preset, or
// changes an immutable parameter of an existing workspace.
Result<ParameterValues> resolve_parameters(const TemplateSpec& spec, const ResolveInput& in);

// Environment variable name for a parameter: BERTH_PARAM_<NAME in upper case>.
std::string parameter_env_name(std::string_view name);

}  // namespace berth::templates
