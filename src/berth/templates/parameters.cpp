#include "berth/templates/parameters.hpp"

#include <fmt/format.h>

#include <re2/re2.h>

#include <charconv>

namespace berth::templates {

namespace {

RE2::Options pattern_options() {
  RE2::Options o;
  o.set_log_errors(false);
  o.set_max_mem(8 << 20);
  return o;
}

// A value quoted in an error, cut so that an oversized one does not make an oversized answer.
std::string quoted(std::string_view value) {
  constexpr std::size_t kShown = 64;
  if (value.size() <= kShown) return fmt::format("\"{}\"", value);
  return fmt::format("\"{}...\" ({} bytes)", value.substr(0, kShown), value.size());
}

}  // namespace

std::optional<std::string> check_validation_pattern(std::string_view pattern) {
  if (pattern.size() > kMaxValidationPatternBytes) {
    return fmt::format("is {} bytes long; the limit is {}", pattern.size(),
                       kMaxValidationPatternBytes);
  }
  RE2 re(re2::StringPiece(pattern.data(), pattern.size()), pattern_options());
  if (!re.ok()) {
    return fmt::format(
        "is not a valid regular expression: {} (patterns use RE2 syntax: no backreferences or "
        "lookaround)",
        re.error());
  }
  return std::nullopt;
}

std::optional<std::string> check_parameter_value(const ParameterSpec& p, std::string_view value) {
  if (value.size() > kMaxParameterValueBytes) {
    return fmt::format("the value is {} bytes long; the limit is {} bytes", value.size(),
                       kMaxParameterValueBytes);
  }
  if (p.type == ParameterType::number) {
    std::int64_t n = 0;
    auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
    if (ec != std::errc() || ptr != value.data() + value.size()) {
      return fmt::format("{} is not a whole number", quoted(value));
    }
    if (p.validation_min && n < *p.validation_min) {
      return fmt::format("{} is below the minimum {}", n, *p.validation_min);
    }
    if (p.validation_max && n > *p.validation_max) {
      return fmt::format("{} is above the maximum {}", n, *p.validation_max);
    }
  } else if (p.type == ParameterType::boolean) {
    if (value != "true" && value != "false") {
      return fmt::format("{} is not a boolean; use true or false", quoted(value));
    }
  }
  if (!p.options.empty()) {
    bool found = false;
    std::string allowed;
    for (const auto& o : p.options) {
      found = found || o.value == value;
      allowed += (allowed.empty() ? "" : ", ") + o.value;
    }
    if (!found) return fmt::format("{} is not one of the options: {}", quoted(value), allowed);
  }
  if (!p.validation_regex.empty()) {
    RE2 re(p.validation_regex, pattern_options());
    if (!re.ok()) return fmt::format("the template's pattern {} is invalid", p.validation_regex);
    if (!RE2::FullMatch(re2::StringPiece(value.data(), value.size()), re)) {
      return fmt::format("{} does not match the pattern {}", quoted(value), p.validation_regex);
    }
  }
  return std::nullopt;
}

Result<ParameterValues> resolve_parameters(const TemplateSpec& spec, const ResolveInput& in) {
  Error err = Error::invalid_argument("invalid parameters");
  const PresetSpec* preset = nullptr;
  if (in.preset && !in.preset->empty()) {
    preset = spec.preset(*in.preset);
    if (!preset) {
      std::string names;
      for (const auto& p : spec.presets) names += (names.empty() ? "" : ", ") + p.name;
      return Error::invalid_argument(
          fmt::format("template {} has no preset \"{}\"", spec.name, *in.preset),
          names.empty() ? "this template defines no presets; omit the preset"
                        : "available presets: " + names);
    }
  }
  for (const auto& [name, value] : in.provided) {
    if (!spec.parameter(name)) {
      std::string names;
      for (const auto& p : spec.parameters) names += (names.empty() ? "" : ", ") + p.name;
      err.with_validation(name,
                          fmt::format("template {} has no parameter \"{}\"{}", spec.name, name,
                                      names.empty() ? "" : "; its parameters are: " + names));
    }
  }
  ParameterValues out;
  for (const auto& p : spec.parameters) {
    std::optional<std::string> value;
    bool from_request = false;
    if (auto it = in.provided.find(p.name); it != in.provided.end()) {
      value = it->second;
      from_request = true;
    } else if (preset && preset->parameters.count(p.name)) {
      value = preset->parameters.at(p.name);
    } else if (in.previous && in.previous->count(p.name)) {
      value = in.previous->at(p.name);
    } else {
      value = p.default_value;
    }
    if (!value) {
      err.with_validation(p.name,
                          fmt::format("parameter \"{}\" is required (it has no default)", p.name));
      continue;
    }
    if (auto why = check_parameter_value(p, *value)) {
      err.with_validation(p.name, *why);
      continue;
    }
    if (from_request && in.previous && !p.mutable_) {
      if (auto it = in.previous->find(p.name); it != in.previous->end() && it->second != *value) {
        err.with_validation(p.name, fmt::format("parameter \"{}\" is immutable; it cannot change "
                                                "after the workspace was created",
                                                p.name));
        continue;
      }
    }
    out[p.name] = *value;
  }
  if (!err.validations.empty()) {
    const auto& v = err.validations.front();
    err.message = err.validations.size() == 1
                      ? fmt::format("invalid parameter {}: {}", v.field, v.detail)
                      : fmt::format("invalid parameter {}: {} (and {} more)", v.field, v.detail,
                                    err.validations.size() - 1);
    err.detail = "see read_template or `berth templates show` for the parameters and their types";
    return err;
  }
  return out;
}

std::string parameter_env_name(std::string_view name) {
  std::string out = "BERTH_PARAM_";
  for (char c : name) out += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace berth::templates
