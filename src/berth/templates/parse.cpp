#include "berth/templates/parse.hpp"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <set>

#include "berth/core/duration.hpp"
#include "berth/core/names.hpp"
#include "berth/core/tags.hpp"
#include "berth/core/untrusted.hpp"
#include "berth/templates/parameters.hpp"

namespace berth::templates {

namespace {

constexpr std::int64_t kMaxDailyCost = 1'000'000;

// Collects problems while walking the YAML tree; each carries the line and the field path.
class Reader {
 public:
  void problem(const YAML::Node& node, const std::string& path, const std::string& what) {
    int line = node.IsDefined() ? node.Mark().line + 1 : 0;
    std::string where =
        line > 0 ? fmt::format("{}:{}", kTemplateFile, line) : std::string(kTemplateFile);
    problems_.push_back({fmt::format("{}: {}", where, path), what});
  }
  bool ok() const { return problems_.empty(); }
  std::vector<Validation> take() { return std::move(problems_); }

  // Refuses keys that the format does not know, so a typo never silently does nothing.
  void only_keys(const YAML::Node& map, const std::string& path,
                 const std::set<std::string>& known) {
    for (const auto& kv : map) {
      if (!kv.first.IsScalar()) {  // `{a: 1}: x` is valid YAML, never a field name
        problem(kv.first, path, "field names must be plain words");
        continue;
      }
      auto key = kv.first.as<std::string>();
      if (!known.count(key)) {
        std::string list;
        for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
        problem(kv.first, join(path, key),
                fmt::format("unknown field \"{}\"; known fields: {}", key, list));
      }
    }
  }

  static std::string join(const std::string& path, const std::string& key) {
    return path.empty() ? key : path + "." + key;
  }

  std::optional<std::string> str(const YAML::Node& n, const std::string& path) {
    if (!n.IsDefined() || n.IsNull()) return std::nullopt;
    if (!n.IsScalar()) {
      problem(n, path, "must be a text value");
      return std::nullopt;
    }
    return n.as<std::string>();
  }

  std::optional<bool> boolean(const YAML::Node& n, const std::string& path) {
    if (!n.IsDefined() || n.IsNull()) return std::nullopt;
    bool v = false;
    if (!n.IsScalar() || !YAML::convert<bool>::decode(n, v)) {
      problem(n, path, "must be true or false");
      return std::nullopt;
    }
    return v;
  }

  std::optional<std::int64_t> integer(const YAML::Node& n, const std::string& path) {
    if (!n.IsDefined() || n.IsNull()) return std::nullopt;
    std::int64_t v = 0;
    if (!n.IsScalar() || !YAML::convert<std::int64_t>::decode(n, v)) {
      problem(n, path, "must be a whole number");
      return std::nullopt;
    }
    return v;
  }

  std::optional<std::chrono::milliseconds> duration(const YAML::Node& n, const std::string& path) {
    auto text = str(n, path);
    if (!text) return std::nullopt;
    auto d = parse_duration(*text);
    if (!d) {
      problem(n, path, d.error().message + " (write e.g. 30s, 10m, 1h)");
      return std::nullopt;
    }
    if (d->count() < 0) {
      problem(n, path, "must not be negative");
      return std::nullopt;
    }
    return *d;
  }

  std::map<std::string, std::string> string_map(const YAML::Node& n, const std::string& path) {
    std::map<std::string, std::string> out;
    if (!n.IsDefined() || n.IsNull()) return out;
    if (!n.IsMap()) {
      problem(n, path, "must be a mapping of names to values");
      return out;
    }
    for (const auto& kv : n) {
      if (!kv.first.IsScalar()) {
        problem(kv.first, path, "names must be plain words");
        continue;
      }
      auto key = kv.first.as<std::string>();
      if (!kv.second.IsScalar()) {
        problem(kv.second, join(path, key), "must be a text value");
        continue;
      }
      out[key] = kv.second.as<std::string>();
    }
    return out;
  }

 private:
  std::vector<Validation> problems_;
};

bool env_safe_name(std::string_view s) {
  if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])))) return false;
  for (char c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  }
  return true;
}

