#include "berth/templates/template_spec.hpp"

#include <cctype>
#include <string>

#include <nlohmann/json.hpp>

namespace berth::templates {

using nlohmann::json;

std::string_view to_string(Isolation i) {
  switch (i) {
    case Isolation::process:
      return "process";
    case Isolation::sandbox:
      return "sandbox";
    case Isolation::script:
      return "script";
  }
  return "process";
}

std::optional<std::int64_t> parse_byte_size(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.'))
    ++i;
  if (i == 0) return std::nullopt;
  double number = 0;
  try {
    std::size_t used = 0;
    number = std::stod(std::string(text.substr(0, i)), &used);
    if (used != i) return std::nullopt;
  } catch (const std::exception&) {
    return std::nullopt;
  }
  std::string_view unit = text.substr(i);
  while (!unit.empty() && unit.front() == ' ') unit.remove_prefix(1);
  double scale = 0;
  if (unit.empty() || unit == "B") {
    scale = 1;
  } else if (unit == "KiB" || unit == "K" || unit == "k") {
    scale = 1024.0;
  } else if (unit == "MiB" || unit == "M") {
    scale = 1024.0 * 1024;
  } else if (unit == "GiB" || unit == "G") {
    scale = 1024.0 * 1024 * 1024;
  } else if (unit == "TiB" || unit == "T") {
    scale = 1024.0 * 1024 * 1024 * 1024;
  } else {
    return std::nullopt;
  }
  const double bytes = number * scale;
  if (bytes < 1 || bytes > 9.0e18) return std::nullopt;
  return static_cast<std::int64_t>(bytes);
}

std::optional<Isolation> parse_isolation(std::string_view s) {
  if (s == "process") return Isolation::process;
  if (s == "sandbox") return Isolation::sandbox;
  if (s == "script") return Isolation::script;
  return std::nullopt;
}

std::string_view to_string(ParameterType t) {
  switch (t) {
    case ParameterType::string:
      return "string";
    case ParameterType::number:
      return "number";
    case ParameterType::boolean:
      return "bool";
  }
  return "string";
}

bool TemplateSpec::has_external_agent() const {
  for (const auto& a : agents) {
    if (a.external) return true;
  }
  return false;
}

const ParameterSpec* TemplateSpec::parameter(std::string_view n) const {
  for (const auto& p : parameters) {
    if (p.name == n) return &p;
  }
  return nullptr;
}

const PresetSpec* TemplateSpec::preset(std::string_view n) const {
  for (const auto& p : presets) {
    if (p.name == n) return &p;
  }
  return nullptr;
}

std::string to_json(const TemplateSpec& s) {
  json params = json::array();
  for (const auto& p : s.parameters) {
    json options = json::array();
    for (const auto& o : p.options) options.push_back({{"name", o.name}, {"value", o.value}});
    json j = {{"name", p.name},
              {"display_name", p.display_name},
              {"description", p.description},
              {"type", to_string(p.type)},
              {"mutable", p.mutable_},
              {"options", options},
              {"validation_regex", p.validation_regex}};
    j["default"] = p.default_value ? json(*p.default_value) : json(nullptr);
    j["validation_min"] = p.validation_min ? json(*p.validation_min) : json(nullptr);
    j["validation_max"] = p.validation_max ? json(*p.validation_max) : json(nullptr);
    params.push_back(std::move(j));
  }
  json presets = json::array();
  for (const auto& p : s.presets) {
    presets.push_back({{"name", p.name},
                       {"description", p.description},
                       {"default", p.is_default},
                       {"parameters", p.parameters},
                       {"prebuilds", p.prebuilds}});
  }
  json agents = json::array();
  for (const auto& a : s.agents) {
    agents.push_back({{"name", a.name},
                      {"display_order", a.display_order},
                      {"chat", a.chat},
                      {"external", a.external},
                      {"directory", a.directory},
                      {"startup_script", a.startup_script},
                      {"startup_script_timeout_ms", a.startup_script_timeout.count()},
                      {"connection_timeout_s", a.connection_timeout.count()},
                      {"env", a.env}});
  }
  json j = {
      {"name", s.name},
      {"display_name", s.display_name},
      {"description", s.description},
      {"icon", s.icon},
      {"isolation", to_string(s.isolation)},
      {"agents_allowed", s.agents_allowed},
      {"parameters", params},
      {"presets", presets},
      {"agents", agents},
      {"scripts", {{"start", s.scripts.start}, {"stop", s.scripts.stop}}},
      {"sandbox",
       {{"network", s.sandbox.network},
        {"limits",
         {{"memory_bytes", s.sandbox.limits.memory_bytes},
          {"processes", s.sandbox.limits.processes},
          {"cpus", s.sandbox.limits.cpus}}},
        {"egress",
         {{"mode", egress::to_string(s.sandbox.egress.mode)}, {"allow", s.sandbox.egress.allow}}}}},
      {"readme", s.readme}};
  j["default_ttl_ms"] = s.default_ttl ? json(s.default_ttl->count()) : json(nullptr);
  j["daily_cost"] = s.daily_cost;
  j["provisioner_tags"] = s.provisioner_tags;
  return j.dump();
}

Result<TemplateSpec> from_json(std::string_view text) {
  try {
    json j = json::parse(text);
    TemplateSpec s;
    s.name = j.at("name");
    s.display_name = j.at("display_name");
    s.description = j.at("description");
    s.icon = j.value("icon", "");
    s.isolation =
        parse_isolation(j.at("isolation").get<std::string>()).value_or(Isolation::process);
    s.agents_allowed = j.at("agents_allowed");
    s.daily_cost = j.value("daily_cost", std::int64_t{0});  // absent in specs stored before it
    s.provisioner_tags = j.value("provisioner_tags", Tags{});
    if (!j["default_ttl_ms"].is_null()) {
      s.default_ttl = std::chrono::milliseconds(j["default_ttl_ms"].get<std::int64_t>());
    }
    for (const auto& pj : j.at("parameters")) {
      ParameterSpec p;
      p.name = pj.at("name");
      p.display_name = pj.at("display_name");
      p.description = pj.at("description");
      std::string type = pj.at("type");
      p.type = type == "number" ? ParameterType::number
               : type == "bool" ? ParameterType::boolean
                                : ParameterType::string;
      if (!pj.at("default").is_null()) p.default_value = pj.at("default").get<std::string>();
      p.mutable_ = pj.at("mutable");
      for (const auto& o : pj.at("options")) p.options.push_back({o.at("name"), o.at("value")});
      p.validation_regex = pj.at("validation_regex");
      if (!pj.at("validation_min").is_null())
        p.validation_min = pj.at("validation_min").get<std::int64_t>();
      if (!pj.at("validation_max").is_null())
        p.validation_max = pj.at("validation_max").get<std::int64_t>();
      s.parameters.push_back(std::move(p));
    }
    for (const auto& pj : j.at("presets")) {
      PresetSpec p;
      p.name = pj.at("name");
      p.description = pj.at("description");
      p.is_default = pj.at("default");
      p.parameters = pj.at("parameters").get<std::map<std::string, std::string>>();
      p.prebuilds = pj.at("prebuilds");
      s.presets.push_back(std::move(p));
    }
    for (const auto& aj : j.at("agents")) {
      AgentSpec a;
      a.name = aj.at("name");
      a.display_order = aj.at("display_order");
      a.chat = aj.at("chat");
      a.external = aj.at("external");
      a.directory = aj.at("directory");
      a.startup_script = aj.at("startup_script");
      a.startup_script_timeout =
          std::chrono::milliseconds(aj.at("startup_script_timeout_ms").get<std::int64_t>());
      a.connection_timeout =
          std::chrono::seconds(aj.at("connection_timeout_s").get<std::int64_t>());
      a.env = aj.at("env").get<std::map<std::string, std::string>>();
      s.agents.push_back(std::move(a));
    }
    s.scripts.start = j.at("scripts").at("start");
    s.scripts.stop = j.at("scripts").at("stop");
    s.sandbox.network = j.at("sandbox").at("network");
    // Versions stored before limits existed get the defaults.
    if (auto l = j.at("sandbox").find("limits"); l != j.at("sandbox").end()) {
      s.sandbox.limits.memory_bytes = l->at("memory_bytes");
      s.sandbox.limits.processes = l->at("processes");
      s.sandbox.limits.cpus = l->at("cpus");
    }
    // Versions stored before egress policies have none, which is what they got.
    if (auto e = j.at("sandbox").find("egress"); e != j.at("sandbox").end()) {
      auto mode = egress::mode_from_string(e->at("mode").get<std::string>());
      if (!mode) return Error::internal("stored template spec has an unknown egress mode");
      s.sandbox.egress.mode = *mode;
      s.sandbox.egress.allow = e->at("allow").get<std::vector<std::string>>();
    }
    s.readme = j.value("readme", "");
    return s;
  } catch (const json::exception& e) {
    return Error::internal(std::string("stored template spec is corrupt: ") + e.what());
  }
}

}  // namespace berth::templates
