#pragma once
// Dashboard sign-in. A browser trades an API token for a session: a new API token of the same
// user and scope ("dashboard session", 12 hours), kept in an HttpOnly, SameSite=Strict cookie
// the page's script never sees. Sessions are tokens, so they are listed, revoked and expire
// like any other, on every replica. A request authenticated by the cookie that changes
// anything must carry X-CSRF-Token: a value derived from the session token that the sign-in
// answer (and GET /api/v1/sessions/current) tells the page.

#include <optional>
#include <string>
#include <string_view>

namespace berth::http {

inline constexpr std::string_view kSessionCookie = "berth_session";
inline constexpr std::string_view kCsrfHeader = "x-csrf-token";

// The value of cookie `name` in a Cookie header ("a=1; berth_session=XYZ"), if present.
std::optional<std::string> cookie_value(std::string_view header, std::string_view name);

// What a page must send as X-CSRF-Token with the session token `session`.
std::string csrf_token_for(std::string_view session);

}  // namespace berth::http
