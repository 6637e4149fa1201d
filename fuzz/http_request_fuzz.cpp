// libFuzzer target: the bytes of an HTTP request as the server reads them: Beast's parser with
// the server's limits, the target split into path and query, the route tables, the Host and
// Origin policy, the session cookie and the request id. Invariant: no crash or hang on any
// input.
#include <cstddef>
#include <cstdint>
#include <string>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/parse.hpp>

#include "berth/core/logging.hpp"
#include "berth/http/host_policy.hpp"
#include "berth/http/router.hpp"
#include "berth/http/web_session.hpp"

namespace bhttp = boost::beast::http;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  bhttp::request_parser<bhttp::string_body> parser;
  parser.header_limit(16 * 1024);
  parser.body_limit(64 * 1024);
  parser.eager(true);
  boost::beast::error_code ec;
  parser.put(boost::asio::buffer(data, size), ec);
  if (ec || !parser.is_header_done()) return 0;
  auto& raw = parser.get();
  berth::http::Request req;
  req.method = std::string(raw.method_string());
  for (const auto& field : raw) req.headers[std::string(field.name_string())] = field.value();
  auto url = boost::urls::parse_origin_form(raw.target());
  if (url) {
    req.path = std::string(url->encoded_path());
    for (auto param : url->params()) req.query[std::string(param.key)] = std::string(param.value);
  } else {
    req.path = std::string(raw.target());
  }
  for (auto table : berth::http::all_routes()) {
    (void)berth::http::match_route(table, req.method, req.path, req.params);
  }
  if (auto cookie =
          berth::http::cookie_value(raw[bhttp::field::cookie], berth::http::kSessionCookie)) {
    (void)berth::http::csrf_token_for(*cookie);
  }
  (void)berth::valid_request_id(raw["x-request-id"]);
  berth::http::HostPolicy policy{.loopback_only = true, .allowed = {"berth.example"}};
  (void)policy.refusal(raw[bhttp::field::host], raw[bhttp::field::origin]);
  return 0;
}
