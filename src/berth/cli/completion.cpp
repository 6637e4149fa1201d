// Shell completion. `berth completion bash|zsh|fish` prints a script; the script asks the
// binary itself (`berth __complete WORD... CURRENT`) for candidates, so completion always
// matches the commands and flags of the berth that is installed.
#include <algorithm>
#include <iostream>

#include <fmt/format.h>

#include "berth/cli/commands.hpp"

namespace berth::cli {

namespace {

constexpr std::string_view kBash = R"(# bash completion for berth: source <(berth completion bash)
_berth_complete() {
  local IFS=$'\n'
  COMPREPLY=($("${COMP_WORDS[0]}" __complete "${COMP_WORDS[@]:1:COMP_CWORD-1}" "${COMP_WORDS[COMP_CWORD]}" 2>/dev/null))
}
complete -o default -F _berth_complete berth
)";

constexpr std::string_view kZsh = R"(#compdef berth
# zsh completion for berth: source <(berth completion zsh)
_berth() {
  local -a candidates
  candidates=("${(@f)$("${words[1]}" __complete "${(@)words[2,CURRENT-1]}" "${words[CURRENT]}" 2>/dev/null)}")
  compadd -a candidates
}
compdef _berth berth
)";

constexpr std::string_view kFish = R"(# fish completion for berth: berth completion fish | source
complete -c berth -f -a '(set -l words (commandline -opc); berth __complete $words[2..-1] (commandline -ct) 2>/dev/null)'
)";

bool visible(const CLI::App* sub) { return !sub->get_group().empty(); }

const CLI::Option* find_option(const std::vector<const CLI::App*>& path, std::string_view word) {
  for (const CLI::App* app : path) {
    for (const CLI::Option* opt : app->get_options()) {
      for (const auto& l : opt->get_lnames())
        if (word == "--" + l) return opt;
      for (const auto& s : opt->get_snames())
        if (word == "-" + s) return opt;
    }
  }
  return nullptr;
}

}  // namespace

std::vector<std::string> completions(CLI::App& root, const std::vector<std::string>& words,
                                     std::string_view current) {
  std::vector<const CLI::App*> path = {&root};
  CLI::App* at = &root;
  const CLI::Option* pending = nullptr;  // the option whose value the next word is
  for (const auto& w : words) {
    if (pending) {
      pending = nullptr;
      continue;
    }
    if (w.rfind("-", 0) == 0) {
      const CLI::Option* opt = find_option(path, w.substr(0, w.find('=')));
      if (opt && opt->get_type_size() > 0 && w.find('=') == std::string::npos) pending = opt;
      continue;
    }
    for (CLI::App* sub : at->get_subcommands([](CLI::App*) { return true; })) {
      if (sub->get_name() == w && visible(sub)) {
        at = sub;
        path.push_back(sub);
        break;
      }
    }
  }
  std::vector<std::string> out;
  auto offer = [&](const std::string& candidate) {
    if (candidate.rfind(current, 0) == 0 &&
        std::find(out.begin(), out.end(), candidate) == out.end())
      out.push_back(candidate);
  };
  if (pending) {
    if (pending->get_lnames() == std::vector<std::string>{"output"}) {
      for (const char* f : {"table", "json", "yaml"}) offer(f);
    }
    return out;  // a value: the shell falls back to file names
  }
  if (!current.empty() && current[0] == '-') {
    for (const CLI::App* app : path) {
      for (const CLI::Option* opt : app->get_options()) {
        if (opt->get_group().empty()) continue;  // hidden
        for (const auto& l : opt->get_lnames()) offer("--" + l);
      }
    }
    return out;
  }
  for (CLI::App* sub : at->get_subcommands([](CLI::App*) { return true; })) {
    if (visible(sub)) offer(sub->get_name());
  }
  return out;
}

int run_complete(CLI::App& root, int argc, char** argv) {
  // argv: berth __complete WORD... CURRENT
  std::vector<std::string> words(argv + 2, argv + argc);
  std::string current;
  if (!words.empty()) {
    current = words.back();
    words.pop_back();
  }
  for (const auto& c : completions(root, words, current)) std::cout << c << "\n";
  return 0;
}

void add_completion_commands(CLI::App& app, int& exit_code) {
  auto shell = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand(
      "completion",
      "Print a shell completion script: source <(berth completion bash), zsh likewise, or "
      "berth completion fish | source");
  cmd->add_option("shell", *shell, "bash, zsh or fish")
      ->required()
      ->check(CLI::IsMember({"bash", "zsh", "fish"}));
  cmd->callback([&exit_code, shell] {
    std::cout << (*shell == "bash" ? kBash : *shell == "zsh" ? kZsh : kFish);
    exit_code = 0;
  });
}

}  // namespace berth::cli
