#include "berth/egress/policy.hpp"

#include <gtest/gtest.h>

namespace berth::egress {
namespace {

Policy allowlist(std::vector<std::string> entries) {
  Policy p{Mode::allowlist, {}};
  for (const auto& e : entries) p.allow.push_back(*normalize_allow_entry(e));
  return p;
}

TEST(EgressPolicy, ModesDecideNamesAlone) {
  EXPECT_FALSE(host_allowed(Policy{Mode::none, {}}, "example.com"));
  EXPECT_TRUE(host_allowed(Policy{Mode::internet, {}}, "example.com"));
  EXPECT_FALSE(host_allowed(Policy{Mode::allowlist, {}}, "example.com"));
}

TEST(EgressPolicy, AllowlistMatchesExactNamesAndWildcardSubdomains) {
  auto p = allowlist({"GitHub.com", "*.npmjs.org", "pypi.org."});
  EXPECT_TRUE(host_allowed(p, "github.com"));
  EXPECT_TRUE(host_allowed(p, "GITHUB.COM."));
  EXPECT_FALSE(host_allowed(p, "api.github.com"));  // exact entries do not cover subdomains
  EXPECT_FALSE(host_allowed(p, "evilgithub.com"));
  EXPECT_TRUE(host_allowed(p, "registry.npmjs.org"));
  EXPECT_TRUE(host_allowed(p, "a.b.npmjs.org"));
  EXPECT_FALSE(host_allowed(p, "npmjs.org"));  // "*." needs a subdomain
  EXPECT_FALSE(host_allowed(p, "evilnpmjs.org"));
  EXPECT_FALSE(host_allowed(p, "npmjs.org.evil.com"));
  EXPECT_TRUE(host_allowed(p, "pypi.org"));
  EXPECT_FALSE(host_allowed(p, ""));
}

TEST(EgressPolicy, IpLiteralsMatchOnlyThemselves) {
  auto p = allowlist({"*.0.1", "192.0.2.7", "[2001:DB8::1]"});
  EXPECT_EQ(p.allow[0], "*.0.1");
  EXPECT_FALSE(host_allowed(p, "10.0.0.1"));  // a wildcard never matches an address
  EXPECT_TRUE(host_allowed(p, "192.0.2.7"));
  EXPECT_TRUE(host_allowed(p, "2001:db8:0::1"));
}

TEST(EgressPolicy, AllowEntriesAreCheckedWithReasons) {
  auto expect_error = [](std::string_view entry, std::string_view words) {
    auto r = normalize_allow_entry(entry);
    ASSERT_FALSE(r) << entry;
    EXPECT_NE(r.error().message.find(words), std::string::npos) << r.error().message;
  };
  expect_error("https://github.com", "without a scheme, port or path");
  expect_error("github.com:443", "without a scheme, port or path");
  expect_error("git*hub.com", "not a leading \"*.\"");
  expect_error("*.com", "whole top-level domain");
  expect_error("*", "not a leading");
  expect_error("exa mple.com", "only letters, digits");
  expect_error("-bad.com", "starts or ends with '-'");
  expect_error("a..b", "empty label");
  expect_error("", "1 to 253 characters");
  expect_error(std::string(64, 'a') + ".com", "longer than 63");
  EXPECT_EQ(*normalize_allow_entry("Registry.NPMJS.org"), "registry.npmjs.org");
}

TEST(EgressPolicy, DescribeNamesTheList) {
  EXPECT_EQ(describe(Policy{Mode::none, {}}), "none");
  EXPECT_EQ(describe(Policy{Mode::internet, {}}), "internet");
  EXPECT_EQ(describe(allowlist({"github.com", "*.npmjs.org"})),
            "allowlist (github.com, *.npmjs.org)");
}

TEST(EgressPolicy, ParsesAuthorities) {
  auto t = parse_authority("GitHub.com:443", 0);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->host, "github.com");
  EXPECT_EQ(t->port, 443);
  EXPECT_FALSE(t->is_ip);
  t = parse_authority("[::1]:8080", 0);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->host, "::1");
  EXPECT_TRUE(t->is_ip);
  t = parse_authority("10.0.0.1", 80);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->port, 80);
  EXPECT_TRUE(t->is_ip);
  for (std::string_view bad : {"", "github.com", "host:0", "host:65536", "host:", "user@host:1",
                               "::1:80", "[::1", "[10.0.0.1]:80", "[::1]x", "a b:80", "host:8o"}) {
    EXPECT_FALSE(parse_authority(bad, 0)) << bad;
  }
  auto e = parse_authority("user@host:1", 0);
  EXPECT_NE(e.error().message.find("user information"), std::string::npos);
}

