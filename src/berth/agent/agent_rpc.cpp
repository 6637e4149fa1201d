#include "berth/agent/agent_rpc.hpp"

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include <fmt/format.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "berth/proc/process.hpp"

namespace berth::agent {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// Commands run at the normal OOM score: in a sandbox the agent has a lower one, so that the
// memory limit's OOM killer ends the command that grew rather than the agent.
const proc::Confinement kCommandConfinement{.oom_score_adj = 0};

constexpr std::size_t kMaxOutput = 32 * 1024;              // exec keeps the last 32 KiB
constexpr std::uintmax_t kMaxReadBytes = 4 * 1024 * 1024;  // read_file refuses larger files
constexpr std::int64_t kDefaultExecTimeoutMs = 60'000;
constexpr std::int64_t kMaxExecTimeoutMs = 600'000;

// The file refusals, each with the next step (the model reads them as tool results).
constexpr const char* kMissing =
    "{} does not exist; check the path (execute `ls` on its directory to see what is there)";
constexpr const char* kDirectory =
    "{0} is a directory; pass the path of a file in it (execute `ls {0}` to list them)";
constexpr const char* kBinary =
    "{0} is a binary file; inspect it with execute instead (for example `file {0}`)";

// process_output and process_signal, for an id the agent does not know.
constexpr const char* kNoProcess =
    "no background process \"{}\"; pass the process_id that execute with background: true "
    "returned";

json error(std::string_view code, std::string message) {
  return {{"error", {{"code", code}, {"message", std::move(message)}}}};
}

asio::awaitable<json> exec(asio::any_io_executor ex, const json& params,
                           const RequestHandler::OutputSink& sink) {
  using namespace asio::experimental::awaitable_operators;
  if (!params.contains("command") || !params["command"].is_string()) {
    co_return error("invalid_argument", "exec needs a \"command\" string");
  }
  std::int64_t timeout_ms = params.value("timeout_ms", kDefaultExecTimeoutMs);
  timeout_ms = std::clamp<std::int64_t>(timeout_ms, 1, kMaxExecTimeoutMs);
  proc::SpawnOptions opts{.argv = {"/bin/sh", "-c", params["command"].get<std::string>()},
                          .env = proc::current_environment(),
                          .cwd = params.value("workdir", ""),
                          .confine = kCommandConfinement};
  auto started = std::chrono::steady_clock::now();
  auto child = proc::Process::spawn(ex, opts);
  if (!child) co_return error("unavailable", child.error().message);
  auto& p = **child;
  std::string output;
  bool truncated = false;
  asio::steady_timer deadline(ex, std::chrono::milliseconds(timeout_ms));
  bool timed_out = false;
  auto reader = [&]() -> asio::awaitable<void> {
    while (auto chunk = co_await p.read_output()) {
      if (sink) sink(chunk->data);
      output += chunk->data;
      if (output.size() > kMaxOutput) {
        output.erase(0, output.size() - kMaxOutput);
        truncated = true;
      }
    }
  };
  boost::system::error_code ec;
  auto which =
      co_await (reader() || deadline.async_wait(asio::redirect_error(asio::use_awaitable, ec)));
  if (which.index() == 1) {
    timed_out = true;
    p.signal_group(SIGKILL);
  }
  int code = co_await p.wait();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                  started);
  json result = {{"exit_code", code},
                 {"output", output},
                 {"truncated", truncated},
                 {"duration_ms", ms.count()},
                 {"timed_out", timed_out}};
  co_return json{{"result", result}};
}

json read_file(const json& params) {
  if (!params.contains("path") || !params["path"].is_string()) {
    return error("invalid_argument", "read_file needs a \"path\" string");
  }
  fs::path path = params["path"].get<std::string>();
  std::error_code ec;
  if (!fs::exists(path, ec))
    return error("not_found", fmt::format(fmt::runtime(kMissing), path.string()));
  if (fs::is_directory(path, ec))
    return error("invalid_argument", fmt::format(fmt::runtime(kDirectory), path.string()));
  auto size = fs::file_size(path, ec);
  if (size > kMaxReadBytes) {
    return error("invalid_argument",
                 fmt::format("{} is {} bytes; read_file reads files up to {} bytes: pass offset "
                             "and limit to read part of it, or use execute (head, sed -n)",
                             path.string(), size, kMaxReadBytes));
  }
  std::ifstream in(path, std::ios::binary);
  std::stringstream buf;
  buf << in.rdbuf();
  std::string content = buf.str();
  if (content.find('\0') != std::string::npos) {
    return error("invalid_argument", fmt::format(fmt::runtime(kBinary), path.string()));
  }
  std::int64_t offset = params.value("offset", 0);
  std::int64_t limit = params.value("limit", -1);
  std::string out;
  std::int64_t line_no = 0;
  std::size_t start = 0;
  while (start < content.size()) {
    auto nl = content.find('\n', start);
    std::size_t end = nl == std::string::npos ? content.size() : nl + 1;
    if (line_no >= offset && (limit < 0 || line_no < offset + limit))
      out.append(content, start, end - start);
    ++line_no;
    start = end;
  }
  return {{"result", {{"content", out}, {"total_lines", line_no}}}};
}

