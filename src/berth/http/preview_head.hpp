#pragma once
// What the preview proxy changes in the bytes it carries, pure (fuzz target fuzz_preview_head):
// the request head it sends the workspace's app, the response head it passes back, and the
// signed grant its cookie holds.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "berth/core/result.hpp"

namespace berth::http {

inline constexpr std::string_view kPreviewCookie = "berth_preview";
inline constexpr std::string_view kPreviewTokenParam = "berth_preview_token";
inline constexpr std::string_view kPreviewTokenHeader = "x-berth-preview-token";
// The longest response head the proxy reads before giving up on the app.
inline constexpr std::size_t kMaxResponseHead = std::size_t{64} * 1024;

// Where a response head ends in `bytes` (the index just past its blank line, CRLF or bare LF
// endings as browsers accept), or nullopt while it has not ended.
std::optional<std::size_t> response_head_end(std::string_view bytes);

struct HeadRewrite {
  // Path form: the page runs sandboxed (an opaque origin), so its script cannot use the
  // dashboard's session on the server's origin.
  bool sandbox = false;
  // A public port's page in the path form: its own requests come from the opaque origin
  // "null", so the answer allows any origin (no credentials) unless the app chose itself.
  bool allow_any_origin = false;
  // A Set-Cookie value the proxy adds (the grant an owner's session earned), or "".
  std::string set_cookie;
};

// The app's response head as the browser gets it: no Set-Cookie for a name starting with
// "berth" (any case; a page may not replace the server's own cookies), folded continuation
// lines of a dropped header dropped with it, and with `sandbox` a Content-Security-Policy
// sandbox header. invalid_argument when the head has no status line.
Result<std::string> rewrite_response_head(std::string_view head, const HeadRewrite& rewrite);

// A Cookie header without the server's cookies (berth_session, berth_preview): the app never
// sees them. "" when nothing is left.
std::string strip_server_cookies(std::string_view cookie_header);

// A query string ("a=1&berth_preview_token=x") without the token parameter; "" when nothing is
// left. Without the leading '?'.
std::string strip_token_param(std::string_view query);

// The cookie's value: "<expiry ms>.<hex HMAC-SHA256>" over the workspace, the port and the
// expiry, keyed by the port's token hash, so replacing the token (exposing the port again)
// ends every grant of it.
std::string sign_grant(std::string_view token_hash, std::string_view workspace_id, int port,
                       std::int64_t expires_at_ms);
bool grant_valid(std::string_view grant, std::string_view token_hash, std::string_view workspace_id,
                 int port, std::int64_t now_ms);

}  // namespace berth::http
