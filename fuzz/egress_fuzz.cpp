// libFuzzer target: what the egress proxy parses from a workspace's requests (the request
// target of CONNECT and of absolute-form requests) and what it reads from templates (allow-list
// entries) and the command line (address ranges). Invariants: no crash; what parses prints
// back to text that parses to the same thing; normalising an entry twice changes nothing.
#include <cstddef>
#include <cstdint>
#include <string>

#include "berth/egress/policy.hpp"

using namespace berth::egress;

namespace {

void check(bool ok) {
  if (!ok) __builtin_trap();
}

std::string authority(const Target& t) {
  std::string host = t.host.find(':') != std::string::npos ? "[" + t.host + "]" : t.host;
  return host + ":" + std::to_string(t.port);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  // The first line is a request target, the second a host to match against the first as an
  // allow-list entry.
  std::string_view target = text.substr(0, text.find('\n'));
  std::string_view host =
      target.size() < text.size() ? text.substr(target.size() + 1) : std::string_view{};

  if (auto t = parse_authority(target, 0)) {
    check(t->port != 0);
    auto again = parse_authority(authority(*t), 0);
    check(again && again->host == t->host && again->port == t->port && again->is_ip == t->is_ip);
  }
  if (auto u = parse_absolute_url(target)) {
    check(!u->origin_form.empty() && u->origin_form.front() == '/');
    check(u->origin_form.find('#') == std::string::npos);
  }
  if (auto entry = normalize_allow_entry(target)) {
    auto twice = normalize_allow_entry(*entry);
    check(twice && *twice == *entry);
    Policy p{Mode::allowlist, {*entry}};
    (void)host_allowed(p, host);
    (void)describe(p);
  }
  if (auto a = Address::parse(target)) {
    auto back = Address::parse(a->to_string());
    check(back && *back == *a);
    (void)reserved_range(*a);
  }
  if (auto c = Cidr::parse(target)) {
    auto back = Cidr::parse(c->to_string());
    check(back && back->prefix == c->prefix && back->base == c->base);
    if (auto a = Address::parse(host)) (void)c->contains(*a);
  }
  return 0;
}
