#pragma once
// How the CLI prints: `--output table` (short human text, the default), `json` or `yaml`
// (for scripts; `--json` is `--output json`); errors always say what is wrong and what to do.

#include <functional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "berth/core/result.hpp"

namespace berth::cli {

enum class OutputFormat { table, json, yaml };

// Options every API command shares. --url/--token fall back to BERTH_URL/BERTH_TOKEN, then
// to what `berth login` saved (cli/config.hpp).
struct GlobalOptions {
  std::string url;
  std::string token;
  bool json = false;  // structured output (json or yaml): what commands test before printing
  OutputFormat format = OutputFormat::table;

  std::string resolved_url() const;
  std::string resolved_token() const;
};

// "json", "yaml" or "table"; anything else is an error naming the choices.
Result<OutputFormat> parse_output_format(std::string_view text);

// The process's structured format: set once from --output, read by print_data and report.
void set_output_format(OutputFormat format);

// Prints `value` as JSON (indented) or YAML, as --output asks.
void print_data(const nlohmann::json& value);
// `value` as a YAML document (block style; strings that would read as another type quoted).
std::string to_yaml(const nlohmann::json& value);

// Prints the error (structured on stdout with --output json|yaml, text on stderr otherwise).
// Returns exit code 1.
int report(const Error& error, bool structured);

// Prints a successful answer with `human` (table output) or as data; returns the exit code.
int finish(const GlobalOptions& g, const Result<nlohmann::json>& r,
           const std::function<void(const nlohmann::json&)>& human);

// "2026-11-21T23:09:21.123Z" -> "23:09:21"
std::string short_time(const std::string& rfc3339);

}  // namespace berth::cli
