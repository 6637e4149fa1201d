#include "berth/core/logging.hpp"

#include <chrono>

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "berth/core/ids.hpp"

namespace berth {

namespace {

thread_local std::shared_ptr<const std::string> t_request_id;

bool key_char(char c) { return (c >= 'a' && c <= 'z') || c == '_'; }

// Where a " key=" starts at or after `from` (the position of the space), or npos.
std::size_t next_field(std::string_view m, std::size_t from) {
  for (std::size_t i = from; i < m.size(); ++i) {
    if (m[i] != ' ') continue;
    std::size_t k = i + 1;
    while (k < m.size() && key_char(m[k])) ++k;
    if (k > i + 1 && k < m.size() && m[k] == '=') return i;
  }
  return std::string_view::npos;
}

// UTC with microseconds: 2026-12-01T19:52:05.148123Z
std::string time_text(const spdlog::details::log_msg& msg) {
  auto seconds = std::chrono::time_point_cast<std::chrono::seconds>(msg.time);
  auto micros = std::chrono::duration_cast<std::chrono::microseconds>(msg.time - seconds).count();
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:06}Z", seconds, micros);
}

class JsonFormatter final : public spdlog::formatter {
 public:
  explicit JsonFormatter(std::string component) : component_(std::move(component)) {}
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    auto split = split_log_message(std::string_view(msg.payload.data(), msg.payload.size()));
    nlohmann::ordered_json j = {
        {"time", time_text(msg)},
        {"level", std::string(spdlog::level::to_string_view(msg.level).data(),
                              spdlog::level::to_string_view(msg.level).size())},
        {"component", component_},
        {"msg", split.event}};
    for (auto& [k, v] : split.fields) {
      if (!j.contains(k)) j[k] = std::move(v);
    }
    if (!current_request_id().empty() && !j.contains("request_id"))
      j["request_id"] = current_request_id();
    // Lines may carry bytes from anywhere (a script's output): invalid UTF-8 is replaced.
    std::string line =
        j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
    dest.append(line.data(), line.data() + line.size());
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>(component_);
  }

 private:
  std::string component_;
};

// The text pattern, then " request_id=ID" when a request is current.
class RequestIdFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg&, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    const auto& id = current_request_id();
    if (id.empty()) return;
    static constexpr std::string_view kKey = " request_id=";
    dest.append(kKey.data(), kKey.data() + kKey.size());
    dest.append(id.data(), id.data() + id.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<RequestIdFlag>();
  }
};

}  // namespace

Result<LogFormat> parse_log_format(std::string_view text) {
  if (text == "text") return LogFormat::text;
  if (text == "json") return LogFormat::json;
  return Error::invalid_argument(fmt::format("--log-format {} is not a format", text),
                                 "use --log-format text or --log-format json");
}

void configure_logging(LogFormat format, std::string_view component) {
  if (format == LogFormat::json) {
    spdlog::set_formatter(std::make_unique<JsonFormatter>(std::string(component)));
    return;
  }
  auto f = std::make_unique<spdlog::pattern_formatter>();
  std::string prefix = component == "server" ? "" : std::string(component) + " ";
  f->add_flag<RequestIdFlag>('*').set_pattern("%Y-%m-%dT%H:%M:%S.%f " + prefix + "%^%l%$ %v%*");
  spdlog::set_formatter(std::move(f));
}

const std::string& current_request_id() {
  static const std::string kNone;
  return t_request_id ? *t_request_id : kNone;
}

RequestLogScope::RequestLogScope(std::shared_ptr<const std::string> id)
    : previous_(std::move(t_request_id)) {
  t_request_id = std::move(id);
}

RequestLogScope::~RequestLogScope() { t_request_id = std::move(previous_); }

bool valid_request_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == ':' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::string new_request_id() { return random_hex(8); }

LogFields split_log_message(std::string_view m) {
  LogFields out;
  std::size_t first = next_field(m, 0);
  out.event = std::string(m.substr(0, first));
  while (first != std::string_view::npos) {
    std::size_t eq = m.find('=', first);
    std::string key(m.substr(first + 1, eq - first - 1));
    std::size_t next = next_field(m, eq + 1);
    std::string value(m.substr(eq + 1, next == std::string_view::npos ? next : next - eq - 1));
    out.fields.emplace_back(std::move(key), std::move(value));
    first = next;
  }
  return out;
}

}  // namespace berth
