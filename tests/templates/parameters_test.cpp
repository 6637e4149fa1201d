#include "berth/templates/parameters.hpp"

#include <gtest/gtest.h>

#include "berth/templates/parse.hpp"

namespace berth::templates {
namespace {

TemplateSpec spec() {
  auto s = parse_template({{"template.yaml", R"(name: demo
parameters:
  - {name: greeting, default: hello, mutable: true}
  - {name: size, type: number, default: "2", validation: {min: 1, max: 8}}
  - {name: region, options: [eu, us]}
  - {name: debug, type: bool, default: "false"}
presets:
  - {name: big, parameters: {size: "8", region: eu}}
agents:
  - name: main
)"}});
  EXPECT_TRUE(s) << s.error().message;
  return *s;
}

TEST(ResolveParameters, PrecedenceRequestPresetPreviousDefault) {
  auto s = spec();
  auto v = resolve_parameters(s, {.provided = {{"greeting", "hi"}}, .preset = "big"});
  ASSERT_TRUE(v) << v.error().message;
  EXPECT_EQ(v->at("greeting"), "hi");
  EXPECT_EQ(v->at("size"), "8");
  EXPECT_EQ(v->at("region"), "eu");
  EXPECT_EQ(v->at("debug"), "false");
}

TEST(ResolveParameters, RequiredWithoutDefault) {
  auto v = resolve_parameters(spec(), {});
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().message,
            "invalid parameter region: parameter \"region\" is required (it has no default)");
  EXPECT_EQ(v.error().validations[0].field, "region");
}

TEST(ResolveParameters, BadValuesAreEachNamed) {
  auto v = resolve_parameters(
      spec(),
      {.provided = {{"size", "99"}, {"region", "mars"}, {"debug", "yes"}, {"colour", "red"}}});
  ASSERT_FALSE(v);
  const auto& val = v.error().validations;
  ASSERT_EQ(val.size(), 4u);
  EXPECT_EQ(val[0].detail,
            "template demo has no parameter \"colour\"; its parameters are: greeting, size, "
            "region, debug");
  EXPECT_EQ(val[1].detail, "99 is above the maximum 8");
  EXPECT_EQ(val[2].detail, "\"mars\" is not one of the options: eu, us");
  EXPECT_EQ(val[3].detail, "\"yes\" is not a boolean; use true or false");
}

TEST(ResolveParameters, UnknownPreset) {
  auto v = resolve_parameters(spec(), {.preset = "huge"});
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().message, "template demo has no preset \"huge\"");
  EXPECT_EQ(v.error().detail, "available presets: big");
}

TEST(ResolveParameters, ImmutableParametersKeepTheirValue) {
  auto s = spec();
  ParameterValues previous{
      {"greeting", "hello"}, {"size", "2"}, {"region", "eu"}, {"debug", "false"}};
  auto ok = resolve_parameters(s, {.provided = {{"greeting", "yo"}}, .previous = previous});
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->at("greeting"), "yo");
  EXPECT_EQ(ok->at("region"), "eu");
  auto bad = resolve_parameters(s, {.provided = {{"size", "4"}}, .previous = previous});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().validations[0].detail,
            "parameter \"size\" is immutable; it cannot change after the workspace was created");
}

TEST(ParameterEnvName, UpperCase) {
  EXPECT_EQ(parameter_env_name("greeting"), "BERTH_PARAM_GREETING");
}

}  // namespace
}  // namespace berth::templates

namespace berth::templates {
namespace {

ParameterSpec pattern_parameter(std::string pattern) {
  ParameterSpec p;
  p.name = "tag";
  p.validation_regex = std::move(pattern);
  return p;
}

// Finding 4 of the hardening issue: std::regex recursed once per character (a 400 KB value
// overflowed the stack) and backtracked exponentially on (a+)+$. RE2 is linear in the value.
TEST(ValidationPattern, CatastrophicPatternsRunInLinearTime) {
  auto p = pattern_parameter("(a+)+$");
  EXPECT_EQ(check_parameter_value(p, "aaaa"), std::nullopt);
  const std::string evil = std::string(10'000, 'a') + "!";
  auto why = check_parameter_value(p, evil);
  ASSERT_TRUE(why);
  EXPECT_EQ(*why,
            "\"" + std::string(64, 'a') + "...\" (10001 bytes) does not match the pattern (a+)+$");
}

TEST(ValidationPattern, OversizedValuesAreRefusedBeforeMatching) {
  auto p = pattern_parameter("[a-z]+");
  auto why = check_parameter_value(p, std::string(400 * 1024, 'a'));
  ASSERT_TRUE(why);
  EXPECT_EQ(*why, "the value is 409600 bytes long; the limit is 16384 bytes");
}

TEST(ValidationPattern, PushRefusesWhatRe2CannotRunAndOversizedPatterns) {
  auto backref = parse_template({{"template.yaml", R"(name: demo
parameters:
  - {name: tag, validation: {regex: '(a)\1'}}
agents:
  - name: main
)"}});
  ASSERT_FALSE(backref);
  ASSERT_EQ(backref.error().validations.size(), 1u);
  EXPECT_EQ(backref.error().validations[0].field,
            "template.yaml:3: parameters[0].validation.regex");
  EXPECT_EQ(backref.error().validations[0].detail,
            "is not a valid regular expression: invalid escape sequence: \\1 (patterns use RE2 "
            "syntax: no backreferences or lookaround)");
  EXPECT_EQ(check_validation_pattern(std::string(2000, 'a')),
            "is 2000 bytes long; the limit is 1024");
  EXPECT_EQ(check_validation_pattern("^[a-z]{1,8}$"), std::nullopt);
}

}  // namespace
}  // namespace berth::templates
