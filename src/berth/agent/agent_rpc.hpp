#pragma once
// What an agent does for the server's requests: run a command, read a file, write a file.
// Paths are relative to the agent's working directory unless absolute.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <nlohmann/json.hpp>

namespace berth::agent {

// Handles one request. Returns {"result": ...} or {"error": {"code", "message"}}.
boost::asio::awaitable<nlohmann::json> handle_request(boost::asio::any_io_executor executor,
                                                      std::string method, nlohmann::json params);

}  // namespace berth::agent
