#pragma once
// Reads a template directory's files (template.yaml, README.md) into a validated
// TemplateSpec. Every problem names the file, the line and the field, e.g.
//   template.yaml:14: agents[0].startup_script_timeout: invalid duration "ten": ...
// and nothing is stored unless the whole template is valid.

#include <map>
#include <string>

#include "berth/core/result.hpp"
#include "berth/templates/template_spec.hpp"

namespace berth::templates {

inline constexpr std::string_view kTemplateFile = "template.yaml";
inline constexpr std::string_view kReadmeFile = "README.md";

// `files` maps a file name relative to the template directory to its contents.
// Returns invalid_argument with one Validation per problem (field = "template.yaml:LINE: path").
Result<TemplateSpec> parse_template(const std::map<std::string, std::string>& files);

}  // namespace berth::templates