bool safe_relative_dir(std::string_view s) {
  if (s.empty()) return true;
  if (s.front() == '/') return false;
  std::size_t start = 0;
  while (start <= s.size()) {
    auto end = s.find('/', start);
    auto part =
        s.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    if (part == "..") return false;
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return true;
}

void read_parameters(Reader& r, const YAML::Node& list, TemplateSpec& spec) {
  if (!list.IsDefined() || list.IsNull()) return;
  if (!list.IsSequence()) {
    r.problem(list, "parameters", "must be a list of parameters");
    return;
  }
  std::set<std::string> seen;
  for (std::size_t i = 0; i < list.size(); ++i) {
    const auto& n = list[i];
    std::string path = fmt::format("parameters[{}]", i);
    if (!n.IsMap()) {
      r.problem(n, path, "must be a mapping with at least a name");
      continue;
    }
    r.only_keys(n, path,
                {"name", "display_name", "description", "type", "default", "mutable", "options",
                 "validation"});
    ParameterSpec p;
    p.name = r.str(n["name"], path + ".name").value_or("");
    if (p.name.empty()) {
      r.problem(n, path + ".name", "is required");
    } else if (!env_safe_name(p.name)) {
      r.problem(n["name"], path + ".name",
                "must start with a letter and hold only letters, digits and underscores "
                "(it becomes the environment variable BERTH_PARAM_<NAME>)");
    } else if (!seen.insert(p.name).second) {
      r.problem(n["name"], path + ".name", fmt::format("duplicate parameter \"{}\"", p.name));
    }
    p.display_name = r.str(n["display_name"], path + ".display_name").value_or("");
    p.description = r.str(n["description"], path + ".description").value_or("");
    std::string type = r.str(n["type"], path + ".type").value_or("string");
    if (type == "string") {
      p.type = ParameterType::string;
    } else if (type == "number") {
      p.type = ParameterType::number;
    } else if (type == "bool") {
      p.type = ParameterType::boolean;
    } else {
      r.problem(n["type"], path + ".type",
                fmt::format("unknown type \"{}\"; use string, number or bool", type));
    }
    p.default_value = r.str(n["default"], path + ".default");
    p.mutable_ = r.boolean(n["mutable"], path + ".mutable").value_or(false);
    if (const auto& opts = n["options"]; opts.IsDefined() && !opts.IsNull()) {
      if (!opts.IsSequence()) {
        r.problem(opts, path + ".options", "must be a list");
      } else {
        for (std::size_t k = 0; k < opts.size(); ++k) {
          std::string opath = fmt::format("{}.options[{}]", path, k);
          if (opts[k].IsScalar()) {
            auto v = opts[k].as<std::string>();
            p.options.push_back({v, v});
          } else if (opts[k].IsMap()) {
            r.only_keys(opts[k], opath, {"name", "value"});
            auto v = r.str(opts[k]["value"], opath + ".value");
            if (!v) {
              r.problem(opts[k], opath + ".value", "is required");
              continue;
            }
            p.options.push_back({r.str(opts[k]["name"], opath + ".name").value_or(*v), *v});
          } else {
            r.problem(opts[k], opath, "must be a value or {name, value}");
          }
        }
      }
    }
    if (const auto& v = n["validation"]; v.IsDefined() && !v.IsNull()) {
      if (!v.IsMap()) {
        r.problem(v, path + ".validation", "must be a mapping with regex, min or max");
      } else {
        r.only_keys(v, path + ".validation", {"regex", "min", "max"});
        p.validation_regex = r.str(v["regex"], path + ".validation.regex").value_or("");
        if (!p.validation_regex.empty()) {
          if (auto why = check_validation_pattern(p.validation_regex)) {
            r.problem(v["regex"], path + ".validation.regex", *why);
          }
        }
        p.validation_min = r.integer(v["min"], path + ".validation.min");
        p.validation_max = r.integer(v["max"], path + ".validation.max");
      }
    }
    if (p.default_value) {
      if (auto why = check_parameter_value(p, *p.default_value)) {
        r.problem(n["default"], path + ".default", *why);
      }
    }
    spec.parameters.push_back(std::move(p));
  }
}

void read_presets(Reader& r, const YAML::Node& list, TemplateSpec& spec) {
  if (!list.IsDefined() || list.IsNull()) return;
  if (!list.IsSequence()) {
    r.problem(list, "presets", "must be a list of presets");
    return;
  }
  std::set<std::string> seen;
  int defaults = 0;
  for (std::size_t i = 0; i < list.size(); ++i) {
    const auto& n = list[i];
    std::string path = fmt::format("presets[{}]", i);
    if (!n.IsMap()) {
      r.problem(n, path, "must be a mapping with at least a name");
      continue;
    }
    r.only_keys(n, path, {"name", "description", "default", "parameters", "prebuilds"});
    PresetSpec p;
    p.name = r.str(n["name"], path + ".name").value_or("");
    if (p.name.empty()) {
      r.problem(n, path + ".name", "is required");
    } else if (!seen.insert(p.name).second) {
      r.problem(n["name"], path + ".name", fmt::format("duplicate preset \"{}\"", p.name));
    }
    p.description = r.str(n["description"], path + ".description").value_or("");
    p.is_default = r.boolean(n["default"], path + ".default").value_or(false);
    if (p.is_default) ++defaults;
    p.parameters = r.string_map(n["parameters"], path + ".parameters");
    for (const auto& [name, value] : p.parameters) {
      const auto* param = spec.parameter(name);
      if (!param) {
        r.problem(n["parameters"][name], path + ".parameters." + name,
                  fmt::format("no parameter named \"{}\" in this template", name));
      } else if (auto why = check_parameter_value(*param, value)) {
        r.problem(n["parameters"][name], path + ".parameters." + name, *why);
      }
    }
    auto prebuilds = r.integer(n["prebuilds"], path + ".prebuilds").value_or(0);
    if (prebuilds < 0 || prebuilds > 100) {
      r.problem(n["prebuilds"], path + ".prebuilds", "must be between 0 and 100");
    }
    p.prebuilds = static_cast<int>(prebuilds);
    spec.presets.push_back(std::move(p));
  }
  if (defaults > 1) r.problem(list, "presets", "at most one preset may be the default");
}

void read_agents(Reader& r, const YAML::Node& list, TemplateSpec& spec) {
  if (!list.IsDefined() || list.IsNull() || (list.IsSequence() && list.size() == 0)) {
    r.problem(list, "agents", "a template needs at least one agent (the process Berth talks to)");
    return;
  }
  if (!list.IsSequence()) {
    r.problem(list, "agents", "must be a list of agents");
    return;
  }
  std::set<std::string> seen;
  int chat_agents = 0;
  for (std::size_t i = 0; i < list.size(); ++i) {
    const auto& n = list[i];
    std::string path = fmt::format("agents[{}]", i);
    if (!n.IsMap()) {
      r.problem(n, path, "must be a mapping with at least a name");
      continue;
    }
    r.only_keys(n, path,
                {"name", "display_order", "chat", "external", "directory", "startup_script",
                 "startup_script_timeout", "connection_timeout", "env"});
    AgentSpec a;
    a.name = r.str(n["name"], path + ".name").value_or("");
    if (a.name.empty()) {
      r.problem(n, path + ".name", "is required");
    } else if (auto why = name_invalid_reason(a.name)) {
      r.problem(n["name"], path + ".name", *why);
    } else if (!seen.insert(a.name).second) {
      r.problem(n["name"], path + ".name", fmt::format("duplicate agent \"{}\"", a.name));
    }
    a.display_order =
        static_cast<int>(r.integer(n["display_order"], path + ".display_order").value_or(0));
    a.chat = r.boolean(n["chat"], path + ".chat").value_or(false);
    if (a.chat) ++chat_agents;
    a.external = r.boolean(n["external"], path + ".external").value_or(false);
    a.directory = r.str(n["directory"], path + ".directory").value_or("");
    if (!safe_relative_dir(a.directory)) {
      r.problem(n["directory"], path + ".directory",
                "must be a path inside the workspace (relative, without \"..\")");
    }
    a.startup_script = r.str(n["startup_script"], path + ".startup_script").value_or("");
    if (auto d = r.duration(n["startup_script_timeout"], path + ".startup_script_timeout")) {
      a.startup_script_timeout = *d;
    }
    if (auto d = r.duration(n["connection_timeout"], path + ".connection_timeout")) {
      a.connection_timeout = std::chrono::duration_cast<std::chrono::seconds>(*d);
    }
    a.env = r.string_map(n["env"], path + ".env");
    spec.agents.push_back(std::move(a));
  }
  if (chat_agents > 1) {
    r.problem(list, "agents", "only one agent may set chat: true (it is the one chat tools use)");
  }
}

}  // namespace

