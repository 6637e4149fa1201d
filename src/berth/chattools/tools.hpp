#pragma once
// The chat tools, one file each. Each factory takes the parts the tool needs.

#include "berth/chattools/tool.hpp"
#include "berth/chattools/workspace_wait.hpp"
#include "berth/store/store.hpp"
#include "berth/workspaces/admin_service.hpp"

namespace berth::chattools {

struct TemplateToolsOptions {
  store::Store* store = nullptr;
  workspaces::AdminService* admin = nullptr;
};

// list_templates: the templates chat agents may use in the chat's organization.
Tool make_list_templates_tool(TemplateToolsOptions options);
// read_template: one template's parameters, presets and README.
Tool make_read_template_tool(TemplateToolsOptions options);

// The chat's workspace: create (or return the one it has), start, stop, and keep waiting.
Tool make_create_workspace_tool(WorkspaceToolsOptions options);
Tool make_start_workspace_tool(WorkspaceToolsOptions options);
Tool make_stop_workspace_tool(WorkspaceToolsOptions options);
Tool make_wait_for_workspace_tool(WorkspaceToolsOptions options);

// Working in the chat's workspace, through its agent.
Tool make_execute_tool(WorkspaceToolsOptions options);
Tool make_process_output_tool(WorkspaceToolsOptions options);
Tool make_process_signal_tool(WorkspaceToolsOptions options);
Tool make_read_file_tool(WorkspaceToolsOptions options);
Tool make_write_file_tool(WorkspaceToolsOptions options);
Tool make_edit_file_tool(WorkspaceToolsOptions options);
// A preview URL for a port of the chat's workspace.
Tool make_expose_port_tool(WorkspaceToolsOptions options);

}  // namespace berth::chattools
