// `berth mcp`: MCP over stdio for clients that spawn their servers (Claude Desktop, Claude
// Code, SDK StdioClientTransport). Each line on stdin is one JSON-RPC message; it is posted to
// the server's /mcp and every message of the answer (progress notifications of a streamed
// tool call, then its response) is written to stdout as one line. Requests run concurrently,
// so a ping or a notifications/cancelled is not stuck behind a long tools/call. Logs go to
// stderr only.
//
// Both MCP eras pass through. A 2026-07-28 message (its params._meta names the version) has no
// session: the bridge sends the headers that revision requires over HTTP, taken from the
// message itself (MCP-Protocol-Version, Mcp-Method, Mcp-Name), and every request runs on its
// own. A 2026-07-28 client cancels over stdio with notifications/cancelled; the bridge then
// closes that request's connection, which is how that revision cancels over HTTP, and writes
// nothing more for it.
#include <algorithm>
#include <atomic>
#include <iostream>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "berth/cli/commands.hpp"
#include "berth/cli/http_client.hpp"
#include "berth/core/ids.hpp"
#include "berth/core/untrusted.hpp"

namespace berth::cli {

using nlohmann::json;

namespace {

constexpr int kInvalidRequest = -32600;
constexpr int kParseError = -32700;
constexpr int kInternalError = -32603;

std::mutex stdout_mu;

void emit(const json& message) {
  std::lock_guard lock(stdout_mu);
  std::cout << message.dump() << "\n";
  std::cout.flush();
}

json rpc_error(const json& id, int code, const std::string& message) {
  return {{"jsonrpc", "2.0"}, {"id", id}, {"error", {{"code", code}, {"message", message}}}};
}

// The 2026-07-28 version a message names in params._meta ("2026-07-28" for server/discover,
// the probe a client sends first), or "" for a 2025-era message.
std::string modern_version(const json& message) {
  if (!message.is_object()) return "";
  const json params = message.value("params", json::object());
  if (params.is_object()) {
    const json meta = params.value("_meta", json::object());
    if (meta.is_object()) {
      const json v = meta.value("io.modelcontextprotocol/protocolVersion", json());
      if (v.is_string()) return v.get<std::string>();
    }
  }
  return message.value("method", json()) == "server/discover" ? "2026-07-28" : "";
}

// A header value as 2026-07-28 spells names that are not plain printable ASCII.
std::string header_value(const std::string& s) {
  const bool plain = std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
  if (plain && !s.starts_with("=?")) return s;
  return "=?base64?" + base64_encode(s) + "?=";
}

// The 2026-07-28 requests in flight, by their JSON-RPC id (dumped), so that
// notifications/cancelled can close their connections.
class InFlight {
 public:
  std::shared_ptr<ExchangeAbort> add(const std::string& id) {
    auto abort = std::make_shared<ExchangeAbort>();
    std::lock_guard lock(mu_);
    calls_[id] = abort;
    return abort;
  }
  void remove(const std::string& id, const std::shared_ptr<ExchangeAbort>& abort) {
    std::lock_guard lock(mu_);
    if (auto it = calls_.find(id); it != calls_.end() && it->second == abort) calls_.erase(it);
  }
  // False when no such request is in flight (finished, or never ours): nothing to do.
  bool cancel(const std::string& id) {
    std::lock_guard lock(mu_);
    auto it = calls_.find(id);
    if (it == calls_.end()) return false;
    it->second->abort();
    return true;
  }

