// Preview URLs and what the proxy changes in the bytes it carries (pure parts).
#include <gtest/gtest.h>

#include "berth/http/preview_head.hpp"
#include "berth/http/preview_url.hpp"
#include "berth/workspaces/port_exposure.hpp"

namespace berth::http {
namespace {

TEST(PreviewUrl, PortsAreCanonicalDecimalOnly) {
  EXPECT_EQ(parse_port("1"), 1);
  EXPECT_EQ(parse_port("8080"), 8080);
  EXPECT_EQ(parse_port("65535"), 65535);
  // Daytona #5147: other spellings of a port must not name it.
  for (const char* no : {"", "0", "02280", "+2280", "-1", " 2280", "2280 ", "2280.0", "0x8f0",
                         "65536", "99999", "123456", "%32280", "2280a", "٢٢٨٠"}) {
    EXPECT_FALSE(parse_port(no).has_value()) << no;
  }
}

TEST(PreviewUrl, ThePathFormNamesOwnerWorkspacePortAndTheAppsTarget) {
  auto t = parse_preview_path("/@Alice/dev/ports/8080/static/app.js?v=2");
  ASSERT_TRUE(t && *t);
  EXPECT_EQ((*t)->owner, "alice");
  EXPECT_EQ((*t)->workspace, "dev");
  EXPECT_EQ((*t)->port, 8080);
  EXPECT_EQ((*t)->prefix, "/@Alice/dev/ports/8080");
  EXPECT_EQ((*t)->target, "/static/app.js?v=2");
  EXPECT_FALSE((*t)->needs_slash);
  EXPECT_FALSE((*t)->subdomain);

  auto bare = parse_preview_path("/@alice/dev/ports/8080?x=1");
  ASSERT_TRUE(bare && *bare);
  EXPECT_TRUE((*bare)->needs_slash);
  EXPECT_EQ((*bare)->target, "/?x=1");

  auto other = parse_preview_path("/api/v1/workspaces");
  ASSERT_TRUE(other);
  EXPECT_FALSE(other->has_value());

  auto bad = parse_preview_path("/@alice/dev/ports/02280/");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "\"02280\" is not a port");
  for (const char* no : {"/@alice", "/@alice/dev", "/@alice/dev/ports", "/@alice/dev/port/80/",
                         "/@alice/../ports/80/", "/@a%2Fb/dev/ports/80/", "/@/dev/ports/80/"}) {
    EXPECT_FALSE(parse_preview_path(no)) << no;
  }
}

TEST(PreviewUrl, TheSubdomainFormIsOneLabelUnderThePreviewDomain) {
  auto t = parse_preview_host("8080--dev--alice.preview.example.com", "preview.example.com", "/x");
  ASSERT_TRUE(t && *t);
  EXPECT_EQ((*t)->owner, "alice");
  EXPECT_EQ((*t)->workspace, "dev");
  EXPECT_EQ((*t)->port, 8080);
  EXPECT_EQ((*t)->target, "/x");
  EXPECT_TRUE((*t)->subdomain);

  auto elsewhere = parse_preview_host("berth.example.com", "preview.example.com", "/");
  ASSERT_TRUE(elsewhere);
  EXPECT_FALSE(elsewhere->has_value());
  EXPECT_FALSE(is_preview_host("a.b.preview.example.com", "preview.example.com"));
  EXPECT_FALSE(is_preview_host("evilpreview.example.com", "preview.example.com"));
  for (const char* no : {"02280--dev--alice", "+2280--dev--alice", "8080--dev",
                         "8080--dev--al--ice", "8080----alice", "x--dev--alice"}) {
    auto r =
        parse_preview_host(std::string(no) + ".preview.example.com", "preview.example.com", "/");
    EXPECT_FALSE(r) << no;
  }
}

TEST(PreviewUrl, UrlsFollowTheServersSchemeAndPort) {
  workspaces::PreviewSettings path{.access_url = "https://berth.example.com:8443", .domain = ""};
  EXPECT_EQ(workspaces::preview_url(path, "alice", "dev", 3000),
            "https://berth.example.com:8443/@alice/dev/ports/3000/");
  workspaces::PreviewSettings sub{.access_url = "https://berth.example.com",
                                  .domain = "preview.example.com"};
  EXPECT_EQ(workspaces::preview_url(sub, "alice", "dev", 3000),
            "https://3000--dev--alice.preview.example.com/");
}

TEST(PreviewHead, FindsTheEndOfAHeadWithEitherLineEnding) {
  EXPECT_EQ(response_head_end("HTTP/1.1 200 OK\r\nA: b\r\n\r\nbody"), 25u);
  EXPECT_EQ(response_head_end("HTTP/1.1 200 OK\nA: b\n\nbody"), 22u);
  EXPECT_FALSE(response_head_end("HTTP/1.1 200 OK\r\nA: b\r\n").has_value());
}

TEST(PreviewHead, TheAppCannotSetTheServersCookies) {
  auto out = rewrite_response_head(
      "HTTP/1.1 200 OK\r\nSet-Cookie: berth_session=planted; Path=/\r\n"
      "set-cookie : Berth_Preview=x\r\n  ; Path=/\r\nSet-Cookie: app=1\r\nX-A: b\r\n\r\n",
      {.sandbox = true, .allow_any_origin = false, .set_cookie = ""});
  ASSERT_TRUE(out);
  EXPECT_EQ(*out,
            "HTTP/1.1 200 OK\r\nContent-Security-Policy: sandbox allow-scripts allow-forms "
            "allow-popups allow-modals allow-downloads allow-popups-to-escape-sandbox "
            "allow-pointer-lock allow-presentation\r\nSet-Cookie: app=1\r\nX-A: b\r\n\r\n");
  auto plain = rewrite_response_head(
      "HTTP/1.0 204 No Content\n\n",
      {.sandbox = false, .allow_any_origin = true, .set_cookie = "berth_preview=g"});
  ASSERT_TRUE(plain);
  EXPECT_EQ(*plain,
            "HTTP/1.0 204 No Content\r\nSet-Cookie: berth_preview=g\r\n"
            "Access-Control-Allow-Origin: *\r\n\r\n");
  auto own = rewrite_response_head("HTTP/1.1 200 OK\r\nAccess-Control-Allow-Origin: x\r\n\r\n",
                                   {.sandbox = false, .allow_any_origin = true, .set_cookie = ""});
  EXPECT_EQ(*own, "HTTP/1.1 200 OK\r\nAccess-Control-Allow-Origin: x\r\n\r\n");
  auto cr =
      rewrite_response_head("HTTP/1.1 200 OK\r\nX-A: b\rSet-Cookie: berth_session=x\r\n\r\n", {});
  ASSERT_FALSE(cr);
  EXPECT_EQ(cr.error().message, "the app's answer head holds a bare CR or a NUL byte");
  auto bad = rewrite_response_head("SSH-2.0-OpenSSH\r\n\r\n", {});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "the app's answer does not start with an HTTP status line");
}

