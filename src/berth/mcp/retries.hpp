#pragma once
// Safe retries. A 2026-07-28 stream does not resume: a client whose stream was cut re-sends
// the call with a new request id. For tools that are safe to repeat that is harmless (the chat
// keeps one workspace; reads read again). For the ones that are not (execute, edit_file: they
// change the workspace and are not idempotent), a call cut off while it runs is recorded, and
// the same call (tool and arguments) in the same chat within ten minutes does not run again:
// it gets the first call's answer once that is known, or, while the first still runs, a result
// saying its outcome is not known yet and what to do. Recorded in the database, so a retry
// that lands on another replica finds it; written only when a call is cut off.

#include <chrono>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "berth/chattools/tool.hpp"
#include "berth/store/store.hpp"

namespace berth::mcp {

class CallRetries {
 public:
  explicit CallRetries(store::Store& store,
                       std::chrono::milliseconds keep = std::chrono::minutes(10));

  // Calls of this tool are not safe to repeat: it changes things and is not idempotent.
  static bool guarded(const chattools::Tool& tool);
  // The identity of a call within its chat: the tool and its arguments (canonical JSON).
  static std::string call_key(const std::string& tool, const nlohmann::json& arguments);

  // What an identical earlier call of the chat, cut off, says to this one: its answer (handed
  // over once), or while it runs, that its outcome is not known yet. nullopt: run the call.
  std::optional<chattools::ToolResult> earlier(const std::string& chat_id, const std::string& tool,
                                               const std::string& key);
  // Records a call cut off while it runs. Returns the record's id ("" when not recorded).
  std::string cut(const std::string& chat_id, const std::string& tool, const std::string& key,
                  UnixMillis started_at);
  // The cut-off call ended with `result`: an identical call gets it.
  void finished(const std::string& record_id, const chattools::ToolResult& result);

 private:
  store::Store& store_;
  std::chrono::milliseconds keep_;
};

}  // namespace berth::mcp
