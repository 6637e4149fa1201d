#pragma once
// Log lines and the request they belong to. Messages are written "event key=value ..."
// (spdlog); `--log-format json` turns each into one JSON object per line, its key=value pairs
// becoming fields. A request id set for the current scope (RequestLogScope; the HTTP server
// keeps it set for every step of one request's coroutine, net/scoped_executor.hpp) is added
// to every line: text "... request_id=ID", JSON "request_id".

#include <memory>
#include <string>
#include <string_view>

#include "berth/core/result.hpp"

namespace berth {

enum class LogFormat { text, json };

// "text" or "json"; anything else is an error naming the choices.
Result<LogFormat> parse_log_format(std::string_view text);

// Installs the format on spdlog's default logger. `component` names the process in JSON
// ("server", "agent", "provisioner").
void configure_logging(LogFormat format, std::string_view component);

// The request id of the code running now on this thread ("" outside any request).
const std::string& current_request_id();

// Sets the current request id until destroyed (restoring the one before).
class RequestLogScope {
 public:
  explicit RequestLogScope(std::shared_ptr<const std::string> id);
  ~RequestLogScope();
  RequestLogScope(const RequestLogScope&) = delete;
  RequestLogScope& operator=(const RequestLogScope&) = delete;

 private:
  std::shared_ptr<const std::string> previous_;
};

// A request id a client may choose (X-Request-Id): 1-64 of [A-Za-z0-9._:-]. Anything else is
// replaced by a fresh one, so a log line can never be forged through it.
bool valid_request_id(std::string_view id);
std::string new_request_id();

// Splits "event k1=v1 k2=some words k3=v3" into the event and its fields; a value runs to the
// next " key=" (key: [a-z_]+). Used for JSON lines; pure, so it is tested apart.
struct LogFields {
  std::string event;
  std::vector<std::pair<std::string, std::string>> fields;
};
LogFields split_log_message(std::string_view message);

}  // namespace berth