TEST(EgressPolicy, ParsesAbsoluteUrls) {
  auto u = parse_absolute_url("http://Example.com:8080/a/b?c=1#frag");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->target.host, "example.com");
  EXPECT_EQ(u->target.port, 8080);
  EXPECT_EQ(u->origin_form, "/a/b?c=1");
  u = parse_absolute_url("HTTP://example.com");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->target.port, 80);
  EXPECT_EQ(u->origin_form, "/");
  u = parse_absolute_url("http://example.com?q");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->origin_form, "/?q");
  auto https = parse_absolute_url("https://example.com/");
  ASSERT_FALSE(https);
  EXPECT_NE(https.error().message.find("CONNECT"), std::string::npos);
  EXPECT_FALSE(parse_absolute_url("/relative"));
  EXPECT_FALSE(parse_absolute_url("ftp://example.com/"));
}

TEST(EgressPolicy, ReservedRangesAreNamed) {
  auto range = [](std::string_view text) -> std::string {
    auto a = Address::parse(text);
    EXPECT_TRUE(a) << text;
    auto r = reserved_range(*a);
    return r ? std::string(*r) : "public";
  };
  EXPECT_EQ(range("127.0.0.1"), "loopback");
  EXPECT_EQ(range("127.8.9.10"), "loopback");
  EXPECT_EQ(range("10.1.2.3"), "private network (RFC 1918)");
  EXPECT_EQ(range("172.31.255.255"), "private network (RFC 1918)");
  EXPECT_EQ(range("172.32.0.1"), "public");
  EXPECT_EQ(range("192.168.1.1"), "private network (RFC 1918)");
  EXPECT_EQ(range("169.254.169.254"), "link-local (cloud metadata)");
  EXPECT_EQ(range("100.100.100.200"), "shared address space (carrier-grade NAT)");
  EXPECT_EQ(range("0.0.0.0"), "\"this network\" (0.0.0.0/8)");
  EXPECT_EQ(range("255.255.255.255"), "reserved (and broadcast)");
  EXPECT_EQ(range("224.0.0.1"), "multicast");
  EXPECT_EQ(range("8.8.8.8"), "public");
  EXPECT_EQ(range("140.82.112.3"), "public");
  EXPECT_EQ(range("::1"), "loopback");
  EXPECT_EQ(range("::"), "unspecified");
  EXPECT_EQ(range("::ffff:127.0.0.1"), "loopback");
  EXPECT_EQ(range("::ffff:8.8.8.8"), "public");
  EXPECT_EQ(range("64:ff9b::a9fe:a9fe"), "link-local (cloud metadata)");  // NAT64 169.254.169.254
  EXPECT_EQ(range("2002:7f00:1::"), "loopback");                          // 6to4 127.0.0.1
  EXPECT_EQ(range("fd00::1"), "private network (unique local)");
  EXPECT_EQ(range("fe80::1"), "link-local");
  EXPECT_EQ(range("ff02::1"), "multicast");
  EXPECT_EQ(range("2001:db8::1"), "documentation");
  EXPECT_EQ(range("2001:0:4136:e378::1"), "IETF protocol assignments (Teredo and others)");
  EXPECT_EQ(range("::127.0.0.1"), "reserved (not global unicast)");
  EXPECT_EQ(range("2606:4700::1111"), "public");
  EXPECT_EQ(range("2a00:1450:4001::64"), "public");
}

TEST(EgressPolicy, CidrsContainTheirAddresses) {
  auto c = Cidr::parse("10.1.2.3/16");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->to_string(), "10.1.0.0/16");
  EXPECT_TRUE(c->contains(*Address::parse("10.1.255.1")));
  EXPECT_FALSE(c->contains(*Address::parse("10.2.0.1")));
  EXPECT_FALSE(c->contains(*Address::parse("fd00::1")));
  auto one = Cidr::parse("127.0.0.2");
  ASSERT_TRUE(one);
  EXPECT_EQ(one->prefix, 32);
  EXPECT_TRUE(one->contains(*Address::parse("127.0.0.2")));
  EXPECT_FALSE(one->contains(*Address::parse("127.0.0.1")));
  auto v6 = Cidr::parse("fd00::/8");
  ASSERT_TRUE(v6);
  EXPECT_TRUE(v6->contains(*Address::parse("fdab::1")));
  for (std::string_view bad : {"10.0.0.0/33", "fd00::/129", "10.0.0.0/", "nope/8", "10.0.0.0/x"}) {
    auto r = Cidr::parse(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_NE(r.error().message.find("is not an address range"), std::string::npos);
  }
}

}  // namespace
}  // namespace berth::egress
