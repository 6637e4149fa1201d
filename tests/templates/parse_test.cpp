#include "berth/templates/parse.hpp"

#include <gtest/gtest.h>

namespace berth::templates {
namespace {

Result<TemplateSpec> parse(std::string yaml) { return parse_template({{"template.yaml", yaml}}); }

constexpr const char* kIssueExample = R"(name: demo
display_name: Demo
description: What it is for
isolation: process
agents_allowed: true
parameters:
  - {name: greeting, type: string, default: hello, mutable: true}
presets:
  - {name: quick, parameters: {greeting: hi}, prebuilds: 0}
agents:
  - name: main
    display_order: 0
    chat: false
    startup_script: |
      echo "$BERTH_PARAM_GREETING" > greeting.txt
    startup_script_timeout: 10m
    connection_timeout: 2m
scripts:
  start: |
    echo preparing
  stop: |
    echo stopping
)";

TEST(ParseTemplate, TheDocumentedExample) {
  auto spec = parse_template({{"template.yaml", kIssueExample}, {"README.md", "# Demo"}});
  ASSERT_TRUE(spec) << spec.error().message;
  EXPECT_EQ(spec->name, "demo");
  EXPECT_EQ(spec->isolation, Isolation::process);
  ASSERT_EQ(spec->parameters.size(), 1u);
  EXPECT_EQ(spec->parameters[0].default_value, "hello");
  EXPECT_TRUE(spec->parameters[0].mutable_);
  ASSERT_EQ(spec->presets.size(), 1u);
  EXPECT_EQ(spec->presets[0].parameters.at("greeting"), "hi");
  ASSERT_EQ(spec->agents.size(), 1u);
  EXPECT_EQ(spec->agents[0].startup_script_timeout, std::chrono::minutes(10));
  EXPECT_EQ(spec->agents[0].connection_timeout, std::chrono::minutes(2));
  EXPECT_EQ(spec->scripts.start, "echo preparing\n");
  EXPECT_EQ(spec->readme, "# Demo");
}

TEST(ParseTemplate, JsonRoundTrip) {
  auto spec = parse(kIssueExample);
  ASSERT_TRUE(spec);
  auto back = from_json(to_json(*spec));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(to_json(*back), to_json(*spec));
}

TEST(ParseTemplate, DefaultsWhenOmitted) {
  auto spec = parse("name: tiny\nagents:\n  - name: main\n");
  ASSERT_TRUE(spec) << spec.error().message;
  EXPECT_TRUE(spec->agents_allowed);
  EXPECT_EQ(spec->isolation, Isolation::sandbox);
  EXPECT_EQ(spec->agents[0].startup_script_timeout, kDefaultStartupScriptTimeout);
}

TEST(ParseTemplate, SyntaxErrorNamesFileAndLine) {
  auto spec = parse("name: x\nagents: [\n");
  ASSERT_FALSE(spec);
  EXPECT_EQ(spec.error().code, ErrorCode::invalid_argument);
  EXPECT_NE(spec.error().message.find("template.yaml:"), std::string::npos);
  EXPECT_NE(spec.error().message.find("not valid YAML"), std::string::npos);
}

TEST(ParseTemplate, BadFieldNamesFileLineAndField) {
  auto spec = parse("name: demo\nagents:\n  - name: main\n    startup_script_timeout: ten\n");
  ASSERT_FALSE(spec);
  EXPECT_EQ(spec.error().message,
            "template.yaml:4: agents[0].startup_script_timeout: invalid duration \"ten\": expected "
            "a number (write e.g. 30s, 10m, 1h)");
  ASSERT_EQ(spec.error().validations.size(), 1u);
  EXPECT_EQ(spec.error().validations[0].field, "template.yaml:4: agents[0].startup_script_timeout");
}

TEST(ParseTemplate, ProvisionerTagsPickTheHosts) {
  auto spec =
      parse("name: gpu\nprovisioner_tags:\n  gpu: a100\n  zone: eu\nagents:\n  - name: main\n");
  ASSERT_TRUE(spec) << spec.error().message;
  EXPECT_EQ((Tags{{"gpu", "a100"}, {"zone", "eu"}}), spec->provisioner_tags);
  EXPECT_EQ(spec->provisioner_tags, from_json(to_json(*spec))->provisioner_tags);
  EXPECT_TRUE(parse("name: plain\nagents:\n  - name: main\n")->provisioner_tags.empty());
  auto bad = parse("name: gpu\nprovisioner_tags:\n  GPU: a100\nagents:\n  - name: main\n");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message,
            "template.yaml:3: provisioner_tags.GPU: tag name \"GPU\" may hold lower-case letters, "
            "digits and - _ . only");
  auto list = parse("name: gpu\nprovisioner_tags: [a100]\nagents:\n  - name: main\n");
  ASSERT_FALSE(list);
  EXPECT_EQ(list.error().message,
            "template.yaml:2: provisioner_tags: must be a mapping of tag names to values, e.g. "
            "gpu: a100");
}

