#include "berth/core/untrusted.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace berth {

bool json_nesting_exceeds(std::string_view text, int max_depth) {
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        break;
      case '[':
      case '{':
        if (++depth > max_depth) return true;
        break;
      case ']':
      case '}':
        if (depth > 0) --depth;
        break;
      default:
        break;
    }
  }
  return false;
}

JsonRefusal parse_untrusted_json(std::string_view text, nlohmann::json& out, int max_depth) {
  if (json_nesting_exceeds(text, max_depth)) return JsonRefusal::too_deep;
  auto parsed = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return JsonRefusal::invalid;
  out = std::move(parsed);
  return JsonRefusal::none;
}

std::string json_refusal_message(JsonRefusal refusal, std::string_view what) {
  switch (refusal) {
    case JsonRefusal::none:
      return {};
    case JsonRefusal::invalid:
      return fmt::format("{} is not valid JSON", what);
    case JsonRefusal::too_deep:
      return fmt::format("{} nests arrays or objects deeper than {} levels", what, kMaxJsonDepth);
  }
  return {};
}

std::string valid_utf8(std::string_view text) {
  static constexpr std::string_view kReplacement = "\xEF\xBF\xBD";
  std::string out;
  out.reserve(text.size());
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  std::size_t i = 0;
  while (i < n) {
    unsigned char c = s[i];
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
      ++i;
      continue;
    }
    // Expected length and the allowed range of the second byte (Unicode 15, table 3-7).
    std::size_t len = 0;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c == 0xE0) {
      len = 3, lo = 0xA0;
    } else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) {
      len = 3;
    } else if (c == 0xED) {
      len = 3, hi = 0x9F;  // no surrogates
    } else if (c == 0xF0) {
      len = 4, lo = 0x90;
    } else if (c >= 0xF1 && c <= 0xF3) {
      len = 4;
    } else if (c == 0xF4) {
      len = 4, hi = 0x8F;
    }
    if (len == 0) {
      out += kReplacement;
      ++i;
      continue;
    }
    // Take the longest valid prefix; a broken sequence becomes one U+FFFD.
    std::size_t j = 1;
    for (; j < len && i + j < n; ++j) {
      unsigned char b = s[i + j];
      unsigned char l = j == 1 ? lo : 0x80, h = j == 1 ? hi : 0xBF;
      if (b < l || b > h) break;
    }
    if (j == len) {
      out.append(text.substr(i, len));
    } else {
      out += kReplacement;
    }
    i += j;
  }
  return out;
}

std::optional<std::size_t> first_invalid_utf8(std::string_view text) {
  // valid_utf8 keeps valid bytes as they are: the first difference is the first bad byte.
  const std::string fixed = valid_utf8(text);
  std::size_t i = 0;
  while (i < text.size() && i < fixed.size() && text[i] == fixed[i]) ++i;
  if (i == text.size() && i == fixed.size()) return std::nullopt;
  return i;
}

std::string dump_json(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace berth
