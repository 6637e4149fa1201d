#include "berth/agent/agent_rpc.hpp"

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
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

constexpr std::size_t kMaxOutput = 32 * 1024;              // exec keeps the last 32 KiB
constexpr std::uintmax_t kMaxReadBytes = 4 * 1024 * 1024;  // read_file refuses larger files
constexpr std::int64_t kDefaultExecTimeoutMs = 60'000;
constexpr std::int64_t kMaxExecTimeoutMs = 600'000;

json error(std::string_view code, std::string message) {
  return {{"error", {{"code", code}, {"message", std::move(message)}}}};
}

asio::awaitable<json> exec(asio::any_io_executor ex, const json& params) {
  using namespace asio::experimental::awaitable_operators;
  if (!params.contains("command") || !params["command"].is_string()) {
    co_return error("invalid_argument", "exec needs a \"command\" string");
  }
  std::int64_t timeout_ms = params.value("timeout_ms", kDefaultExecTimeoutMs);
  timeout_ms = std::clamp<std::int64_t>(timeout_ms, 1, kMaxExecTimeoutMs);
  proc::SpawnOptions opts{.argv = {"/bin/sh", "-c", params["command"].get<std::string>()},
                          .env = proc::current_environment(),
                          .cwd = params.value("workdir", "")};
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
    return error("not_found", fmt::format("{} does not exist", path.string()));
  if (fs::is_directory(path, ec))
    return error("invalid_argument", fmt::format("{} is a directory", path.string()));
  auto size = fs::file_size(path, ec);
  if (size > kMaxReadBytes) {
    return error("invalid_argument",
                 fmt::format("{} is {} bytes; read_file reads files up to {} bytes", path.string(),
                             size, kMaxReadBytes));
  }
  std::ifstream in(path, std::ios::binary);
  std::stringstream buf;
  buf << in.rdbuf();
  std::string content = buf.str();
  if (content.find('\0') != std::string::npos) {
    return error("invalid_argument", fmt::format("{} is a binary file", path.string()));
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
                 fmt::format("cannot create {}: {}", path.parent_path().string(), ec.message()));
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return error("unavailable", fmt::format("cannot open {} for writing", path.string()));
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
    return error("not_found", fmt::format("{} does not exist", path.string()));
  if (fs::is_directory(path, ec))
    return error("invalid_argument", fmt::format("{} is a directory", path.string()));
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
    return error("invalid_argument", fmt::format("{} is a binary file", path.string()));
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

asio::awaitable<json> handle_request(asio::any_io_executor executor, std::string method,
                                     json params) {
  try {
    if (method == "exec") co_return co_await exec(executor, params);
    if (method == "read_file") co_return read_file(params);
    if (method == "write_file") co_return write_file(params);
    if (method == "edit_file") co_return edit_file(params);
    co_return error("invalid_argument", fmt::format("unknown method \"{}\"", method));
  } catch (const std::exception& e) {
    co_return error("internal", e.what());
  }
}

}  // namespace berth::agent