TEST(ParseTemplate, DailyCostIsAWholeNumberOfCredits) {
  auto spec = parse("name: paid\ndaily_cost: 12\nagents:\n  - name: main\n");
  ASSERT_TRUE(spec) << spec.error().message;
  EXPECT_EQ(spec->daily_cost, 12);
  EXPECT_EQ(from_json(to_json(*spec))->daily_cost, 12);
  EXPECT_EQ(parse("name: free\nagents:\n  - name: main\n")->daily_cost, 0);
  auto negative = parse("name: paid\ndaily_cost: -1\nagents:\n  - name: main\n");
  ASSERT_FALSE(negative);
  EXPECT_EQ(negative.error().message,
            "template.yaml:2: daily_cost: must be between 0 and 1000000 credits");
  auto words = parse("name: paid\ndaily_cost: lots\nagents:\n  - name: main\n");
  ASSERT_FALSE(words);
  EXPECT_EQ(words.error().message, "template.yaml:2: daily_cost: must be a whole number");
}

TEST(ParseTemplate, UnknownFieldIsRefused) {
  auto spec = parse("name: demo\nagent:\n  - name: main\n");
  ASSERT_FALSE(spec);
  EXPECT_NE(spec.error().message.find("template.yaml:2: agent: unknown field \"agent\""),
            std::string::npos);
}

TEST(ParseTemplate, ManyProblemsAreAllReported) {
  auto spec = parse(
      "name: Bad_Name\nisolation: docker\nparameters:\n  - {name: n, type: number, default: x}\n"
      "agents:\n  - name: a\n    chat: true\n  - name: b\n    chat: true\n");
  ASSERT_FALSE(spec);
  const auto& v = spec.error().validations;
  ASSERT_GE(v.size(), 4u);
  EXPECT_EQ(v[0].field, "template.yaml:1: name");
  EXPECT_EQ(v[0].detail, "must be alphanumeric with hyphens");
  EXPECT_EQ(v[1].field, "template.yaml:2: isolation");
  EXPECT_EQ(v[2].field, "template.yaml:4: parameters[0].default");
  EXPECT_EQ(v[2].detail, "\"x\" is not a whole number");
  EXPECT_NE(spec.error().message.find("more problems"), std::string::npos);
  EXPECT_EQ(v.back().detail, "only one agent may set chat: true (it is the one chat tools use)");
}

TEST(ParseTemplate, PresetMustNameRealParameters) {
  auto spec = parse(
      "name: demo\npresets:\n  - name: p\n    parameters: {nope: 1}\nagents:\n  - name: main\n");
  ASSERT_FALSE(spec);
  EXPECT_EQ(spec.error().validations[0].detail, "no parameter named \"nope\" in this template");
}

TEST(ParseTemplate, ScriptIsolationNeedsAStartScript) {
  auto spec = parse("name: demo\nisolation: script\nagents:\n  - name: main\n");
  ASSERT_FALSE(spec);
  EXPECT_NE(spec.error().message.find("scripts.start: is required with isolation: script"),
            std::string::npos);
}

TEST(ParseTemplate, AgentsAreRequiredAndDirectoriesStayInside) {
  EXPECT_NE(parse("name: demo\n").error().message.find("at least one agent"), std::string::npos);
  auto spec = parse("name: demo\nagents:\n  - name: main\n    directory: ../escape\n");
  ASSERT_FALSE(spec);
  EXPECT_NE(spec.error().message.find("must be a path inside the workspace"), std::string::npos);
}

TEST(ParseTemplate, MissingTemplateYaml) {
  auto spec = parse_template({{"README.md", "x"}});
  ASSERT_FALSE(spec);
  EXPECT_EQ(spec.error().message, "template.yaml is missing");
}

}  // namespace
}  // namespace berth::templates

namespace berth::templates {
namespace {

// sandbox.network: true used to share the host's network with the workspace.
TEST(ParseTemplate, SandboxNetworkTrueIsRefused) {
  auto spec = parse_template(
      {{"template.yaml", "name: n\nsandbox:\n  network: true\nagents:\n  - name: main\n"}});
  ASSERT_FALSE(spec);
  ASSERT_EQ(spec.error().validations.size(), 1u);
  EXPECT_EQ(spec.error().validations[0].field, "template.yaml:3: sandbox.network");
  EXPECT_EQ(spec.error().validations[0].detail,
            "true is no longer supported: a sandbox has its own network namespace; give it "
            "outbound access with egress: internet or a list of host names (docs/templates.md)");
  EXPECT_TRUE(parse_template(
      {{"template.yaml", "name: n\nsandbox:\n  network: false\nagents:\n  - name: main\n"}}));
}

}  // namespace
}  // namespace berth::templates

