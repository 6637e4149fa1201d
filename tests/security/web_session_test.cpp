// The dashboard's session cookie, replayed as an attacker would: a cross-site form post
// without the CSRF token, a guessed or revoked cookie, a read-only session writing, a forged
// Cookie header, and paths outside the dashboard's files. The server answers every one.
#include <gtest/gtest.h>

#include "berth/http/web_session.hpp"
#include "tests/integration/harness.hpp"

namespace berth::testing {
namespace {

struct Session {
  std::string cookie;  // the berth_session value
  std::string csrf;
  std::string set_cookie;
};

Session sign_in(const TestServer& server, const std::string& token) {
  auto r = http_request(server.url(), "POST", "/api/v1/sessions",
                        {{"Content-Type", "application/json"}}, json{{"token", token}}.dump());
  EXPECT_EQ(r.status, 201) << r.body;
  Session s;
  s.set_cookie = r.headers["set-cookie"];
  auto value = http::cookie_value(s.set_cookie.substr(0, s.set_cookie.find(';')), "berth_session");
  s.cookie = value.value_or("");
  s.csrf = r.json_body().value("csrf_token", "");
  return s;
}

HttpReply with_cookie(const TestServer& server, const std::string& method, const std::string& path,
                      const std::string& cookie, const std::string& csrf = "",
                      const std::string& body = "") {
  std::map<std::string, std::string> h = {{"Cookie", "theme=dark; berth_session=" + cookie},
                                          {"Content-Type", "application/json"}};
  if (!csrf.empty()) h["X-CSRF-Token"] = csrf;
  return http_request(server.url(), method, path, h, body);
}

TEST(WebSession, TheCookieIsHttpOnlyStrictAndNotTheTokenSignedInWith) {
  TestServer server;
  auto s = sign_in(server, server.admin_token());
  EXPECT_NE(s.set_cookie.find("HttpOnly"), std::string::npos) << s.set_cookie;
  EXPECT_NE(s.set_cookie.find("SameSite=Strict"), std::string::npos) << s.set_cookie;
  EXPECT_NE(s.set_cookie.find("Path=/"), std::string::npos) << s.set_cookie;
  EXPECT_EQ(s.set_cookie.find("Secure"), std::string::npos) << "plain HTTP: " << s.set_cookie;
  EXPECT_NE(s.cookie, server.admin_token());
  EXPECT_EQ(s.csrf.size(), 64u);
  auto me = with_cookie(server, "GET", "/api/v1/sessions/current", s.cookie);
  EXPECT_EQ(me.status, 200);
  EXPECT_EQ(me.json_body()["via"], "cookie");
  EXPECT_EQ(me.json_body()["csrf_token"], s.csrf);
}

TEST(WebSession, ChangesNeedTheCsrfTokenReadsDoNot) {
  TestServer server;
  auto s = sign_in(server, server.admin_token());
  const std::string org = json{{"name", "forged"}}.dump();
  // A cross-site form post carries the cookie (were it not SameSite) but no header.
  auto none = with_cookie(server, "POST", "/api/v1/organizations", s.cookie, "", org);
  EXPECT_EQ(none.status, 403);
  EXPECT_EQ(none.json_body()["message"], "missing or wrong X-CSRF-Token");
  auto wrong =
      with_cookie(server, "POST", "/api/v1/organizations", s.cookie, std::string(64, 'a'), org);
  EXPECT_EQ(wrong.status, 403);
  // Another session's CSRF token does not fit this cookie.
  auto other = sign_in(server, server.admin_token());
  EXPECT_EQ(with_cookie(server, "POST", "/api/v1/organizations", s.cookie, other.csrf, org).status,
            403);
  EXPECT_FALSE(server.admin().get("/api/v1/organizations")->dump().find("forged") !=
               std::string::npos);
  auto right = with_cookie(server, "POST", "/api/v1/organizations", s.cookie, s.csrf, org);
  EXPECT_EQ(right.status, 201) << right.body;
  EXPECT_EQ(with_cookie(server, "GET", "/api/v1/workspaces", s.cookie).status, 200);
  // A bearer token needs no CSRF token (no browser sends it on its own).
  auto bearer = http_request(
      server.url(), "POST", "/api/v1/organizations",
      {{"Authorization", "Bearer " + server.admin_token()}, {"Content-Type", "application/json"}},
      json{{"name", "viabearer"}}.dump());
  EXPECT_EQ(bearer.status, 201) << bearer.body;
}

TEST(WebSession, RevokedGuessedAndSignedOutCookiesAreRefused) {
  TestServer server;
  auto s = sign_in(server, server.admin_token());
  EXPECT_EQ(with_cookie(server, "GET", "/api/v1/workspaces", "berth_0000_guess").status, 401);
  EXPECT_EQ(with_cookie(server, "GET", "/api/v1/workspaces", s.cookie + "x").status, 401);
  // Signing out revokes the session's token and clears the cookie.
  auto out = with_cookie(server, "DELETE", "/api/v1/sessions/current", s.cookie, s.csrf);
  EXPECT_EQ(out.status, 204) << out.body;
  EXPECT_NE(out.headers["set-cookie"].find("Max-Age=0"), std::string::npos);
  EXPECT_EQ(with_cookie(server, "GET", "/api/v1/workspaces", s.cookie).status, 401);
  // An admin revoking the session's token ends it the same way.
  auto t = sign_in(server, server.admin_token());
  auto tokens = server.admin().get("/api/v1/tokens");
  ASSERT_TRUE(tokens);
  int revoked = 0;
  for (const auto& row : *tokens) {
    if (row.value("name", "") == "dashboard session")
      revoked += server.admin().del("/api/v1/tokens/" + row.value("id", "")) ? 1 : 0;
  }
  EXPECT_GE(revoked, 1);
  EXPECT_EQ(with_cookie(server, "GET", "/api/v1/workspaces", t.cookie).status, 401);
  // The original token still works: a session is a token of its own.
  EXPECT_TRUE(server.admin().get("/api/v1/workspaces"));
}

TEST(WebSession, AReadOnlyTokenMakesAReadOnlySession) {
  TestServer server;
  auto ro = server.admin().post("/api/v1/tokens", {{"read_only", true}});
  ASSERT_TRUE(ro);
  auto s = sign_in(server, ro->value("token", ""));
  auto write = with_cookie(server, "POST", "/api/v1/organizations", s.cookie, s.csrf,
                           json{{"name", "nope"}}.dump());
  EXPECT_EQ(write.status, 403);
  EXPECT_NE(write.json_body().value("message", "").find("read-only"), std::string::npos)
      << write.body;
}

TEST(WebSession, HostileCookieHeadersAndAssetPathsLeaveTheServerAnswering) {
  TestServer server;
  for (const std::string& cookie :
       {std::string(12000, ';'), std::string("berth_session=") + std::string(8000, 'x'),
        std::string("berth_session=\"unterminated"), std::string("=;=;berth_session;;"),
        std::string("berth_session=a; berth_session=b")}) {
    auto r = http_request(server.url(), "GET", "/api/v1/workspaces", {{"Cookie", cookie}});
    EXPECT_EQ(r.status, 401) << cookie.substr(0, 40);
  }
  for (const char* path : {"/assets/..%2F..%2Fetc%2Fpasswd", "/assets/index.html",
                           "/assets/%2e%2e%2fadmin.token", "/assets/", "/assets/app.js%00.css"}) {
    auto r = http_request(server.url(), "GET", path, {});
    EXPECT_EQ(r.status, 404) << path << " " << r.body.substr(0, 80);
  }
  auto page = http_request(server.url(), "GET", "/", {});
  EXPECT_EQ(page.status, 200);
  EXPECT_NE(page.headers["content-security-policy"].find("script-src 'self'"), std::string::npos);
  EXPECT_EQ(page.headers["x-frame-options"], "DENY");
  EXPECT_EQ(http_request(server.url(), "GET", "/healthz", {}).status, 200);
}

}  // namespace
}  // namespace berth::testing
