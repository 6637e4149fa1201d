#pragma once
// The words of the refusals several tools share: one wording per refusal. Each says what is
// wrong and then the next step, a tool to call or an action to take; where the reference
// (spec section 3) fixes a message, its words come first and the next step is appended.
// Tool-specific refusals are named constants in the tool's own file, in the same style.

namespace berth::chattools::refusal {

// Every workspace tool, when the chat has none (spec 3.2: "... no workspace ...").
inline constexpr const char* kNoWorkspace =
    "this chat has no workspace; call create_workspace first";
// ... when its workspace was deleted. {}: owner/name.
inline constexpr const char* kWorkspaceDeleted =
    "workspace {} was deleted; call create_workspace to make a new one";
// create_workspace and read_template.
inline constexpr const char* kTemplateIdRequired =
    "template_id is required; use list_templates to find one";
// {}: the UUID parser's complaint.
inline constexpr const char* kInvalidTemplateId =
    "invalid template_id: {}; pass the id of a template from list_templates";
inline constexpr const char* kTemplateNotFound =
    "template not found; use list_templates to find one";
inline constexpr const char* kTemplateNotAllowed =
    "template not available for chat workspaces; use list_templates to find allowed templates";
// {}: the UUID parser's complaint.
inline constexpr const char* kInvalidPresetId =
    "invalid preset_id: {}; pass a preset id from read_template, or leave preset_id out";
// An argument of the wrong JSON type. {}: its name.
inline constexpr const char* kMustBeString = "{} must be a string; pass it as a JSON string";
// What a failure inside Berth (the database, a service) adds when it says nothing more.
inline constexpr const char* kTryAgain =
    "try again in a moment; if it keeps failing, tell the user Berth reported this error";

}  // namespace berth::chattools::refusal
