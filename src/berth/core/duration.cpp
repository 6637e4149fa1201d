#include "berth/core/duration.hpp"

#include <fmt/format.h>
#include <algorithm>
#include <cmath>

namespace berth {

namespace {

// Unit length in nanoseconds.
double unit_ns(std::string_view unit) {
  if (unit == "ns") return 1;
  if (unit == "us" || unit == "\xC2\xB5s" || unit == "\xCE\xBCs") return 1e3;
  if (unit == "ms") return 1e6;
  if (unit == "s") return 1e9;
  if (unit == "m") return 60e9;
  if (unit == "h") return 3600e9;
  return 0;
}

Error bad(std::string_view text, std::string_view why) {
  return Error::invalid_argument(fmt::format("invalid duration \"{}\": {}", text, why),
                                 "write a number with a unit, e.g. 90s, 10m, 2h30m");
}

}  // namespace

Result<Millis> parse_duration(std::string_view text) {
  std::string_view s = text;
  bool negative = false;
  if (!s.empty() && (s.front() == '-' || s.front() == '+')) {
    negative = s.front() == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return Millis(0);
  if (s.empty()) return bad(text, "empty");
  double total_ns = 0;
  while (!s.empty()) {
    std::size_t i = 0;
    while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
    if (i == 0) return bad(text, "expected a number");
    std::string number(s.substr(0, i));
    if (number == "." || std::count(number.begin(), number.end(), '.') > 1) {
      return bad(text, "malformed number");
    }
    s.remove_prefix(i);
    std::size_t j = 0;
    while (j < s.size() && !std::isdigit(static_cast<unsigned char>(s[j])) && s[j] != '.') ++j;
    if (j == 0) return bad(text, "missing unit");
    double unit = unit_ns(s.substr(0, j));
    if (unit == 0) return bad(text, fmt::format("unknown unit \"{}\"", s.substr(0, j)));
    s.remove_prefix(j);
    total_ns += std::stod(number) * unit;
  }
  if (total_ns > 9.2e18) return bad(text, "too large");
  auto ms = static_cast<std::int64_t>(std::llround(total_ns / 1e6));
  return Millis(negative ? -ms : ms);
}

std::string format_duration(Millis d) {
  std::int64_t ms = d.count();
  if (ms == 0) return "0s";
  std::string sign = ms < 0 ? "-" : "";
  if (ms < 0) ms = -ms;
  if (ms < 1000) return fmt::format("{}{}ms", sign, ms);
  std::int64_t h = ms / 3'600'000;
  std::int64_t m = (ms / 60'000) % 60;
  std::int64_t s = (ms / 1000) % 60;
  std::int64_t frac = ms % 1000;
  std::string secs = frac ? fmt::format("{}.{:03}", s, frac) : std::to_string(s);
  while (frac && secs.back() == '0') secs.pop_back();
  if (h) return fmt::format("{}{}h{}m{}s", sign, h, m, secs);
  if (m) return fmt::format("{}{}m{}s", sign, m, secs);
  return fmt::format("{}{}s", sign, secs);
}

}  // namespace berth
