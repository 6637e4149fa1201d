#include "berth/cli/http_client.hpp"

#include <sys/socket.h>

#include <fmt/format.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/url/parse.hpp>

#include "berth/core/sse_parser.hpp"
#include "berth/net/tls.hpp"

namespace berth::cli {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
using nlohmann::json;

namespace {

Error unreachable(const std::string& url, const std::string& why) {
  return Error::unavailable(fmt::format("cannot reach the Berth server at {}: {}", url, why),
                            "start it with `berth server`, or point --url / BERTH_URL at it");
}

// Turns a non-2xx API answer into an Error with the server's own words.
Error api_error(int status, const std::string& body) {
  json j = json::parse(body, nullptr, false);
  Error e;
  e.code = status == 400   ? ErrorCode::invalid_argument
           : status == 401 ? ErrorCode::unauthenticated
           : status == 403 ? ErrorCode::permission_denied
           : status == 404 ? ErrorCode::not_found
           : status == 409 ? ErrorCode::failed_precondition
           : status == 503 ? ErrorCode::unavailable
                           : ErrorCode::internal;
  if (j.is_object()) {
    e.message = j.value("message", fmt::format("request failed with status {}", status));
    e.detail = j.value("detail", "");
    for (const auto& v : j.value("validations", json::array())) {
      e.validations.push_back({v.value("field", ""), v.value("detail", "")});
    }
  } else {
    e.message = fmt::format("request failed with status {}", status);
  }
  return e;
}

// What an exchange ended by ExchangeAbort returns.
Error aborted_error() {
  Error e;
  e.code = ErrorCode::cancelled;
  e.message = "aborted";
  return e;
}

// Resolves and connects `stream` to host:port.
Status connect(beast::tcp_stream& stream, const std::string& host, const std::string& port) {
  tcp::resolver resolver(stream.get_executor());
  boost::system::error_code ec;
  auto endpoints = resolver.resolve(host, port, ec);
  if (!ec) stream.connect(endpoints, ec);
  if (ec) return Error::unavailable(ec.message());
  return {};
}

}  // namespace

std::string path_segment(std::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

ApiClient::ApiClient(std::string url, std::string token)
    : url_(std::move(url)), token_(std::move(token)) {
  while (!url_.empty() && url_.back() == '/') url_.pop_back();
  auto u = boost::urls::parse_uri(url_);
  if (u && (u->scheme() == "http" || u->scheme() == "https")) {
    tls_ = u->scheme() == "https";
    host_ = u->host();
    port_ = u->has_port() ? std::string(u->port()) : (tls_ ? "443" : "80");
  }
}

namespace {

// One request and its answer on a connected stream (plain or TLS).
template <class S>
Result<ApiClient::Reply> exchange_on(S& stream, const std::string& url,
                                     bhttp::request<bhttp::string_body>& req,
                                     const ApiClient::EventHandler& on_event) {
  boost::system::error_code ec;
  bhttp::write(stream, req, ec);
  if (ec) return unreachable(url, ec.message());
  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::buffer_body> parser;
  parser.body_limit(256 * 1024 * 1024);
  bhttp::read_header(stream, buffer, parser, ec);
  if (ec) return unreachable(url, ec.message());
  ApiClient::Reply reply;
  reply.status = parser.get().result_int();
  for (const auto& f : parser.get()) {
    std::string name(f.name_string());
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    reply.headers[name] = std::string(f.value());
  }
  // An event stream goes to `on_event` frame by frame as it arrives; any other body (and
  // an error status's body) is collected.
  const bool events = on_event && reply.status < 300 &&
                      reply.headers["content-type"].starts_with("text/event-stream");
  SseParser sse;
  auto deliver = [&]() -> bool {
    while (auto ev = sse.next()) {
      if (!on_event(ev->event, ev->data)) return false;
    }
    return true;
  };
  char chunk[8192];
  while (!parser.is_done()) {
    parser.get().body().data = chunk;
    parser.get().body().size = sizeof chunk;
    bhttp::read_some(stream, buffer, parser, ec);
    if (ec == bhttp::error::need_buffer) ec = {};
    if (ec && ec != bhttp::error::end_of_stream && ec != asio::error::eof &&
        ec != asio::ssl::error::stream_truncated) {
      return unreachable(url, ec.message());
    }
    const std::string_view got(chunk, sizeof chunk - parser.get().body().size);
    if (events) {
      sse.feed(got);
    } else {
      reply.body.append(got);
    }
    if (events && !deliver()) return reply;
    if (ec) break;
  }
  return reply;
}

}  // namespace

Result<json> ApiClient::request(const std::string& method, const std::string& path,
                                const std::optional<json>& body) {
  std::map<std::string, std::string> headers = {{"User-Agent", "berth-cli"}};
  if (body) headers["Content-Type"] = "application/json";
  auto reply = exchange(method, path, headers, body ? body->dump() : std::string());
  if (!reply) return reply.error();
  if (reply->status < 200 || reply->status >= 300) return api_error(reply->status, reply->body);
  if (reply->body.empty()) return json::object();
  json j = json::parse(reply->body, nullptr, false);
  if (j.is_discarded()) return Error::internal("the server answered with invalid JSON");
  return j;
}

void ExchangeAbort::abort() {
  std::lock_guard lock(mu_);
  aborted_ = true;
  if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);  // the blocked read returns at once
}

bool ExchangeAbort::aborted() const {
  std::lock_guard lock(mu_);
  return aborted_;
}

bool ExchangeAbort::attach(int fd) {
  std::lock_guard lock(mu_);
  fd_ = fd;
  return !aborted_;
}

void ExchangeAbort::detach() {
  std::lock_guard lock(mu_);
  fd_ = -1;
}

Result<ApiClient::Reply> ApiClient::exchange(const std::string& method, const std::string& path,
                                             const std::map<std::string, std::string>& headers,
                                             std::string body, const EventHandler& on_event,
                                             const std::shared_ptr<ExchangeAbort>& abort) {
  if (host_.empty()) {
    return Error::invalid_argument(fmt::format("invalid server URL \"{}\"", url_),
                                   "use http(s)://HOST:PORT, e.g. http://127.0.0.1:7080");
  }
  try {
    asio::io_context io;
    beast::tcp_stream stream(io);
    if (auto s = connect(stream, host_, port_); !s) return unreachable(url_, s.error().message);
    // The socket is closed when `stream` goes; the abort handle must forget it first.
    struct Detach {
      const std::shared_ptr<ExchangeAbort>& abort;
      ~Detach() {
        if (abort) abort->detach();
      }
    } detach{abort};
    if (abort && !abort->attach(stream.socket().native_handle())) {
      return aborted_error();
    }
    bhttp::request<bhttp::string_body> req{bhttp::string_to_verb(method), path, 11};
    req.set(bhttp::field::host, host_ + ":" + port_);
    if (!token_.empty()) req.set(bhttp::field::authorization, "Bearer " + token_);
    for (const auto& [k, v] : headers) req.set(k, v);
    req.body() = std::move(body);
    req.prepare_payload();
    if (!tls_) {
      auto reply = exchange_on(stream, url_, req, on_event);
      if (abort && abort->aborted()) return aborted_error();
      return reply;
    }
    auto ctx = net::client_tls_context(net::ca_file_from_environment());
    if (!ctx) return ctx.error();
    beast::ssl_stream<beast::tcp_stream> secure(std::move(stream), **ctx);
    if (!net::verify_host_name(secure.native_handle(), host_)) {
      return unreachable(url_, "invalid TLS server name " + host_);
    }
    boost::system::error_code ec;
    secure.handshake(asio::ssl::stream_base::client, ec);
    if (ec) {
      return Error::unavailable(
          fmt::format("TLS with the Berth server at {} failed: {}", url_, ec.message()),
          "if the server's certificate comes from a private CA, pass its CA certificate with "
          "--ca-file or BERTH_CA_FILE");
    }
    auto reply = exchange_on(secure, url_, req, on_event);
    if (abort && abort->aborted()) return aborted_error();
    return reply;
  } catch (const std::exception& e) {
    return unreachable(url_, e.what());
  }
}

Result<json> ApiClient::get(const std::string& path) { return request("GET", path, std::nullopt); }
Result<json> ApiClient::post(const std::string& path, const json& body) {
  return request("POST", path, body);
}
Result<json> ApiClient::put(const std::string& path, const json& body) {
  return request("PUT", path, body);
}
Result<json> ApiClient::del(const std::string& path) {
  return request("DELETE", path, std::nullopt);
}

Status ApiClient::stream(const std::string& path, const EventHandler& on_event) {
  auto reply = exchange("GET", path, {{"Accept", "text/event-stream"}}, "", on_event);
  if (!reply) return reply.error();
  if (reply->status >= 300) return api_error(reply->status, reply->body);
  return {};
}

}  // namespace berth::cli