namespace {

// sandbox.egress: `none` (the default), `internet`, or a list of host names and "*.domain"
// wildcards the workspace may reach through its server's egress proxy.
void parse_egress(Reader& r, const YAML::Node& n, egress::Policy& out) {
  constexpr std::size_t kMaxEntries = 256;
  if (!n.IsDefined() || n.IsNull()) return;
  if (n.IsScalar()) {
    auto text = n.as<std::string>();
    auto mode = egress::mode_from_string(text);
    if (!mode || *mode == egress::Mode::allowlist) {
      r.problem(n, "sandbox.egress",
                fmt::format("\"{}\" is not an egress policy; write none, internet, or a list of "
                            "host names such as [github.com, \"*.npmjs.org\"]",
                            text.substr(0, 100)));
      return;
    }
    out = egress::Policy{*mode, {}};
    return;
  }
  if (!n.IsSequence() || n.size() == 0) {
    r.problem(n, "sandbox.egress",
              "must be none, internet, or a non-empty list of host names such as "
              "[github.com, \"*.npmjs.org\"]");
    return;
  }
  if (n.size() > kMaxEntries) {
    r.problem(n, "sandbox.egress", fmt::format("lists more than {} host names", kMaxEntries));
    return;
  }
  egress::Policy policy{egress::Mode::allowlist, {}};
  for (std::size_t i = 0; i < n.size(); ++i) {
    auto path = fmt::format("sandbox.egress[{}]", i);
    auto entry = r.str(n[i], path);
    if (!entry) {
      if (n[i].IsNull()) r.problem(n[i], path, "is empty; write a host name");
      continue;
    }
    auto normal = egress::normalize_allow_entry(*entry);
    if (!normal) {
      r.problem(n[i], path, normal.error().message);
      continue;
    }
    if (std::find(policy.allow.begin(), policy.allow.end(), *normal) == policy.allow.end()) {
      policy.allow.push_back(std::move(*normal));
    }
  }
  out = std::move(policy);
}

Result<TemplateSpec> parse_template_checked(const std::map<std::string, std::string>& files) {
  auto it = files.find(std::string(kTemplateFile));
  if (it == files.end()) {
    return Error::invalid_argument("template.yaml is missing",
                                   "a template directory needs a template.yaml file; see "
                                   "docs/templates.md");
  }
  for (const auto& [name, text] : files) {
    // Templates are stored and served as JSON, which is UTF-8.
    if (auto bad = first_invalid_utf8(text)) {
      return Error::invalid_argument(fmt::format("{}: not valid UTF-8 (byte {})", name, *bad),
                                     "save the file as UTF-8 and push again; nothing was stored")
          .with_validation(name, "is not valid UTF-8");
    }
    // YAML allows no control characters but tab and line breaks (yaml-cpp lets some
    // through, and can turn them into bytes that are not UTF-8).
    for (std::size_t i = 0; i < text.size(); ++i) {
      const auto c = static_cast<unsigned char>(text[i]);
      if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7F) {
        return Error::invalid_argument(
                   fmt::format("{}: control character 0x{:02X} at byte {}", name, c, i),
                   "remove it and push again; nothing was stored")
            .with_validation(name, "contains a control character");
      }
    }
  }
  YAML::Node root;
  try {
    root = YAML::Load(it->second);
  } catch (const YAML::Exception& e) {
    Error err = Error::invalid_argument(
        fmt::format("{}:{}: not valid YAML: {}", kTemplateFile, e.mark.line + 1, e.msg),
        "fix the syntax and push again");
    err.with_validation(fmt::format("{}:{}", kTemplateFile, e.mark.line + 1), e.msg);
    return err;
  }
  if (!root.IsMap()) {
    return Error::invalid_argument(fmt::format("{}: must be a mapping of fields", kTemplateFile),
                                   "start from an example in examples/templates/");
  }

