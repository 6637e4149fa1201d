#include "berth/core/tags.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace berth {

namespace {

bool tag_char(char c, bool value) {
  if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.') {
    return true;
  }
  return value && ((c >= 'A' && c <= 'Z') || c == ':' || c == '/');
}

std::optional<std::string> invalid_reason(std::string_view text, bool value) {
  const char* what = value ? "tag value" : "tag name";
  if (text.empty()) return fmt::format("a {} must not be empty", what);
  if (text.size() > kMaxTagLength) {
    return fmt::format("{} \"{}...\" is longer than {} characters", what, text.substr(0, 16),
                       kMaxTagLength);
  }
  for (char c : text) {
    if (!tag_char(c, value)) {
      return value
                 ? fmt::format("tag value \"{}\" may hold letters, digits and - _ . : / only", text)
                 : fmt::format("tag name \"{}\" may hold lower-case letters, digits and - _ . only",
                               text);
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> tag_key_invalid_reason(std::string_view key) {
  return invalid_reason(key, false);
}

std::optional<std::string> tag_value_invalid_reason(std::string_view value) {
  return invalid_reason(value, true);
}

Result<Tags> parse_tags(std::string_view text) {
  Tags out;
  const auto hint = "write tags as name=value pairs separated by commas, e.g. gpu=a100,zone=eu";
  while (!text.empty()) {
    auto comma = text.find(',');
    std::string_view part = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    auto eq = part.find('=');
    if (eq == std::string_view::npos) {
      return Error::invalid_argument(fmt::format("tag \"{}\" has no value", part), hint);
    }
    std::string_view key = part.substr(0, eq), value = part.substr(eq + 1);
    if (auto why = tag_key_invalid_reason(key)) return Error::invalid_argument(*why, hint);
    if (auto why = tag_value_invalid_reason(value)) return Error::invalid_argument(*why, hint);
    if (!out.emplace(key, value).second) {
      return Error::invalid_argument(fmt::format("tag \"{}\" is given twice", key), hint);
    }
    if (out.size() > kMaxTags) {
      return Error::invalid_argument(fmt::format("more than {} tags", kMaxTags), hint);
    }
  }
  return out;
}

std::string format_tags(const Tags& tags) {
  std::string out;
  for (const auto& [k, v] : tags) out += (out.empty() ? "" : ",") + k + "=" + v;
  return out;
}

std::string tags_json(const Tags& tags) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [k, v] : tags) j[k] = v;
  return j.dump();  // std::map order: keys sorted
}

Result<Tags> tags_from_json(std::string_view text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) return Error::invalid_argument("tags must be a JSON object of strings");
  Tags out;
  for (const auto& [k, v] : j.items()) {
    if (!v.is_string()) return Error::invalid_argument("tags must be a JSON object of strings");
    if (auto why = tag_key_invalid_reason(k)) return Error::invalid_argument(*why);
    if (auto why = tag_value_invalid_reason(v.get<std::string>())) {
      return Error::invalid_argument(*why);
    }
    out[k] = v.get<std::string>();
  }
  if (out.size() > kMaxTags)
    return Error::invalid_argument(fmt::format("more than {} tags", kMaxTags));
  return out;
}

bool tags_satisfy(const Tags& offered, const Tags& wanted) {
  if (wanted.empty()) return offered.empty();
  for (const auto& [k, v] : wanted) {
    auto it = offered.find(k);
    if (it == offered.end() || it->second != v) return false;
  }
  return true;
}

}  // namespace berth
