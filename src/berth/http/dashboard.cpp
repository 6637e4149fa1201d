// GET / and GET /assets/{name}: the dashboard (dashboard.hpp).
#include "berth/http/dashboard.hpp"

#include <string>

#include "berth/http/router.hpp"

namespace berth::http {

namespace {

using boost::asio::awaitable;

const WebAsset* find_asset(std::string_view name) {
  for (const auto& a : web_assets())
    if (a.name == name) return &a;
  return nullptr;
}

Response asset_response(const WebAsset& a) {
  Response r;
  r.content_type = std::string(content_type_for(a.name));
  r.body = std::string(a.bytes);
  // Assets change with the binary; the browser revalidates rather than guessing.
  r.headers.emplace_back("Cache-Control", "no-cache");
  r.headers.emplace_back("Content-Security-Policy",
                         "default-src 'none'; script-src 'self'; style-src 'self'; "
                         "img-src 'self' data:; connect-src 'self'; base-uri 'none'; "
                         "form-action 'self'; frame-ancestors 'none'");
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
  r.headers.emplace_back("X-Frame-Options", "DENY");
  return r;
}

awaitable<Response> index(Context&) {
  const WebAsset* a = find_asset("index.html");
  if (!a) co_return error_response(Error::not_found("this build has no dashboard"));
  co_return asset_response(*a);
}

awaitable<Response> asset(Context& c) {
  const auto& name = c.request.params.at("name");
  const WebAsset* a = name == "index.html" ? nullptr : find_asset(name);
  if (!a) {
    co_return error_response(
        Error::not_found("no such dashboard file", "the dashboard is at / on this server"));
  }
  co_return asset_response(*a);
}

constexpr Route kRoutes[] = {
    {"GET", "/", Auth::none, &index},
    {"GET", "/assets/{name}", Auth::none, &asset},
};

}  // namespace

std::string_view content_type_for(std::string_view name) {
  if (name.ends_with(".html")) return "text/html; charset=utf-8";
  if (name.ends_with(".js")) return "text/javascript; charset=utf-8";
  if (name.ends_with(".css")) return "text/css; charset=utf-8";
  if (name.ends_with(".svg")) return "image/svg+xml";
  return "application/octet-stream";
}

std::span<const Route> dashboard_routes() { return kRoutes; }

}  // namespace berth::http