  Reader r;
  r.only_keys(
      root, "",
      {"name", "display_name", "description", "icon", "isolation", "agents_allowed", "default_ttl",
       "daily_cost", "parameters", "presets", "agents", "scripts", "sandbox", "provisioner_tags"});
  TemplateSpec spec;
  spec.name = r.str(root["name"], "name").value_or("");
  if (spec.name.empty()) {
    r.problem(root, "name", "is required");
  } else if (auto why = name_invalid_reason(spec.name)) {
    r.problem(root["name"], "name", *why);
  }
  spec.display_name = r.str(root["display_name"], "display_name").value_or("");
  spec.description = r.str(root["description"], "description").value_or("");
  spec.icon = r.str(root["icon"], "icon").value_or("");
  std::string isolation = r.str(root["isolation"], "isolation").value_or("sandbox");
  if (auto iso = parse_isolation(isolation)) {
    spec.isolation = *iso;
  } else {
    r.problem(root["isolation"], "isolation",
              fmt::format("unknown isolation \"{}\"; use process, sandbox or script", isolation));
  }
  spec.agents_allowed = r.boolean(root["agents_allowed"], "agents_allowed").value_or(true);
  spec.default_ttl = r.duration(root["default_ttl"], "default_ttl");
  spec.daily_cost = r.integer(root["daily_cost"], "daily_cost").value_or(0);
  if (spec.daily_cost < 0 || spec.daily_cost > kMaxDailyCost) {
    r.problem(root["daily_cost"], "daily_cost",
              fmt::format("must be between 0 and {} credits", kMaxDailyCost));
  }

