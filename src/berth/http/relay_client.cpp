#include "berth/http/relay_client.hpp"

#include <fmt/format.h>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/url/parse.hpp>

#include "berth/core/sse_parser.hpp"
#include "berth/core/untrusted.hpp"

namespace berth::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using asio::use_awaitable;
using nlohmann::json;
using tcp = asio::ip::tcp;

namespace {

// Time to connect and get the answer's head; the call's own timeout covers the rest.
constexpr auto kConnectTimeout = std::chrono::seconds(5);
// Room the far side needs after the agent's own timeout to send its answer.
constexpr auto kAnswerSlack = std::chrono::seconds(5);
// A relayed answer's events are small, but output chunks of a streaming exec add up.
constexpr std::size_t kMaxEventBytes = std::size_t{16} * 1024 * 1024;

Error relay_failed(const store::Replica& replica, const std::string& why) {
  return Error::unavailable(
      fmt::format("cannot reach the replica holding the agent's connection ({}): {}",
                  replica.relay_url, why),
      "try again; if that replica is down, its agents reconnect to another one");
}

Error error_from(const json& e) {
  Error out;
  out.code = ErrorCode::unavailable;
  const std::string code = e.is_object() ? e.value("code", "") : "";
  for (auto c : {ErrorCode::invalid_argument, ErrorCode::not_found, ErrorCode::deadline_exceeded,
                 ErrorCode::unavailable, ErrorCode::failed_precondition}) {
    if (code == to_string(c)) out.code = c;
  }
  out.message =
      e.is_object() ? e.value("message", "relayed agent call failed") : "relayed agent call failed";
  out.detail = e.is_object() ? e.value("detail", "") : "";
  return out;
}

}  // namespace

// The request and its SSE answer on a connected stream (plain or TLS).
template <class S>
asio::awaitable<Result<json>> relay_on(S& stream, const store::Replica& replica,
                                       const std::string& host_header, const std::string& agent_id,
                                       const std::string& method, json params,
                                       std::chrono::milliseconds timeout,
                                       const std::function<void(std::string)>& on_output) {
  boost::system::error_code ec;
  bhttp::request<bhttp::string_body> req{bhttp::verb::post, "/api/v1/replicas/agent-call", 11};
  req.set(bhttp::field::host, host_header);
  req.set(bhttp::field::authorization, "Bearer " + replica.relay_secret);
  req.set(bhttp::field::content_type, "application/json");
  req.set(bhttp::field::accept, "text/event-stream");
  req.body() = dump_json({{"agent_id", agent_id},
                          {"method", method},
                          {"params", std::move(params)},
                          {"timeout_ms", timeout.count()}});
  req.prepare_payload();
  co_await bhttp::async_write(stream, req, asio::redirect_error(use_awaitable, ec));
  if (ec) co_return relay_failed(replica, ec.message());

  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::string_body> head;
  head.body_limit(kMaxEventBytes);
  co_await bhttp::async_read_header(stream, buffer, head, asio::redirect_error(use_awaitable, ec));
  if (ec) co_return relay_failed(replica, ec.message());
  if (head.get().result_int() != 200) {
    beast::get_lowest_layer(stream).expires_after(kConnectTimeout);
    co_await bhttp::async_read(stream, buffer, head, asio::redirect_error(use_awaitable, ec));
    json body = json::parse(head.get().body(), nullptr, false);
    co_return relay_failed(
        replica, fmt::format("it answered {}: {}", head.get().result_int(),
                             body.is_object() ? body.value("message", "") : std::string()));
  }

  // The rest is an SSE stream until the far side closes: "event: NAME\ndata: JSON\n\n".
  beast::get_lowest_layer(stream).expires_after(timeout + kAnswerSlack);
  SseParser sse;
  sse.feed(std::string_view(static_cast<const char*>(buffer.data().data()), buffer.size()));
  buffer.consume(buffer.size());
  while (true) {
    while (auto ev = sse.next()) {
      json value = json::parse(ev->data, nullptr, false);
      if (ev->event == "output" && value.is_string()) {
        if (on_output) on_output(value.get<std::string>());
      } else if (ev->event == "result" && value.is_object()) {
        if (value.contains("error")) co_return error_from(value["error"]);
        co_return value.value("result", json::object());
      }
    }
    if (sse.buffered() > kMaxEventBytes) co_return relay_failed(replica, "an event was too large");
    char chunk[16384];
    std::size_t n = co_await stream.async_read_some(asio::buffer(chunk),
                                                    asio::redirect_error(use_awaitable, ec));
    if (ec == beast::error::timeout) {
      co_return Error::deadline_exceeded(
          fmt::format("agent did not answer {} within {} ms", method, timeout.count()));
    }
    if (ec) {
      Error lost = relay_failed(replica, "the connection closed before the answer");
      lost.detail = agentconn::kAnswerLost;
      co_return lost;
    }
    sse.feed(std::string_view(chunk, n));
  }
}

asio::awaitable<Result<json>> RelayClient::call(store::Replica replica, std::string agent_id,
                                                std::string method, json params,
                                                std::chrono::milliseconds timeout,
                                                std::function<void(std::string)> on_output) {
  auto url = boost::urls::parse_uri(replica.relay_url);
  if (!url || (url->scheme() != "http" && url->scheme() != "https") || url->host().empty()) {
    co_return relay_failed(replica, "its relay URL is not an http(s):// URL");
  }
  const bool tls = url->scheme() == "https";
  const std::string host = url->host();
  const std::uint16_t port_number = url->has_port() ? url->port_number() : (tls ? 443 : 80);
  const std::string port = std::to_string(port_number);
  beast::tcp_stream stream(executor_);
  boost::system::error_code ec;
  stream.expires_after(kConnectTimeout);
  // A relay URL is usually an address: no trip through the resolver's thread for it.
  const auto address = asio::ip::make_address(
      host.size() > 2 && host.front() == '[' ? host.substr(1, host.size() - 2) : host, ec);
  if (!ec) {
    co_await stream.async_connect(tcp::endpoint(address, port_number),
                                  asio::redirect_error(use_awaitable, ec));
  } else {
    tcp::resolver resolver(executor_);
    auto endpoints =
        co_await resolver.async_resolve(host, port, asio::redirect_error(use_awaitable, ec));
    if (ec) co_return relay_failed(replica, ec.message());
    co_await stream.async_connect(endpoints, asio::redirect_error(use_awaitable, ec));
  }
  if (ec) co_return relay_failed(replica, ec.message());
  stream.socket().set_option(tcp::no_delay(true), ec);

  const std::string host_header(url->encoded_host_and_port());
  if (!tls) {
    co_return co_await relay_on(stream, replica, host_header, agent_id, method, std::move(params),
                                timeout, on_output);
  }
  if (!tls_) co_return relay_failed(replica, "this replica has no TLS client context");
  beast::ssl_stream<beast::tcp_stream> secure(std::move(stream), *tls_);
  if (!net::verify_host_name(secure.native_handle(), host)) {
    co_return relay_failed(replica, "invalid TLS server name " + host);
  }
  co_await secure.async_handshake(asio::ssl::stream_base::client,
                                  asio::redirect_error(use_awaitable, ec));
  if (ec) co_return relay_failed(replica, "TLS: " + ec.message());
  co_return co_await relay_on(secure, replica, host_header, agent_id, method, std::move(params),
                              timeout, on_output);
}

}  // namespace berth::http
