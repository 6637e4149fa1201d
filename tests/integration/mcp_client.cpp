#include "tests/integration/mcp_client.hpp"

#include <gtest/gtest.h>

namespace berth::testing {

McpClient::McpClient(const TestServer& server, std::string token, std::string chat_key)
    : url_(server.url()),
      token_(std::move(token)),
      path_(chat_key.empty() ? "/mcp" : "/mcp?chat=" + chat_key) {
  auto r = post({{"jsonrpc", "2.0"},
                 {"id", next_id_++},
                 {"method", "initialize"},
                 {"params",
                  {{"protocolVersion", "2025-11-25"},
                   {"capabilities", json::object()},
                   {"clientInfo", {{"name", "integration"}, {"version", "1"}}}}}},
                false);
  EXPECT_EQ(r.status, 200) << r.body;
  session_ = r.headers["mcp-session-id"];
  post({{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}}, false);
}

HttpReply McpClient::post(const json& message, bool stream) const {
  std::map<std::string, std::string> h = {
      {"Authorization", "Bearer " + token_},
      {"Content-Type", "application/json"},
      {"Accept", stream ? "application/json, text/event-stream" : "application/json"}};
  if (!session_.empty()) h["Mcp-Session-Id"] = session_;
  for (const auto& [k, v] : extra_) h[k] = v;
  return http_request(url_, "POST", path_, h, message.dump());
}

json McpClient::call_raw(const std::string& tool, const json& arguments, int id) {
  auto r = post({{"jsonrpc", "2.0"},
                 {"id", id},
                 {"method", "tools/call"},
                 {"params", {{"name", tool}, {"arguments", arguments}}}},
                false);
  EXPECT_EQ(r.status, 200) << r.body;
  return r.json_body();
}

json McpClient::call(const std::string& tool, const json& arguments) {
  json response = call_raw(tool, arguments, next_id_++);
  EXPECT_TRUE(response.contains("result")) << response.dump();
  return response.value("result", json::object());
}

McpClient::Streamed McpClient::call_streaming(const std::string& tool, const json& arguments,
                                              int id) {
  auto r = post(
      {{"jsonrpc", "2.0"},
       {"id", id},
       {"method", "tools/call"},
       {"params", {{"name", tool}, {"arguments", arguments}, {"_meta", {{"progressToken", "t"}}}}}},
      true);
  Streamed out;
  out.content_type = r.headers["content-type"];
  // "event: message\ndata: {...}\n\n" frames.
  std::size_t pos = 0;
  while ((pos = r.body.find("data: ", pos)) != std::string::npos) {
    auto end = r.body.find('\n', pos);
    json message = json::parse(r.body.substr(pos + 6, end - pos - 6), nullptr, false);
    pos = end;
    if (message.contains("method")) {
      out.notifications.push_back(std::move(message));
    } else {
      out.response = std::move(message);
    }
  }
  return out;
}

int McpClient::notify(const std::string& method, const json& params) {
  return post({{"jsonrpc", "2.0"}, {"method", method}, {"params", params}}, false).status;
}

json wait_until_done(McpClient& mcp, int max_calls) {
  json r;
  for (int i = 0; i < max_calls; ++i) {
    r = mcp.call("wait_for_workspace")["structuredContent"];
    if (r.value("status", "") != "in_progress") return r;
  }
  ADD_FAILURE() << "still in progress: " << r.dump();
  return r;
}

}  // namespace berth::testing