  if (const auto& t = root["provisioner_tags"]; t.IsDefined() && !t.IsNull()) {
    if (!t.IsMap()) {
      r.problem(t, "provisioner_tags", "must be a mapping of tag names to values, e.g. gpu: a100");
    } else if (t.size() > kMaxTags) {
      r.problem(t, "provisioner_tags", fmt::format("has more than {} tags", kMaxTags));
    } else {
      for (const auto& kv : t) {
        if (!kv.first.IsScalar() || !kv.second.IsScalar()) {
          r.problem(kv.first, "provisioner_tags", "tag names and values must be plain words");
          continue;
        }
        auto key = kv.first.as<std::string>();
        auto value = kv.second.as<std::string>();
        auto why = tag_key_invalid_reason(key);
        if (!why) why = tag_value_invalid_reason(value);
        if (why) {
          r.problem(kv.first, "provisioner_tags." + key, *why);
        } else {
          spec.provisioner_tags[key] = value;
        }
      }
    }
  }

  read_parameters(r, root["parameters"], spec);
  read_presets(r, root["presets"], spec);
  read_agents(r, root["agents"], spec);

  if (const auto& s = root["scripts"]; s.IsDefined() && !s.IsNull()) {
    if (!s.IsMap()) {
      r.problem(s, "scripts", "must be a mapping with start and/or stop");
    } else {
      r.only_keys(s, "scripts", {"start", "stop"});
      spec.scripts.start = r.str(s["start"], "scripts.start").value_or("");
      spec.scripts.stop = r.str(s["stop"], "scripts.stop").value_or("");
    }
  }
  if (spec.isolation == Isolation::script && spec.scripts.start.empty()) {
    r.problem(root["scripts"].IsDefined() ? root["scripts"] : root, "scripts.start",
              "is required with isolation: script (it must start the agents)");
  }
  if (const auto& s = root["sandbox"]; s.IsDefined() && !s.IsNull()) {
    if (!s.IsMap()) {
      r.problem(s, "sandbox", "must be a mapping");
    } else {
      r.only_keys(s, "sandbox", {"network", "limits", "egress"});
      parse_egress(r, s["egress"], spec.sandbox.egress);
      if (const auto& l = s["limits"]; l.IsDefined() && !l.IsNull()) {
        if (!l.IsMap()) {
          r.problem(l, "sandbox.limits", "must be a mapping with memory, processes or cpus");
        } else {
          r.only_keys(l, "sandbox.limits", {"memory", "processes", "cpus"});
          auto& limits = spec.sandbox.limits;
          if (auto m = r.str(l["memory"], "sandbox.limits.memory")) {
            auto bytes = parse_byte_size(*m);
            if (!bytes || *bytes < (std::int64_t{16} << 20)) {
              r.problem(l["memory"], "sandbox.limits.memory",
                        fmt::format("\"{}\" is not a size of at least 16MiB; write e.g. 512MiB or "
                                    "4GiB",
                                    *m));
            } else {
              limits.memory_bytes = *bytes;
            }
          }
          if (auto p = r.integer(l["processes"], "sandbox.limits.processes")) {
            if (*p < 16 || *p > 1'000'000) {
              r.problem(l["processes"], "sandbox.limits.processes", "must be from 16 to 1000000");
            } else {
              limits.processes = *p;
            }
          }
          if (auto c = r.str(l["cpus"], "sandbox.limits.cpus")) {
            double cpus = 0;
            try {
              std::size_t used = 0;
              cpus = std::stod(*c, &used);
              if (used != c->size()) cpus = 0;
            } catch (const std::exception&) {
              cpus = 0;
            }
            if (!(cpus >= 0.01 && cpus <= 1024)) {
              r.problem(l["cpus"], "sandbox.limits.cpus",
                        "must be a number of cores from 0.01 to 1024, e.g. 0.5 or 2");
            } else {
              limits.cpus = cpus;
            }
          }
        }
      }
      spec.sandbox.network = r.boolean(s["network"], "sandbox.network").value_or(false);
      if (spec.sandbox.network) {
        // It used to share the host's network: the server and every loopback service were
        // in reach of the workspace's code.
        r.problem(s["network"], "sandbox.network",
                  "true is no longer supported: a sandbox has its own network namespace; give "
                  "it outbound access with egress: internet or a list of host names "
                  "(docs/templates.md)");
      }
    }
  }
  if (auto readme = files.find(std::string(kReadmeFile)); readme != files.end()) {
    spec.readme = readme->second;
  }

