#pragma once
// How the CLI prints: JSON with --json (for scripts), short human text otherwise; errors
// always say what is wrong and what to do.

#include <string>

#include <nlohmann/json.hpp>

#include "berth/core/result.hpp"

namespace berth::cli {

// Options every API command shares. --url/--token fall back to BERTH_URL/BERTH_TOKEN.
struct GlobalOptions {
  std::string url;
  std::string token;
  bool json = false;

  std::string resolved_url() const;
  std::string resolved_token() const;
};

void print_json(const nlohmann::json& value);
// Prints the error (JSON on stdout with --json, text on stderr otherwise). Returns exit code 1.
int report(const Error& error, bool json);

// "2026-11-21T23:09:21.123Z" -> "23:09:21"
std::string short_time(const std::string& rfc3339);

}  // namespace berth::cli
