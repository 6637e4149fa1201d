#include "berth/cli/output.hpp"

#include <cstdlib>
#include <iostream>

namespace berth::cli {

namespace {
constexpr std::string_view kDefaultUrl = "http://127.0.0.1:7080";
std::string env_or(const char* name, std::string_view fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : std::string(fallback);
}
}  // namespace

std::string GlobalOptions::resolved_url() const {
  return url.empty() ? env_or("BERTH_URL", kDefaultUrl) : url;
}
std::string GlobalOptions::resolved_token() const {
  return token.empty() ? env_or("BERTH_TOKEN", "") : token;
}

void print_json(const nlohmann::json& value) { std::cout << value.dump(2) << std::endl; }

int report(const Error& error, bool json) {
  if (json) {
    nlohmann::json j = {{"message", error.message}};
    if (!error.detail.empty()) j["detail"] = error.detail;
    if (!error.validations.empty()) {
      j["validations"] = nlohmann::json::array();
      for (const auto& v : error.validations)
        j["validations"].push_back({{"field", v.field}, {"detail", v.detail}});
    }
    std::cout << j.dump(2) << std::endl;
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

std::string short_time(const std::string& t) { return t.size() >= 19 ? t.substr(11, 8) : t; }

}  // namespace berth::cli
