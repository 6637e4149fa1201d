#pragma once
// A template as Berth understands it after validation: what a template.yaml says, with every
// default filled in. Stored per template version as canonical JSON (to_json / from_json).

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "berth/core/result.hpp"
#include "berth/core/tags.hpp"
#include "berth/egress/policy.hpp"

namespace berth::templates {

enum class Isolation { process, sandbox, script };
std::string_view to_string(Isolation i);
std::optional<Isolation> parse_isolation(std::string_view s);

enum class ParameterType { string, number, boolean };
std::string_view to_string(ParameterType t);

struct ParameterOption {
  std::string name;
  std::string value;
};

struct ParameterSpec {
  std::string name;
  std::string display_name;
  std::string description;
  ParameterType type = ParameterType::string;
  std::optional<std::string> default_value;  // absent = required
  bool mutable_ = false;
  std::vector<ParameterOption> options;  // empty = free value
  std::string validation_regex;
  std::optional<std::int64_t> validation_min;
  std::optional<std::int64_t> validation_max;

  bool required() const { return !default_value.has_value(); }
};

struct PresetSpec {
  std::string name;
  std::string description;
  bool is_default = false;
  std::map<std::string, std::string> parameters;
  int prebuilds = 0;
};

// Default time limits of an agent (the phase limits of the spec).
inline constexpr std::chrono::minutes kDefaultStartupScriptTimeout{10};
inline constexpr std::chrono::minutes kDefaultConnectionTimeout{2};

struct AgentSpec {
  std::string name;
  int display_order = 0;
  bool chat = false;
  bool external = false;
  std::string directory;  // relative to the workspace directory; "" = the workspace directory
  std::string startup_script;
  std::chrono::milliseconds startup_script_timeout = kDefaultStartupScriptTimeout;
  std::chrono::seconds connection_timeout = kDefaultConnectionTimeout;
  std::map<std::string, std::string> env;
};

struct ScriptsSpec {
  std::string start;
  std::string stop;
};

// What one sandboxed workspace may use of the host (all of its processes together).
struct SandboxLimits {
  std::int64_t memory_bytes = std::int64_t{2} << 30;  // 2 GiB
  std::int64_t processes = 512;
  double cpus = 1.0;  // CPU time as a number of cores
};

struct SandboxSpec {
  // Always false for new templates: a sandbox has its own network namespace with no route out
  // (versions stored before that may say true; they run without network all the same).
  bool network = false;
  SandboxLimits limits;
  // What the workspace may reach through its server's egress proxy (egress/policy.hpp).
  egress::Policy egress;
};

// "512MiB", "2GiB", "1.5G" or a number of bytes -> bytes; nullopt when malformed.
std::optional<std::int64_t> parse_byte_size(std::string_view text);

struct TemplateSpec {
  std::string name;
  std::string display_name;
  std::string description;
  std::string icon;
  Isolation isolation = Isolation::sandbox;
  bool agents_allowed = true;
  std::optional<std::chrono::milliseconds> default_ttl;
  std::int64_t daily_cost = 0;  // quota credits a running workspace uses per day
  std::vector<ParameterSpec> parameters;
  std::vector<PresetSpec> presets;
  std::vector<AgentSpec> agents;
  ScriptsSpec scripts;
  SandboxSpec sandbox;
  // What the host that builds it must offer (core/tags.hpp); empty = an untagged provisioner.
  Tags provisioner_tags;
  std::string readme;

  bool has_external_agent() const;
  const ParameterSpec* parameter(std::string_view name) const;
  const PresetSpec* preset(std::string_view name) const;
};

// Canonical JSON for storage. from_json returns internal if the stored text is corrupt.
std::string to_json(const TemplateSpec& spec);
Result<TemplateSpec> from_json(std::string_view json);

}  // namespace berth::templates