 private:
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<ExchangeAbort>> calls_;
};

// Posts one message and writes what comes back. Returns the session id the server named.
std::string relay(ApiClient& client, const std::string& path, const std::string& session,
                  const std::string& line, const json& message,
                  const std::shared_ptr<ExchangeAbort>& abort = nullptr) {
  const bool is_request =
      message.is_object() && message.contains("id") && message.contains("method");
  const json id = is_request ? message["id"] : json();
  std::map<std::string, std::string> headers = {{"Content-Type", "application/json"},
                                                {"Accept", "application/json, text/event-stream"}};
  if (const std::string version = modern_version(message); !version.empty()) {
    headers["MCP-Protocol-Version"] = version;
    const json method = message.value("method", json());
    if (method.is_string()) headers["Mcp-Method"] = header_value(method.get<std::string>());
    const json params = message.value("params", json::object());
    // Mcp-Name: the tool of a tools/call, the task of a tasks/ request.
    const bool task = method.is_string() && method.get<std::string>().starts_with("tasks/");
    const json name = params.is_object() ? params.value(task ? "taskId" : "name", json()) : json();
    if ((method == "tools/call" || task) && name.is_string()) {
      headers["Mcp-Name"] = header_value(name.get<std::string>());
    }
  } else if (!session.empty()) {
    headers["Mcp-Session-Id"] = session;
  }
  auto reply = client.exchange(
      "POST", path, headers, line,
      [&abort](const std::string& event, const std::string& data) {
        if (abort && abort->aborted()) return false;  // cancelled: nothing more goes out
        json m = json::parse(data, nullptr, false);
        if (event == "message" && !m.is_discarded()) emit(m);
        return true;
      },
      abort);
  if (!reply && reply.error().code == ErrorCode::cancelled) return session;  // cancelled
  if (!reply) {
    std::cerr << "berth mcp: " << reply.error().message << "\n";
    if (is_request) emit(rpc_error(id, kInternalError, reply.error().message));
    return session;
  }
  std::string named = session;
  if (auto it = reply->headers.find("mcp-session-id"); it != reply->headers.end())
    named = it->second;
  if (reply->status == 202 || reply->body.empty()) return named;  // or streamed already
  json answer = json::parse(reply->body, nullptr, false);
  if (answer.is_object() && answer.contains("jsonrpc")) {
    if (answer.contains("error") && answer["id"].is_null() && is_request) answer["id"] = id;
    emit(answer);
    return named;
  }
  // A REST error (e.g. 401 for a bad token): say it in JSON-RPC terms.
  std::string text = answer.is_object() ? answer.value("message", reply->body) : reply->body;
  if (answer.is_object() && answer.contains("detail"))
    text += "; " + answer["detail"].get<std::string>();
  std::cerr << "berth mcp: " << reply->status << " " << text << "\n";
  if (is_request) emit(rpc_error(id, kInvalidRequest, text));
  return named;
}

struct Worker {
  std::thread thread;
  std::shared_ptr<std::atomic<bool>> done;
};

int run_mcp_bridge(const GlobalOptions& g, const std::string& chat) {
  const std::string url = g.resolved_url();
  const std::string token = g.resolved_token();
  std::string path = "/mcp";
  if (!chat.empty()) path += "?chat=" + path_segment(chat);
  std::string session;
  std::list<Worker> workers;
  auto in_flight = std::make_shared<InFlight>();
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line.empty()) continue;
    json message;
    if (auto refused = parse_untrusted_json(line, message); refused != JsonRefusal::none) {
      emit(rpc_error(nullptr, kParseError,
                     "Parse error: " + json_refusal_message(refused, "the line")));
      continue;
    }
    // Finished workers are joined as we go, so a long session does not pile up threads.
    workers.remove_if([](Worker& w) {
      if (!w.done->load()) return false;
      w.thread.join();
      return true;
    });
    const bool is_request =
        message.is_object() && message.contains("id") && message.contains("method");
    // initialize names the session and notifications are quick: both are relayed in order.
    // Other requests each get a thread, so they can overlap; 2026-07-28 requests need no
    // session.
    const bool modern = !modern_version(message).empty();
    // A cancellation of a 2026-07-28 request in flight closes its connection; any other goes
    // to the server (a 2025-11-25 session cancels its call there).
    if (!is_request && message.value("method", json()) == "notifications/cancelled") {
      const json params = message.value("params", json::object());
      if (params.is_object() && params.contains("requestId") &&
          in_flight->cancel(params["requestId"].dump())) {
        continue;
      }
    }
    if (!is_request || message.value("method", json()) == "initialize" ||
        (session.empty() && !modern)) {
      ApiClient client(url, token);
      session = relay(client, path, session, line, message);
      continue;
    }
    auto done = std::make_shared<std::atomic<bool>>(false);
    std::shared_ptr<ExchangeAbort> abort;
    const std::string id = message["id"].dump();
    if (modern) abort = in_flight->add(id);
    std::thread t([url, token, path, session, line, message, done, abort, in_flight, id] {
      ApiClient client(url, token);
      relay(client, path, session, line, message, abort);
      if (abort) in_flight->remove(id, abort);
      done->store(true);
    });
    workers.push_back({std::move(t), std::move(done)});
  }
  for (auto& w : workers) w.thread.join();
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
