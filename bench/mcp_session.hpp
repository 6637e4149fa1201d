#pragma once
// One MCP session over Streamable HTTP for the benchmarks: initialize, then tools/call
// answered as JSON. Header-only; the benchmarks link berth_cli for the HTTP client.

#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/bench_support.hpp"
#include "berth/cli/http_client.hpp"

namespace berth::bench {

using nlohmann::json;

// One MCP session on /mcp (optionally on a chat key).
class Session {
 public:
  Session(const BenchServer& s, const std::string& chat_key = "", const std::string& token = "")
      : api_(s.url(), token.empty() ? s.token() : token),
        path_(chat_key.empty() ? "/mcp" : "/mcp?chat=" + chat_key) {
    auto r = post({{"jsonrpc", "2.0"},
                   {"id", 0},
                   {"method", "initialize"},
                   {"params",
                    {{"protocolVersion", "2025-11-25"},
                     {"capabilities", json::object()},
                     {"clientInfo", {{"name", "bench"}, {"version", "1"}}}}}});
    id_ = r.headers["mcp-session-id"];
    if (id_.empty()) throw std::runtime_error("initialize failed: " + r.body);
    post({{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}});
  }
  // Ends the session, as a client does when it is done (a token has at most 64 at a time).
  ~Session() {
    std::map<std::string, std::string> h = {{"Mcp-Session-Id", id_}};
    (void)api_.exchange("DELETE", path_, h, "");
  }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // tools/call; returns structuredContent, throws on a JSON-RPC error or a tool error.
  json call(const std::string& tool, const json& args) {
    auto r = post({{"jsonrpc", "2.0"},
                   {"id", ++next_},
                   {"method", "tools/call"},
                   {"params", {{"name", tool}, {"arguments", args}}}});
    json body = json::parse(r.body, nullptr, false);
    if (!body.contains("result")) throw std::runtime_error(tool + " failed: " + r.body);
    if (body["result"].value("isError", false)) {
      throw std::runtime_error(tool + " returned an error: " + r.body);
    }
    return body["result"]["structuredContent"];
  }

 private:
  berth::cli::ApiClient::Reply post(const json& message) {
    std::map<std::string, std::string> h = {{"Content-Type", "application/json"},
                                            {"Accept", "application/json, text/event-stream"}};
    if (!id_.empty()) h["Mcp-Session-Id"] = id_;
    auto r = api_.exchange("POST", path_, h, message.dump());
    if (!r) throw std::runtime_error("POST /mcp: " + r.error().message);
    return *r;
  }

  berth::cli::ApiClient api_;
  std::string path_;
  std::string id_;
  int next_ = 0;
};

// A 2026-07-28 client on /mcp (optionally on a chat key): no session, each request names its
// version in params._meta and carries the revision's headers. It accepts event streams, as the
// SDK does, so every tools/call is answered as an SSE stream; the answer is its last event.
class StatelessClient {
 public:
  StatelessClient(const BenchServer& s, const std::string& chat_key = "")
      : api_(s.url(), s.token()), path_(chat_key.empty() ? "/mcp" : "/mcp?chat=" + chat_key) {}

  json call(const std::string& tool, const json& args) {
    json message = {
        {"jsonrpc", "2.0"},
        {"id", ++next_},
        {"method", "tools/call"},
        {"params",
         {{"name", tool},
          {"arguments", args},
          {"_meta",
           {{"io.modelcontextprotocol/protocolVersion", "2026-07-28"},
            {"io.modelcontextprotocol/clientCapabilities", json::object()},
            {"io.modelcontextprotocol/clientInfo", {{"name", "bench"}, {"version", "1"}}}}}}}};
    std::map<std::string, std::string> h = {{"Content-Type", "application/json"},
                                            {"Accept", "application/json, text/event-stream"},
                                            {"MCP-Protocol-Version", "2026-07-28"},
                                            {"Mcp-Method", "tools/call"},
                                            {"Mcp-Name", tool}};
    auto r = api_.exchange("POST", path_, h, message.dump());
    if (!r) throw std::runtime_error("POST /mcp: " + r.error().message);
    std::string text = r->body;
    if (auto at = text.rfind("data: "); at != std::string::npos) {
      text = text.substr(at + 6, text.find('\n', at) - at - 6);
    }
    json body = json::parse(text, nullptr, false);
    if (!body.is_object() || !body.contains("result")) {
      throw std::runtime_error(tool + " failed: " + r->body);
    }
    if (body["result"].value("isError", false)) {
      throw std::runtime_error(tool + " returned an error: " + r->body);
    }
    return body["result"]["structuredContent"];
  }

 private:
  berth::cli::ApiClient api_;
  std::string path_;
  int next_ = 0;
};

// Tokens of the server's admin, one per `per_token` sessions of `sessions` open at once (the
// server lets one token hold at most 64 MCP sessions).
inline std::vector<std::string> session_tokens(const BenchServer& s, int sessions,
                                               int per_token = 50) {
  berth::cli::ApiClient api(s.url(), s.token());
  std::vector<std::string> out;
  for (int i = 0; i < (sessions + per_token - 1) / per_token; ++i) {
    auto t = api.post("/api/v1/tokens", {{"name", "bench-sessions-" + std::to_string(i)}});
    if (!t) throw std::runtime_error("token: " + t.error().message);
    out.push_back((*t)["token"]);
  }
  return out;
}

}  // namespace berth::bench
