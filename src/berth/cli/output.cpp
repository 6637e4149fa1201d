#include "berth/cli/output.hpp"

#include <cstdlib>
#include <iostream>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "berth/cli/config.hpp"

namespace berth::cli {

namespace {

constexpr std::string_view kDefaultUrl = "http://127.0.0.1:7080";
OutputFormat g_format = OutputFormat::table;

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

// A plain YAML scalar that a reader would take for a number, a boolean or null must be quoted
// to stay a string.
bool reads_as_other_type(const std::string& s) {
  if (s.empty()) return true;
  try {
    YAML::Node n = YAML::Load(s);
    if (!n.IsScalar() || n.Tag() == "!") return true;
    if (n.Scalar() != s) return true;
    bool b = false;
    double d = 0;
    if (YAML::convert<bool>::decode(n, b) || YAML::convert<double>::decode(n, d)) return true;
    std::string lower;
    for (char c : s) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return lower == "null" || lower == "~";
  } catch (const YAML::Exception&) {
    return true;
  }
}

void emit(YAML::Emitter& out, const nlohmann::json& v) {
  switch (v.type()) {
    case nlohmann::json::value_t::object:
      out << YAML::BeginMap;
      for (const auto& [k, item] : v.items()) {
        out << YAML::Key;
        if (reads_as_other_type(k)) out << YAML::DoubleQuoted;
        out << k << YAML::Value;
        emit(out, item);
      }
      out << YAML::EndMap;
      break;
    case nlohmann::json::value_t::array:
      out << YAML::BeginSeq;
      for (const auto& item : v) emit(out, item);
      out << YAML::EndSeq;
      break;
    case nlohmann::json::value_t::string: {
      const auto& s = v.get_ref<const std::string&>();
      if (s.find('\n') != std::string::npos) {
        out << YAML::Literal << s;
      } else {
        if (reads_as_other_type(s)) out << YAML::DoubleQuoted;
        out << s;
      }
      break;
    }
    case nlohmann::json::value_t::null:
      out << YAML::Null;
      break;
    default:  // numbers and booleans are written as JSON writes them
      out << v.dump();
  }
}

}  // namespace

std::string GlobalOptions::resolved_url() const {
  if (!url.empty()) return url;
  if (auto e = env("BERTH_URL"); !e.empty()) return e;
  if (auto saved = load_user_config(); saved && !saved->url.empty()) return saved->url;
  return std::string(kDefaultUrl);
}

std::string GlobalOptions::resolved_token() const {
  if (!token.empty()) return token;
  if (auto e = env("BERTH_TOKEN"); !e.empty()) return e;
  // A saved token is sent only to the server it was saved for.
  if (auto saved = load_user_config(); saved && saved->url == resolved_url()) return saved->token;
  return "";
}

Result<OutputFormat> parse_output_format(std::string_view text) {
  if (text == "table") return OutputFormat::table;
  if (text == "json") return OutputFormat::json;
  if (text == "yaml") return OutputFormat::yaml;
  return Error::invalid_argument(fmt::format("--output {} is not a format", text),
                                 "use --output table, --output json or --output yaml");
}

void set_output_format(OutputFormat format) { g_format = format; }

std::string to_yaml(const nlohmann::json& value) {
  YAML::Emitter out;
  out.SetIndent(2);
  emit(out, value);
  return std::string(out.c_str()) + "\n";
}

void print_data(const nlohmann::json& value) {
  if (g_format == OutputFormat::yaml) {
    std::cout << to_yaml(value) << std::flush;
  } else {
    std::cout << value.dump(2) << std::endl;
  }
}

int report(const Error& error, bool structured) {
  if (structured) {
    nlohmann::json j = {{"message", error.message}};
    if (!error.detail.empty()) j["detail"] = error.detail;
    if (!error.validations.empty()) {
      j["validations"] = nlohmann::json::array();
      for (const auto& v : error.validations)
        j["validations"].push_back({{"field", v.field}, {"detail", v.detail}});
    }
    print_data(j);
    return 1;
  }
  std::cerr << "error: " << error.message << "\n";
  for (const auto& v : error.validations) {
    if (error.message.find(v.detail) == std::string::npos || error.validations.size() > 1) {
      std::cerr << "  - " << v.field << ": " << v.detail << "\n";
    }
  }
  if (!error.detail.empty()) std::cerr << "  " << error.detail << "\n";
  return 1;
}

int finish(const GlobalOptions& g, const Result<nlohmann::json>& r,
           const std::function<void(const nlohmann::json&)>& human) {
  if (!r) return report(r.error(), g.json);
  if (g.json) {
    print_data(*r);
  } else {
    human(*r);
  }
  return 0;
}

std::string short_time(const std::string& t) { return t.size() >= 19 ? t.substr(11, 8) : t; }

}  // namespace berth::cli
