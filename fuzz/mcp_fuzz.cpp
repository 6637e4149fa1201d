// libFuzzer target: a JSON-RPC message to the MCP server, as /mcp and stdio hand it over
// (after the same untrusted parse), on an initialized session with one tool that echoes its
// arguments. Invariants: handle() never throws, and its answer is a JSON-RPC response.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include "berth/core/untrusted.hpp"
#include "berth/mcp/mcp_server.hpp"

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

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  nlohmann::json message;
  if (berth::parse_untrusted_json(std::string_view(reinterpret_cast<const char*>(data), size),
                                  message) != berth::JsonRefusal::none) {
    return 0;
  }
  boost::asio::io_context io;
  berth::mcp::Session session;
  session.initialized = true;
  session.protocol_version = "2025-11-25";
  std::optional<nlohmann::json> answer;
  boost::asio::co_spawn(
      io,
      [&]() -> boost::asio::awaitable<void> {
        answer = co_await server().handle(std::move(message), session, {}, {});
      },
      boost::asio::detached);
  io.run();
  if (answer && (!answer->is_object() || !answer->contains("jsonrpc"))) __builtin_trap();
  if (answer) (void)berth::dump_json(*answer);
  return 0;
}
