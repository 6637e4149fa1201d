// read_template: one template's parameters, presets and README (spec section 3.6).
#include <fmt/format.h>

#include "berth/chattools/arguments.hpp"
#include "berth/chattools/refusals.hpp"
#include "berth/chattools/tools.hpp"
#include "berth/core/ids.hpp"
#include "berth/templates/template_spec.hpp"

namespace berth::chattools {

namespace msg {
constexpr const char* kDescription =
    "Read a template before creating a workspace from it: its parameters (name, type, "
    "default, options, validation), presets (pass a preset's id as preset_id) and README. "
    "Needs a template_id from list_templates.";
constexpr const char* kParametersNote =
    "Pass values as strings in create_workspace's parameters object. Parameters with "
    "required=true have no default and must be given; the others fall back to their default. "
    "Immutable parameters cannot change after the workspace is created.";
}  // namespace msg

namespace {

constexpr std::size_t kReadmeRunes = 8000;
constexpr std::size_t kDescriptionRunes = 300;

// Cuts `s` to at most `runes` UTF-8 code points.
std::string limit_runes(const std::string& s, std::size_t runes) {
  std::size_t count = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80 && count++ == runes)
      return s.substr(0, i);
  }
  return s;
}

json parameter_json(const templates::ParameterSpec& p) {
  json j = {{"name", p.name},
            {"type", templates::to_string(p.type)},
            {"required", p.required()},
            {"mutable", p.mutable_}};
  if (!p.display_name.empty()) j["display_name"] = p.display_name;
  if (!p.description.empty()) j["description"] = limit_runes(p.description, kDescriptionRunes);
  if (p.default_value) j["default"] = *p.default_value;
  if (!p.options.empty()) {
    j["options"] = json::array();
    for (const auto& o : p.options) j["options"].push_back({{"name", o.name}, {"value", o.value}});
  }
  if (!p.validation_regex.empty()) j["validation_regex"] = p.validation_regex;
  if (p.validation_min) j["validation_min"] = *p.validation_min;
  if (p.validation_max) j["validation_max"] = *p.validation_max;
  return j;
}

}  // namespace

namespace {

std::string network_note(const egress::Policy& policy) {
  switch (policy.mode) {
    case egress::Mode::none:
      return "none: commands in the workspace reach no network";
    case egress::Mode::internet:
      return "internet: HTTP and HTTPS to public addresses through the workspace's proxy "
             "(HTTP_PROXY is set); private and loopback addresses are refused";
    case egress::Mode::allowlist:
      break;
  }
  std::string hosts;
  for (const auto& h : policy.allow) hosts += (hosts.empty() ? "" : ", ") + h;
  return "only " + hosts +
         ": HTTP and HTTPS through the workspace's proxy (HTTP_PROXY is set); other hosts are "
         "refused";
}

}  // namespace

Tool make_read_template_tool(TemplateToolsOptions o) {
  Tool t;
  t.name = "read_template";
  t.title = "Read a template";
  t.description = msg::kDescription;
  t.annotations = {.read_only = true, .idempotent = true};
  t.input_schema = {
      {"type", "object"},
      {"properties",
       {{"template_id", {{"type", "string"}, {"description", "Template id from list_templates"}}}}},
      {"required", {"template_id"}},
      {"additionalProperties", false}};
  t.output_schema = {{"type", "object"},
                     {"properties",
                      {{"template", {{"type", "object"}}},
                       {"parameters", {{"type", "array"}}},
                       {"parameters_note", {{"type", "string"}}},
                       {"presets", {{"type", "array"}}},
                       {"error", {{"type", "string"}}}}}};
  t.handler = [o](ToolContext& ctx, json args) -> boost::asio::awaitable<ToolResult> {
    auto trimmed = string_argument(args, "template_id");
    if (!trimmed) co_return ToolResult::from_error(trimmed.error());
    if (trimmed->empty()) co_return ToolResult::text_error(refusal::kTemplateIdRequired);
    auto id = parse_uuid(*trimmed);
    if (!id) {
      co_return ToolResult::text_error(
          fmt::format(fmt::runtime(refusal::kInvalidTemplateId), uuid_error(*trimmed)));
    }

    // Templates the caller may not see and templates of other organizations read the same.
    auto tmpl = o.admin->get_template(ctx.actor, *id);
    if (!tmpl) co_return ToolResult::text_error(refusal::kTemplateNotFound);
    if (!ctx.organization_id.empty() && tmpl->organization_id != ctx.organization_id) {
      co_return ToolResult::text_error(refusal::kTemplateNotFound);
    }
    if (!tmpl->agents_allowed) co_return ToolResult::text_error(refusal::kTemplateNotAllowed);
    auto version = o.store->template_version_by_id(tmpl->active_version_id);
    if (!version) {
      co_return ToolResult::from_error(version.error(), "failed to get template parameters: ");
    }
    auto spec = templates::from_json(version->spec);
    if (!spec)
      co_return ToolResult::from_error(spec.error(), "failed to get template parameters: ");
    auto presets = o.store->presets_for_version(version->id);
    if (!presets) {
      co_return ToolResult::from_error(presets.error(), "failed to get template presets: ");
    }

    json info = {
        {"id", tmpl->id}, {"name", tmpl->name}, {"active_version_id", tmpl->active_version_id}};
    if (!tmpl->display_name.empty()) info["display_name"] = tmpl->display_name;
    if (!tmpl->description.empty()) info["description"] = tmpl->description;
    if (!version->readme.empty()) info["readme"] = limit_runes(version->readme, kReadmeRunes);
    // What commands in such a workspace can download: the model plans installs by it.
    if (spec->isolation == templates::Isolation::sandbox) {
      info["network"] = network_note(spec->sandbox.egress);
    }
    json params = json::array();
    for (const auto& p : spec->parameters) params.push_back(parameter_json(p));
    json result = {
        {"template", info}, {"parameters", params}, {"parameters_note", msg::kParametersNote}};
    if (!presets->empty()) {
      json list = json::array();
      for (const auto& p : *presets) {
        json values = json::array();
        json stored = json::parse(p.parameters, nullptr, false);
        if (stored.is_object()) {
          for (auto& [k, v] : stored.items()) values.push_back({{"name", k}, {"value", v}});
        }
        json item = {
            {"id", p.id}, {"name", p.name}, {"default", p.is_default}, {"parameters", values}};
        if (!p.description.empty()) item["description"] = p.description;
        if (p.desired_instances > 0) item["desired_prebuild_instances"] = p.desired_instances;
        list.push_back(std::move(item));
      }
      result["presets"] = std::move(list);
    }
    co_return ToolResult::success(std::move(result));
  };
  return t;
}

}  // namespace berth::chattools