  if (!r.ok()) {
    auto problems = r.take();
    std::string first = problems.front().field + ": " + problems.front().detail;
    Error err = Error::invalid_argument(
        problems.size() == 1 ? first
                             : fmt::format("{} (and {} more problems)", first, problems.size() - 1),
        "fix template.yaml and push again; nothing was stored");
    err.validations = std::move(problems);
    return err;
  }
  return spec;
}

}  // namespace

Result<TemplateSpec> parse_template(const std::map<std::string, std::string>& files) {
  // The checks above read every node by its kind; a conversion that still fails (the YAML
  // library has many corners) is the template's fault, reported as such, never a crash.
  try {
    auto spec = parse_template_checked(files);
    // What is stored is the spec's canonical JSON: it must serialize.
    if (spec) (void)to_json(*spec);
    return spec;
  } catch (const nlohmann::json::exception& e) {
    return Error::invalid_argument(fmt::format("{}: {}", kTemplateFile, e.what()),
                                   "fix template.yaml and push again; nothing was stored");
  } catch (const YAML::Exception& e) {
    return Error::invalid_argument(fmt::format("{}:{}: {}", kTemplateFile, e.mark.line + 1, e.msg),
                                   "fix template.yaml and push again; nothing was stored")
        .with_validation(fmt::format("{}:{}", kTemplateFile, e.mark.line + 1), e.msg);
  }
}

}  // namespace berth::templates
