#pragma once
// The web dashboard's files (web/, embedded at build time), served at / and /assets/NAME with
// a strict Content-Security-Policy: the page loads only its own script and style and talks
// only to this server.

#include <span>
#include <string_view>

namespace berth::http {

struct WebAsset {
  std::string_view name;  // "index.html", "app.js", ...
  std::string_view bytes;
};

std::span<const WebAsset> web_assets();

// "text/javascript; charset=utf-8" for app.js, and so on ("" for an unknown extension).
std::string_view content_type_for(std::string_view name);

}  // namespace berth::http
