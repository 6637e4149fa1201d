#include "berth/http/openapi.hpp"

#include <gtest/gtest.h>

#include <set>

#include "berth/http/router.hpp"

namespace berth::http {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

TEST(OpenApi, EveryRouteIsDocumentedAndEveryDocumentedOperationIsARoute) {
  const auto& doc = openapi_document();
  ASSERT_EQ(doc.value("openapi", ""), "3.1.0");
  std::set<std::string> routes;
  for (auto table : all_routes()) {
    for (const auto& r : table) {
      std::string path(r.pattern);
      routes.insert(lower(r.method) + " " + path);
      ASSERT_TRUE(doc["paths"].contains(path)) << path << " is not in openapi.yaml";
      EXPECT_TRUE(doc["paths"][path].contains(lower(r.method)))
          << r.method << " " << path << " is not in openapi.yaml";
    }
  }
  for (const auto& [path, item] : doc["paths"].items()) {
    for (const auto& [method, op] : item.items()) {
      if (method == "parameters") continue;
      EXPECT_TRUE(routes.contains(method + " " + path))
          << method << " " << path << " is documented but the server has no such route";
      EXPECT_TRUE(op.contains("summary")) << method << " " << path;
      EXPECT_TRUE(op.contains("responses")) << method << " " << path;
    }
  }
}

TEST(OpenApi, AuthenticatedOperationsListTheRefusalsEveryOneMayGive) {
  const auto& paths = openapi_document()["paths"];
  EXPECT_TRUE(paths["/api/v1/workspaces"]["get"]["responses"].contains("401"));
  EXPECT_FALSE(paths["/api/v1/workspaces"]["get"]["responses"].contains("413"));
  EXPECT_TRUE(paths["/api/v1/workspaces"]["post"]["responses"].contains("403"));
  EXPECT_TRUE(paths["/api/v1/workspaces"]["post"]["responses"].contains("413"));
  EXPECT_FALSE(paths["/healthz"]["get"]["responses"].contains("401"));
}

TEST(OpenApi, PlainScalarsKeepTheirTypesAndQuotedOnesStayStrings) {
  auto j = yaml_to_json("a: 1\nb: \"1\"\nc: true\nd: 'true'\ne: 2.5\nf: null\ng: [x, \"200\"]\n");
  EXPECT_EQ(j["a"], 1);
  EXPECT_EQ(j["b"], "1");
  EXPECT_EQ(j["c"], true);
  EXPECT_EQ(j["d"], "true");
  EXPECT_EQ(j["e"], 2.5);
  EXPECT_TRUE(j["f"].is_null());
  EXPECT_EQ(j["g"][1], "200");
}

}  // namespace
}  // namespace berth::http