json write_file(const json& params) {
  if (!params.contains("path") || !params["path"].is_string() || !params.contains("content") ||
      !params["content"].is_string()) {
    return error("invalid_argument", "write_file needs \"path\" and \"content\" strings");
  }
  fs::path path = params["path"].get<std::string>();
  std::error_code ec;
  if (path.has_parent_path()) fs::create_directories(path.parent_path(), ec);
  if (ec)
    return error("unavailable",
                 fmt::format("cannot create {}: {}; check the path and its permissions (execute "
                             "`ls -ld` on its parent)",
                             path.parent_path().string(), ec.message()));
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) {
    return error("unavailable",
                 fmt::format("cannot open {} for writing; check its permissions (execute `ls -l` "
                             "on it)",
                             path.string()));
  }
  const auto& content = params["content"].get_ref<const std::string&>();
  out << content;
  out.close();
  if (!out) return error("unavailable", fmt::format("writing {} failed", path.string()));
  return {{"result", {{"bytes_written", content.size()}}}};
}

// Replaces `old_text` by `new_text` in a text file: exactly one occurrence, or every one with
// replace_all. Written to a temporary file and renamed, so a reader never sees half an edit.
json edit_file(const json& params) {
  for (auto key : {"path", "old_text", "new_text"}) {
    if (!params.contains(key) || !params[key].is_string()) {
      return error("invalid_argument",
                   "edit_file needs \"path\", \"old_text\" and \"new_text\" strings");
    }
  }
  fs::path path = params["path"].get<std::string>();
  const auto& old_text = params["old_text"].get_ref<const std::string&>();
  const auto& new_text = params["new_text"].get_ref<const std::string&>();
  const bool replace_all = params.value("replace_all", false);
  if (old_text.empty()) {
    return error("invalid_argument", "old_text is empty; give the exact text to replace");
  }
  std::error_code ec;
  if (!fs::exists(path, ec))
    return error("not_found", fmt::format(fmt::runtime(kMissing), path.string()));
  if (fs::is_directory(path, ec))
    return error("invalid_argument", fmt::format(fmt::runtime(kDirectory), path.string()));
  if (fs::file_size(path, ec) > kMaxReadBytes) {
    return error("invalid_argument",
                 fmt::format("{} is larger than {} bytes; edit it with a command instead",
                             path.string(), kMaxReadBytes));
  }
  std::string content;
  {
    std::ifstream in(path, std::ios::binary);
    std::stringstream buf;
    buf << in.rdbuf();
    content = buf.str();
  }
  if (content.find('\0') != std::string::npos) {
    return error("invalid_argument", fmt::format(fmt::runtime(kBinary), path.string()));
  }
  std::size_t count = 0;
  for (auto at = content.find(old_text); at != std::string::npos;
       at = content.find(old_text, at + old_text.size())) {
    ++count;
  }
  if (count == 0) {
    return error("invalid_argument",
                 fmt::format("old_text was not found in {}; read the file and copy the text "
                             "exactly, including whitespace",
                             path.string()));
  }
  if (count > 1 && !replace_all) {
    return error("invalid_argument",
                 fmt::format("old_text appears {} times in {}; include more surrounding lines to "
                             "make it unique, or set replace_all",
                             count, path.string()));
  }
  std::string edited;
  edited.reserve(content.size() + count * new_text.size());
  std::size_t from = 0;
  for (auto at = content.find(old_text); at != std::string::npos;
       at = content.find(old_text, from)) {
    edited.append(content, from, at - from);
    edited += new_text;
    from = at + old_text.size();
  }
  edited.append(content, from, std::string::npos);
  fs::path tmp = path;
  tmp += ".berth-edit";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << edited;
    out.close();
    if (!out) return error("unavailable", fmt::format("writing {} failed", tmp.string()));
  }
  fs::permissions(tmp, fs::status(path, ec).permissions(), ec);
  fs::rename(tmp, path, ec);
  if (ec)
    return error("unavailable",
                 fmt::format("replacing {} failed: {}", path.string(), ec.message()));
  return {{"result", {{"replacements", count}, {"bytes_written", edited.size()}}}};
}

}  // namespace

// A command started with background: true. Its output (the last 32 KiB) and exit code stay
// readable after it ends, until it is among the oldest of too many finished ones.
struct RequestHandler::Background {
  std::unique_ptr<proc::Process> process;
  std::string command;
  std::string output;
  bool truncated = false;
  std::optional<int> exit_code;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point ended;
};