namespace berth::templates {
namespace {

// Found by fuzz_template: a template that is not UTF-8 parsed, then failed as JSON (500).
TEST(ParseTemplate, FilesThatAreNotUtf8AreRefused) {
  auto spec = parse_template(
      {{"template.yaml", "name: t\ndescription: \"x\x90y\"\nagents:\n  - name: main\n"}});
  ASSERT_FALSE(spec);
  EXPECT_EQ(spec.error().message, "template.yaml: not valid UTF-8 (byte 23)");
  EXPECT_EQ(spec.error().detail, "save the file as UTF-8 and push again; nothing was stored");
  // Also found by fuzz_template: control characters in a block scalar came out of yaml-cpp as
  // bytes that are not UTF-8; and a mapping as a key threw from the field check.
  auto control = parse_template({{"template.yaml", std::string("name: t\ndescription: a\x16"
                                                               "b\n")}});
  ASSERT_FALSE(control);
  EXPECT_EQ(control.error().message, "template.yaml: control character 0x16 at byte 22");
  auto key = parse_template({{"template.yaml", "name: t\n{a: 1}: x\nagents:\n  - name: main\n"}});
  ASSERT_FALSE(key);
  ASSERT_EQ(key.error().validations.size(), 1u);
  EXPECT_EQ(key.error().validations[0].detail, "field names must be plain words");
}

}  // namespace
}  // namespace berth::templates

namespace berth::templates {
namespace {

TEST(ParseTemplate, SandboxLimits) {
  auto spec = parse_template({{"template.yaml", R"(name: l
sandbox:
  limits: {memory: 512MiB, processes: 64, cpus: 1.5}
agents:
  - name: main
)"}});
  ASSERT_TRUE(spec) << spec.error().message;
  EXPECT_EQ(spec->sandbox.limits.memory_bytes, std::int64_t{512} << 20);
  EXPECT_EQ(spec->sandbox.limits.processes, 64);
  EXPECT_EQ(spec->sandbox.limits.cpus, 1.5);
  auto back = from_json(to_json(*spec));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->sandbox.limits.memory_bytes, std::int64_t{512} << 20);

  auto bad = parse_template({{"template.yaml", R"(name: l
sandbox:
  limits: {memory: lots, processes: 2, cpus: -1}
agents:
  - name: main
)"}});
  ASSERT_FALSE(bad);
  ASSERT_EQ(bad.error().validations.size(), 3u);
  EXPECT_EQ(bad.error().validations[0].detail,
            "\"lots\" is not a size of at least 16MiB; write e.g. 512MiB or 4GiB");
  EXPECT_EQ(bad.error().validations[1].detail, "must be from 16 to 1000000");
  EXPECT_EQ(bad.error().validations[2].detail,
            "must be a number of cores from 0.01 to 1024, e.g. 0.5 or 2");
  EXPECT_EQ(parse_byte_size("2GiB"), std::int64_t{2} << 30);
  EXPECT_EQ(parse_byte_size("1.5G"), std::int64_t{3} << 29);
  EXPECT_EQ(parse_byte_size("4096"), 4096);
  EXPECT_EQ(parse_byte_size("12 parsecs"), std::nullopt);
}

}  // namespace
}  // namespace berth::templates

namespace berth::templates {
namespace {

TEST(ParseTemplate, SandboxEgressPolicies) {
  auto parse = [](std::string egress) {
    return parse_template({{"template.yaml", "name: e\nsandbox:\n  egress: " + egress +
                                                 "\nagents:\n  - name: main\n"}});
  };
  auto none = parse_template({{"template.yaml", "name: e\nagents:\n  - name: main\n"}});
  ASSERT_TRUE(none);
  EXPECT_EQ(none->sandbox.egress.mode, egress::Mode::none);
  auto internet = parse("internet");
  ASSERT_TRUE(internet);
  EXPECT_EQ(internet->sandbox.egress.mode, egress::Mode::internet);
  auto list = parse("[GitHub.com, \"*.npmjs.org\", github.com]");
  ASSERT_TRUE(list) << list.error().message;
  EXPECT_EQ(list->sandbox.egress.mode, egress::Mode::allowlist);
  EXPECT_EQ(list->sandbox.egress.allow, (std::vector<std::string>{"github.com", "*.npmjs.org"}));
  auto back = from_json(to_json(*list));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->sandbox.egress, list->sandbox.egress);

  auto word = parse("everything");
  ASSERT_FALSE(word);
  EXPECT_EQ(word.error().validations[0].field, "template.yaml:3: sandbox.egress");
  EXPECT_EQ(word.error().validations[0].detail,
            "\"everything\" is not an egress policy; write none, internet, or a list of host "
            "names such as [github.com, \"*.npmjs.org\"]");
  auto empty = parse("[]");
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().validations[0].detail,
            "must be none, internet, or a non-empty list of host names such as [github.com, "
            "\"*.npmjs.org\"]");
  auto bad = parse("[github.com, \"https://evil.example/\", \"*.com\"]");
  ASSERT_FALSE(bad);
  ASSERT_EQ(bad.error().validations.size(), 2u);
  EXPECT_EQ(bad.error().validations[0].field, "template.yaml:3: sandbox.egress[1]");
  EXPECT_EQ(bad.error().validations[0].detail,
            "\"https://evil.example/\" is not a host name: write the name alone, without a "
            "scheme, port or path");
  EXPECT_EQ(bad.error().validations[1].detail,
            "\"*.com\" covers a whole top-level domain; name the domains, or use egress: "
            "internet");
}

}  // namespace
}  // namespace berth::templates
