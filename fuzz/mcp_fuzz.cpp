// libFuzzer target: a JSON-RPC message to the MCP server, as /mcp and stdio hand it over
// (after the same untrusted parse), on an initialized session with one tool that echoes its
// arguments, and the same message as a 2026-07-28 request (handle_modern, with the Tasks
// extension offered over a real SQLite store). Invariants: neither throws, and each answer is
// a JSON-RPC response.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <cstdlib>
#include <filesystem>
#include <memory>

#include "berth/core/untrusted.hpp"
#include "berth/mcp/mcp_server.hpp"
#include "berth/mcp/tasks.hpp"
#include "berth/store/sqlite/sqlite_store.hpp"

namespace {

berth::mcp::McpServer& server() {
  static berth::mcp::McpServer s(
      {{.name = "echo",
        .title = "Echo",
        .description = "Returns its arguments",
        .input_schema = {{"type", "object"}},
        .output_schema = {{"type", "object"}},
        .handler = [](berth::chattools::ToolContext&,
                      nlohmann::json args) -> boost::asio::awaitable<berth::chattools::ToolResult> {
          berth::chattools::ToolResult r;
          r.structured = {{"arguments", std::move(args)}};
          co_return r;
        }}},
      nullptr);
  return s;
}

// The Tasks extension on a store in a fresh temporary directory (tasks/get, tasks/cancel and
// tasks/update read it; the echo tool never runs as a task).
void offer_tasks(boost::asio::io_context& io) {
  static std::unique_ptr<berth::store::SqliteStore> store;
  static std::unique_ptr<berth::mcp::TaskRunner> tasks;
  if (tasks) return;
  char dir[] = "/tmp/berth-fuzz-XXXXXX";
  if (!::mkdtemp(dir)) __builtin_trap();
  auto opened = berth::store::SqliteStore::open((std::filesystem::path(dir) / "berth.db").string());
  if (!opened) __builtin_trap();
  store = std::move(*opened);
  tasks = std::make_unique<berth::mcp::TaskRunner>(
      berth::mcp::TaskOptions{
          .store = store.get(), .executor = io.get_executor(), .runner = "fuzz"},
      server().tools());
  server().set_tasks(tasks.get());
}

bool is_response(const std::optional<nlohmann::json>& answer) {
  if (!answer) return true;
  if (!answer->is_object() || !answer->contains("jsonrpc")) return false;
  (void)berth::dump_json(*answer);
  return true;
}

// The message through both eras. A free function, not a lambda coroutine (GCC 12 emits a
// lambda coroutine with a try block twice), so that the target also builds with GCC.
boost::asio::awaitable<void> answer_both(nlohmann::json message, berth::mcp::Session& session,
                                         berth::mcp::Session& calls,
                                         std::optional<nlohmann::json>& answer,
                                         std::optional<nlohmann::json>& modern) {
  nlohmann::json copy = message;
  // Named, not temporaries in the co_await expressions (GCC 12 destroys those twice).
  berth::chattools::ToolContext context, modern_context;
  berth::mcp::NotificationSink sink, modern_sink;
  // Both promise never to throw: an exception here is a finding.
  try {
    answer =
        co_await server().handle(std::move(message), session, std::move(context), std::move(sink));
    modern = co_await server().handle_modern(std::move(copy), calls, std::move(modern_context),
                                             std::move(modern_sink));
  } catch (...) {
    __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  nlohmann::json message;
  if (berth::parse_untrusted_json(std::string_view(reinterpret_cast<const char*>(data), size),
                                  message) != berth::JsonRefusal::none) {
    return 0;
  }
  static boost::asio::io_context io;
  offer_tasks(io);
  berth::mcp::Session session;
  session.initialized = true;
  session.protocol_version = "2025-11-25";
  berth::mcp::Session calls;
  std::optional<nlohmann::json> answer, modern;
  boost::asio::co_spawn(io, answer_both(std::move(message), session, calls, answer, modern),
                        boost::asio::detached);
  io.restart();
  io.run();
  if (!is_response(answer) || !is_response(modern)) __builtin_trap();
  return 0;
}