namespace {

constexpr std::size_t kMaxBackground = 32;

asio::awaitable<void> collect(std::shared_ptr<RequestHandler::Background> b) {
  while (auto chunk = co_await b->process->read_output()) {
    b->output += chunk->data;
    if (b->output.size() > kMaxOutput) {
      b->output.erase(0, b->output.size() - kMaxOutput);
      b->truncated = true;
    }
  }
  int code = co_await b->process->wait();
  b->exit_code = code;
  b->ended = std::chrono::steady_clock::now();
}

std::optional<int> signal_number(std::string_view name) {
  if (name == "TERM" || name == "SIGTERM") return SIGTERM;
  if (name == "KILL" || name == "SIGKILL") return SIGKILL;
  if (name == "INT" || name == "SIGINT") return SIGINT;
  if (name == "HUP" || name == "SIGHUP") return SIGHUP;
  return std::nullopt;
}

}  // namespace

RequestHandler::RequestHandler(asio::any_io_executor executor) : executor_(std::move(executor)) {}

RequestHandler::~RequestHandler() {
  for (auto& [id, b] : background_) {
    if (!b->exit_code) b->process->signal_group(SIGKILL);
  }
}

json RequestHandler::start_background(const json& params) {
  if (!params.contains("command") || !params["command"].is_string()) {
    return error("invalid_argument", "exec needs a \"command\" string");
  }
  // Room for one more: forget the oldest finished command, or refuse if all still run.
  if (background_.size() >= kMaxBackground) {
    auto oldest = background_.end();
    for (auto it = background_.begin(); it != background_.end(); ++it) {
      if (it->second->exit_code &&
          (oldest == background_.end() || it->second->ended < oldest->second->ended)) {
        oldest = it;
      }
    }
    if (oldest == background_.end()) {
      return error("unavailable", fmt::format("{} background commands are running; end one with "
                                              "process_signal first",
                                              kMaxBackground));
    }
    background_.erase(oldest);
  }
  proc::SpawnOptions opts{.argv = {"/bin/sh", "-c", params["command"].get<std::string>()},
                          .env = proc::current_environment(),
                          .cwd = params.value("workdir", ""),
                          .confine = kCommandConfinement};
  auto child = proc::Process::spawn(executor_, opts);
  if (!child) return error("unavailable", child.error().message);
  auto b = std::make_shared<Background>();
  b->process = std::move(*child);
  b->command = params["command"];
  std::string id = fmt::format("p{}", next_background_++);
  background_[id] = b;
  asio::co_spawn(executor_, collect(b), asio::detached);
  return {{"result", {{"process_id", id}, {"pid", b->process->pid()}}}};
}

json RequestHandler::process_output(const json& params) {
  auto it = background_.find(params.value("process_id", ""));
  if (it == background_.end()) {
    return error("not_found",
                 fmt::format(fmt::runtime(kNoProcess), params.value("process_id", "")));
  }
  const auto& b = *it->second;
  auto until = b.exit_code ? b.ended : std::chrono::steady_clock::now();
  json out = {{"process_id", it->first},
              {"command", b.command},
              {"running", !b.exit_code},
              {"output", b.output},
              {"truncated", b.truncated},
              {"duration_ms",
               std::chrono::duration_cast<std::chrono::milliseconds>(until - b.started).count()}};
  if (b.exit_code) out["exit_code"] = *b.exit_code;
  return {{"result", out}};
}

json RequestHandler::process_signal(const json& params) {
  auto it = background_.find(params.value("process_id", ""));
  if (it == background_.end()) {
    return error("not_found",
                 fmt::format(fmt::runtime(kNoProcess), params.value("process_id", "")));
  }
  std::string name = params.value("signal", "TERM");
  auto sig = signal_number(name);
  if (!sig) {
    return error("invalid_argument",
                 fmt::format("unknown signal \"{}\"; use TERM, KILL, INT or HUP", name));
  }
  const bool running = !it->second->exit_code;
  if (running) it->second->process->signal_group(*sig);
  return {{"result", {{"process_id", it->first}, {"signaled", running}, {"signal", name}}}};
}

asio::awaitable<json> RequestHandler::handle(std::string method, json params, OutputSink output) {
  try {
    if (method == "exec") {
      if (params.value("background", false)) co_return start_background(params);
      if (!params.value("stream", false)) output = nullptr;
      co_return co_await exec(executor_, params, output);
    }
    if (method == "process_output") co_return process_output(params);
    if (method == "process_signal") co_return process_signal(params);
    if (method == "read_file") co_return read_file(params);
    if (method == "write_file") co_return write_file(params);
    if (method == "edit_file") co_return edit_file(params);
    co_return error("invalid_argument", fmt::format("unknown method \"{}\"", method));
  } catch (const std::exception& e) {
    co_return error("internal", e.what());
  }
}

}  // namespace berth::agent
