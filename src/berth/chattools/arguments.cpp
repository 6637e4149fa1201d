#include "berth/chattools/arguments.hpp"
#include "berth/chattools/refusals.hpp"

#include <cctype>

#include <fmt/format.h>

namespace berth::chattools {

std::string trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

Result<std::string> string_argument(const nlohmann::json& args, std::string_view name) {
  auto it = args.find(name);
  if (it == args.end() || it->is_null()) return std::string();
  if (!it->is_string()) {
    return Error::invalid_argument(fmt::format(fmt::runtime(refusal::kMustBeString), name));
  }
  return trim(it->get<std::string>());
}

std::string uuid_error(std::string_view text) {
  if (text.size() != 36 && text.size() != 32 && text.size() != 38 && text.size() != 45) {
    return fmt::format("invalid UUID length: {}", text.size());
  }
  return "invalid UUID format";
}

Result<templates::ParameterValues> parameters_argument(const nlohmann::json& args) {
  templates::ParameterValues out;
  auto it = args.find("parameters");
  if (it == args.end() || it->is_null()) return out;
  const auto bad = [] {
    return Error::invalid_argument(
        "parameters must be an object of parameter names to string values, e.g. "
        "{\"region\": \"eu\"}; read_template lists the parameters");
  };
  if (!it->is_object()) return bad();
  for (const auto& [name, value] : it->items()) {
    if (value.is_string()) {
      out[name] = value.get<std::string>();
    } else if (value.is_number() || value.is_boolean()) {
      out[name] = value.dump();
    } else {
      return bad();
    }
  }
  return out;
}

}  // namespace berth::chattools
