#include "berth/http/router.hpp"

#include <gtest/gtest.h>

namespace berth::http {
namespace {

boost::asio::awaitable<Response> dummy(Context&) { co_return Response{}; }

constexpr Route kRoutes[] = {
    {"GET", "/api/v1/workspaces", Auth::user, &dummy},
    {"GET", "/api/v1/workspaces/{id}", Auth::user, &dummy},
    {"POST", "/api/v1/workspaces/{id}/stop", Auth::user, &dummy},
};

TEST(Router, MatchesPatternsAndDecodesParameters) {
  std::map<std::string, std::string> params;
  auto m = match_route(kRoutes, "GET", "/api/v1/workspaces/alice%2Fdev", params);
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.route, &kRoutes[1]);
  EXPECT_EQ(params.at("id"), "alice/dev");
  m = match_route(kRoutes, "POST", "/api/v1/workspaces/x/stop/", params);
  EXPECT_EQ(m.route, &kRoutes[2]);
}

TEST(Router, DistinguishesUnknownPathFromWrongMethod) {
  std::map<std::string, std::string> params;
  auto wrong_method = match_route(kRoutes, "DELETE", "/api/v1/workspaces", params);
  EXPECT_EQ(wrong_method.route, nullptr);
  EXPECT_TRUE(wrong_method.path_matched);
  auto unknown = match_route(kRoutes, "GET", "/api/v2/nothing", params);
  EXPECT_EQ(unknown.route, nullptr);
  EXPECT_FALSE(unknown.path_matched);
}

TEST(ErrorResponse, StatusAndBodyShape) {
  auto r =
      error_response(Error::invalid_argument("bad", "do this").with_validation("name", "is wrong"));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(
      r.body,
      R"({"detail":"do this","message":"bad","validations":[{"detail":"is wrong","field":"name"}]})");
  EXPECT_EQ(error_response(Error::not_found("x")).status, 404);
  EXPECT_EQ(error_response(Error::failed_precondition("x")).status, 409);
  auto unauth = error_response(Error::unauthenticated("x"));
  EXPECT_EQ(unauth.status, 401);
  ASSERT_EQ(unauth.headers.size(), 1u);
  EXPECT_EQ(unauth.headers[0].first, "WWW-Authenticate");
}

}  // namespace
}  // namespace berth::http
