#pragma once
// What an agent does for the server's requests: run a command (in the foreground, or in the
// background and read or signal it later), read, write and edit files. Paths are relative to
// the agent's working directory unless absolute. Used on the agent's one executor.

#include <functional>
#include <map>
#include <memory>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <nlohmann/json.hpp>

namespace berth::agent {

class RequestHandler {
 public:
  explicit RequestHandler(boost::asio::any_io_executor executor);
  ~RequestHandler();

  // Sends exec's output as it comes, when the request asks for it (stream: true).
  using OutputSink = std::function<void(std::string data)>;

  // Handles one request. Returns {"result": ...} or {"error": {"code", "message"}}.
  boost::asio::awaitable<nlohmann::json> handle(std::string method, nlohmann::json params,
                                                OutputSink output = {});

  struct Background;

 private:
  nlohmann::json start_background(const nlohmann::json& params);
  nlohmann::json process_output(const nlohmann::json& params);
  nlohmann::json process_signal(const nlohmann::json& params);

  boost::asio::any_io_executor executor_;
  std::map<std::string, std::shared_ptr<Background>> background_;
  int next_background_ = 1;
};

}  // namespace berth::agent
