#pragma once
// HTTP requests and responses as plain structs, so route handlers never see Beast. The server
// (server.cpp, the only Beast file here) converts between these and the wire.

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "berth/agentconn/message_channel.hpp"
#include "berth/core/result.hpp"

namespace berth::http {

struct Request {
  std::string method;  // upper case, e.g. "GET"
  std::string target;  // as sent: the path and query, still encoded
  std::string path;    // without the query string
  std::map<std::string, std::string> query;
  std::map<std::string, std::string> headers;  // names in lower case
  std::map<std::string, std::string> params;   // from the route pattern, e.g. {id}
  std::string body;
  std::string route;           // the pattern of the route that matched ("" when none did)
  std::string request_id;      // X-Request-Id (the client's when well-formed, else a new one)
  std::string session_cookie;  // the dashboard session token, when that authenticated it
  // Set by the server while the handler runs (empty elsewhere): registers a function called
  // once if the client closes its connection before the response is written. Never keep it
  // past the handler's return.
  std::function<void(std::function<void()>)> on_client_closed;

  std::string header(std::string_view name) const;
  std::optional<std::string> query_param(std::string_view name) const;
  std::string bearer_token() const;
};

// A Server-Sent Events stream. send() returns false once the client has gone.
class EventStream {
 public:
  virtual ~EventStream() = default;
  virtual boost::asio::awaitable<bool> send(std::string_view event, std::string_view data) = 0;
  // An SSE comment line (": text"), which clients ignore: a keep-alive on a quiet stream that
  // also finds out whether the client is still there. False once it is not.
  virtual boost::asio::awaitable<bool> comment(std::string_view text) = 0;
  // Calls `f` once, on the stream's executor, as soon as the client closes its side of the
  // connection (found without writing: an SSE client sends nothing after its request). Only
  // while the stream lives; a second call replaces the first's `f`.
  virtual void on_peer_closed(std::function<void()> f) = 0;
};

// The client's connection as bytes, for a response that takes it over (the preview proxy).
class ByteStream {
 public:
  virtual ~ByteStream() = default;
  // Some bytes from the client (those read past the request first); "" once it closed.
  virtual boost::asio::awaitable<std::string> read_some() = 0;
  // False once the client has gone.
  virtual boost::asio::awaitable<bool> write(std::string_view bytes) = 0;
  // The plain socket under the stream (non-blocking), for moving bytes to the client in the
  // kernel (splice(2)) instead of write(); -1 when that cannot be done (TLS).
  virtual int splice_target() { return -1; }
  // Waits until splice_target() takes bytes again; false once the client has gone or has
  // taken nothing for the write timeout.
  virtual boost::asio::awaitable<bool> wait_writable() { co_return false; }
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  // When set, the body is an SSE stream written by this function after the head.
  std::function<boost::asio::awaitable<void>(EventStream&)> stream;
  // When set, the server writes nothing: this function gets the connection and writes the
  // whole answer itself (status, headers, body, then any upgraded protocol). The connection
  // closes after it returns. `status` is only what the request is counted as.
  std::function<boost::asio::awaitable<void>(ByteStream&)> takeover;

  static Response json(int status, std::string body);
};

// Offered to WebSocket routes: accept() completes the upgrade and yields the channel.
class Upgrader {
 public:
  virtual ~Upgrader() = default;
  virtual boost::asio::awaitable<std::unique_ptr<agentconn::MessageChannel>> accept() = 0;
};

// Maps an Error to its HTTP status and the API's error body:
// {"message", "detail", "validations": [{"field", "detail"}]}.
int status_for(ErrorCode code);
Response error_response(const Error& error);

}  // namespace berth::http