TEST(PreviewHead, TheAppNeverSeesTheServersCookiesOrTheToken) {
  EXPECT_EQ(strip_server_cookies("a=1; berth_session=tok;berth_preview=g; BERTH_x=1;  b=2"),
            "a=1; b=2");
  EXPECT_EQ(strip_server_cookies("berth_session=tok"), "");
  EXPECT_EQ(strip_token_param("a=1&berth_preview_token=x&b=2"), "a=1&b=2");
  EXPECT_EQ(strip_token_param("berth_preview_token=x"), "");
}

TEST(PreviewHead, GrantsAreBoundToTheTokenThePortAndTheirExpiry) {
  const std::string g = sign_grant("hash1", "ws1", 8080, 2000);
  EXPECT_TRUE(grant_valid(g, "hash1", "ws1", 8080, 1000));
  EXPECT_FALSE(grant_valid(g, "hash1", "ws1", 8080, 2001));  // expired
  EXPECT_FALSE(grant_valid(g, "hash2", "ws1", 8080, 1000));  // the port was exposed again
  EXPECT_FALSE(grant_valid(g, "hash1", "ws1", 8081, 1000));
  EXPECT_FALSE(grant_valid(g, "hash1", "ws2", 8080, 1000));
  EXPECT_FALSE(
      grant_valid("9999999999999." + g.substr(g.find('.') + 1), "hash1", "ws1", 8080, 1000));
  for (const char* no : {"", ".", "2000", "2000.", "x.y", "-1.00", "2000.zz"}) {
    EXPECT_FALSE(grant_valid(no, "hash1", "ws1", 8080, 1000)) << no;
  }
}

}  // namespace
}  // namespace berth::http
