#pragma once
// The OpenAPI 3.1 document of the REST API: written as src/berth/http/openapi.yaml, embedded
// at build time, served as JSON at GET /api/v1/openapi.json (no token needed).

#include <string_view>

#include <nlohmann/json.hpp>

namespace berth::http {

// The embedded YAML text.
std::string_view openapi_yaml();
// The document as JSON (converted once; plain YAML scalars that read as numbers, booleans or
// null keep those types, quoted ones stay strings).
const nlohmann::json& openapi_document();
// YAML text -> JSON by the rule above (exposed for tests).
nlohmann::json yaml_to_json(std::string_view yaml);

}  // namespace berth::http
