// `berth mcp`: MCP over stdio for clients that spawn their servers (Claude Desktop, Claude
// Code, SDK StdioClientTransport). Each line on stdin is one JSON-RPC message; it is posted to
// the server's /mcp and the answer is written to stdout as one line. Logs go to stderr only.
#include <iostream>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "berth/cli/commands.hpp"
#include "berth/cli/http_client.hpp"

namespace berth::cli {

using nlohmann::json;

namespace {

constexpr int kInvalidRequest = -32600;
constexpr int kParseError = -32700;
constexpr int kInternalError = -32603;

void emit(const json& message) {
  std::cout << message.dump() << "\n";
  std::cout.flush();
}

json rpc_error(const json& id, int code, const std::string& message) {
  return {{"jsonrpc", "2.0"}, {"id", id}, {"error", {{"code", code}, {"message", message}}}};
}

int run_mcp_bridge(const GlobalOptions& g, const std::string& chat) {
  ApiClient client(g.resolved_url(), g.resolved_token());
  std::string path = "/mcp";
  if (!chat.empty()) path += "?chat=" + path_segment(chat);
  std::string session;
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line.empty()) continue;
    json message = json::parse(line, nullptr, false);
    if (message.is_discarded()) {
      emit(rpc_error(nullptr, kParseError, "Parse error: the line is not valid JSON"));
      continue;
    }
    const bool is_request =
        message.is_object() && message.contains("id") && message.contains("method");
    const json id = is_request ? message["id"] : json();
    std::map<std::string, std::string> headers = {
        {"Content-Type", "application/json"}, {"Accept", "application/json, text/event-stream"}};
    if (!session.empty()) headers["Mcp-Session-Id"] = session;
    auto reply = client.exchange("POST", path, headers, line);
    if (!reply) {
      std::cerr << "berth mcp: " << reply.error().message << "\n";
      if (is_request) emit(rpc_error(id, kInternalError, reply.error().message));
      continue;
    }
    if (auto it = reply->headers.find("mcp-session-id"); it != reply->headers.end())
      session = it->second;
    if (reply->status == 202 || reply->body.empty()) continue;
    json answer = json::parse(reply->body, nullptr, false);
    if (answer.is_object() && answer.contains("jsonrpc")) {
      if (answer.contains("error") && answer["id"].is_null() && is_request) answer["id"] = id;
      emit(answer);
      continue;
    }
    // A REST error (e.g. 401 for a bad token): say it in JSON-RPC terms.
    std::string text = answer.is_object() ? answer.value("message", reply->body) : reply->body;
    if (answer.is_object() && answer.contains("detail"))
      text += "; " + answer["detail"].get<std::string>();
    std::cerr << "berth mcp: " << reply->status << " " << text << "\n";
    if (is_request) emit(rpc_error(id, kInvalidRequest, text));
  }
  return 0;
}

}  // namespace

void add_mcp_command(CLI::App& app, GlobalOptions& global, int& exit_code) {
  auto chat = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("mcp", "Serve MCP over stdio, bridged to a running Berth server");
  cmd->add_option("--chat", *chat, "Chat key: reconnecting with the same key keeps the workspace");
  cmd->callback([&global, &exit_code, chat] { exit_code = run_mcp_bridge(global, *chat); });
}

}  // namespace berth::cli
