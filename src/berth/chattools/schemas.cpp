#include "berth/chattools/schemas.hpp"

namespace berth::chattools {

using nlohmann::json;

json workspace_result_schema() {
  const json str = {{"type", "string"}};
  const json boolean = {{"type", "boolean"}};
  const auto one_of = [](std::initializer_list<const char*> values) {
    json e = json::array();
    for (const char* v : values) e.push_back(v);
    return json{{"type", "string"}, {"enum", e}};
  };
  json p = json::object();
  p["created"] = boolean;
  p["prebuild_claimed"] = boolean;
  p["started"] = boolean;
  p["stopped"] = boolean;
  p["workspace_name"] = str;
  p["build_id"] = str;
  p["no_build"] = boolean;
  p["status"] =
      one_of({"already_exists", "stopped", "in_progress", "ready", "not_ready", "deleted"});
  p["message"] = str;
  p["phase"] = one_of({"queued", "building", "connecting_agent", "running_startup_scripts"});
  p["next_step"] = str;
  p["agent_status"] = one_of({"no_agent", "selection_error", "not_ready"});
  p["agent_error"] = str;
  p["startup_scripts"] =
      one_of({"startup_scripts_failed", "startup_scripts_timeout", "startup_scripts_unknown"});
  p["lifecycle_state"] = str;
  p["instructions"] = str;
  p["instructions_truncated"] = boolean;
  json replaced = {{"type", "object"}, {"properties", json::object()}};
  replaced["properties"]["workspace_name"] = str;
  replaced["properties"]["reason"] = str;
  replaced["properties"]["stopped"] = boolean;
  p["replaced_workspace"] = replaced;
  p["updated_to_active_version"] = boolean;
  p["update_reason"] = str;
  p["template_id"] = str;
  p["error"] = str;
  p["detail"] = str;
  json validation = {{"type", "object"}, {"properties", json::object()}};
  validation["properties"]["field"] = str;
  validation["properties"]["detail"] = str;
  p["validations"] = {{"type", "array"}, {"items", validation}};
  p["error_code"] = str;
  p["title"] = str;
  json quota = {{"type", "object"}, {"properties", json::object()}};
  quota["properties"]["credits_consumed"] = {{"type", "integer"}};
  quota["properties"]["budget"] = {{"type", "integer"}};
  p["quota"] = quota;
  return {{"type", "object"}, {"properties", p}};
}

}  // namespace berth::chattools
