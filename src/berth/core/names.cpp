#include "berth/core/names.hpp"

#include <array>
#include <cctype>
#include <memory>
#include <random>

namespace berth {

namespace {

bool is_alnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

// ^[a-zA-Z0-9]+(-[a-zA-Z0-9]+)*$ without a regex engine.
bool alnum_with_single_hyphens(std::string_view s) {
  if (s.empty() || s.front() == '-' || s.back() == '-') return false;
  char prev = 0;
  for (char c : s) {
    if (c == '-') {
      if (prev == '-') return false;
    } else if (!is_alnum(c)) {
      return false;
    }
    prev = c;
  }
  return true;
}

constexpr std::array<std::string_view, 24> kAdjectives = {
    "brave", "calm",   "clever", "eager",  "fancy",  "gentle", "happy", "jolly",
    "kind",  "lively", "lucid",  "merry",  "nimble", "noble",  "proud", "quick",
    "quiet", "rapid",  "sharp",  "sleepy", "steady", "swift",  "vivid", "witty"};
constexpr std::array<std::string_view, 24> kSurnames = {
    "babbage", "bohr",   "curie",   "darwin",  "dijkstra", "euler",    "fermat",   "gauss",
    "hopper",  "kepler", "knuth",   "lamport", "liskov",   "lovelace", "mccarthy", "newton",
    "noether", "pascal", "ritchie", "shannon", "thompson", "turing",   "wirth",    "wozniak"};

}  // namespace

std::optional<std::string> name_invalid_reason(std::string_view name) {
  if (name.size() > kMaxNameLength) return "must be <= 32 characters";
  if (name.empty()) return "must be >= 1 character";
  if (name == "new" || name == "create")
    return "cannot use \"" + std::string(name) + "\" as a name";
  if (!alnum_with_single_hyphens(name)) return "must be alphanumeric with hyphens";
  return std::nullopt;
}

RandomIndex default_random_index() {
  auto engine = std::make_shared<std::mt19937_64>(std::random_device{}());
  return [engine](std::size_t bound) {
    return static_cast<std::size_t>(
        std::uniform_int_distribution<std::size_t>(0, bound - 1)(*engine));
  };
}

std::string random_docker_name(const RandomIndex& random) {
  std::string name(kAdjectives[random(kAdjectives.size())]);
  name += '-';
  name += kSurnames[random(kSurnames.size())];
  return name;
}

std::string username_from(std::string_view text, const RandomIndex& random) {
  if (name_valid(text)) return std::string(text);
  std::string_view local = text;
  if (auto at = local.rfind('@'); at != std::string_view::npos) local = local.substr(0, at);
  std::string kept;
  for (char c : local) {
    if (is_alnum(c) || c == '-') kept += c;
  }
  if (name_valid(kept)) return kept;
  return random_docker_name(random);
}

std::string generated_workspace_name(std::string_view seed, const RandomIndex& random) {
  std::string lowered;
  std::string_view trimmed = seed;
  while (!trimmed.empty() && std::isspace(static_cast<unsigned char>(trimmed.front())))
    trimmed.remove_prefix(1);
  while (!trimmed.empty() && std::isspace(static_cast<unsigned char>(trimmed.back())))
    trimmed.remove_suffix(1);
  for (char c : trimmed) lowered += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));

  std::string base = lowered.empty() ? "workspace" : username_from(lowered, random);
  if (base.size() > kGeneratedNameBaseLength) {
    base.resize(kGeneratedNameBaseLength);
    while (!base.empty() && base.back() == '-') base.pop_back();
    while (!base.empty() && base.front() == '-') base.erase(base.begin());
    if (base.empty()) base = "workspace";
  }
  static constexpr std::string_view kHex = "0123456789abcdef";
  std::string suffix;
  for (int i = 0; i < 4; ++i) suffix += kHex[random(kHex.size())];
  std::string name = base + "-" + suffix;
  if (name_valid(name)) return name;
  return random_docker_name(random) + std::to_string(1 + random(9));
}

}  // namespace berth
