// GET /metrics: the Prometheus text exposition of metrics::registry(), for site admins.
#include "berth/http/metrics_handlers.hpp"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "berth/core/clock.hpp"
#include "berth/core/status.hpp"
#include "berth/http/app.hpp"
#include "berth/http/router.hpp"

namespace berth::http {

namespace {

using boost::asio::awaitable;
using metrics::Sample;
using metrics::Type;

// Prometheus authenticates with a bearer token (its `authorization.credentials_file`); the
// numbers are the site's, so only a site admin's token (read-only is enough) may read them.
awaitable<Response> metrics_text(Context& c) {
  if (auto s = c.app.admin.authz().require_site_admin(c.caller(), "read /metrics"); !s) {
    co_return error_response(s.error());
  }
  Response r;
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  r.body = metrics::registry().render();
  co_return r;
}

constexpr Route kRoutes[] = {
    {"GET", "/metrics", Auth::user, &metrics_text},
};

std::vector<Sample> workspaces_by_status(store::Store& store) {
  auto counts = store.count_workspaces_by_state();
  if (!counts) throw std::runtime_error(counts.error().message);
  std::map<std::string, double> by_status;
  // Every status appears, at 0 when no workspace has it, so a dashboard's series never vanish.
  for (auto s : kWorkspaceStatuses) {
    if (s != "deleted") by_status[std::string(s)] = 0;
  }
  for (const auto& c : *counts)
    by_status[std::string(workspace_status(c.transition, c.status))] +=
        static_cast<double>(c.count);
  std::vector<Sample> out;
  for (const auto& [status, n] : by_status) out.push_back({{status}, n});
  return out;
}

std::vector<Sample> prebuild_pools(store::Store& store, bool desired) {
  auto presets = store.prebuild_presets();
  if (!presets) throw std::runtime_error(presets.error().message);
  auto pool =
      desired
          ? Result<std::vector<store::PrebuildWorkspace>>(std::vector<store::PrebuildWorkspace>{})
          : store.prebuild_workspaces(now_ms());
  if (!pool) throw std::runtime_error(pool.error().message);
  std::vector<Sample> out;
  for (const auto& p : *presets) {
    const std::string& tmpl = p.template_name;
    if (desired) {
      out.push_back({{tmpl, p.preset.name}, static_cast<double>(p.preset.desired_instances)});
      continue;
    }
    std::map<std::string, double> by_state = {{"ready", 0}, {"building", 0}, {"failed", 0}};
    for (const auto& w : *pool) {
      if (w.workspace.prebuild_preset_id != p.preset.id) continue;
      auto s = w.latest.job.status();
      bool failed = w.agents_failed || s == JobStatus::failed || s == JobStatus::canceled;
      by_state[failed ? "failed" : w.agents_ready ? "ready" : "building"] += 1;
    }
    for (const auto& [state, n] : by_state) out.push_back({{tmpl, p.preset.name, state}, n});
  }
  return out;
}

// /proc/self/stat fields (after the command name in parentheses): utime, stime, starttime.
std::vector<std::string> proc_stat_fields() {
  std::ifstream in("/proc/self/stat");
  std::string line;
  std::getline(in, line);
  auto close = line.rfind(')');
  std::istringstream rest(close == std::string::npos ? "" : line.substr(close + 2));
  std::vector<std::string> fields;
  for (std::string f; rest >> f;) fields.push_back(f);
  return fields;  // fields[0] is the state (field 3 of the man page)
}

double field(const std::vector<std::string>& f, std::size_t man_index) {
  std::size_t i = man_index - 3;
  return i < f.size() ? std::stod(f[i]) : 0;
}

double boot_time() {
  std::ifstream in("/proc/stat");
  for (std::string key; in >> key;) {
    if (key == "btime") {
      double t = 0;
      in >> t;
      return t;
    }
    std::string skip;
    std::getline(in, skip);
  }
  return 0;
}

}  // namespace

void record_request(const Request& req, int status, std::chrono::steady_clock::duration took) {
  static auto& requests = metrics::registry().counter(
      "berth_http_requests_total", "HTTP requests by method, route and status code.",
      {"method", "route", "code"});
  static auto& latency = metrics::registry().histogram(
      "berth_http_request_duration_seconds",
      "Time to each HTTP answer's head (a stream's first byte), by route.", {"route"},
      metrics::latency_buckets());
  // Only known methods and route patterns become labels: a client cannot mint series.
  static constexpr std::string_view kMethods[] = {"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"};
  std::string method = "other";
  for (auto m : kMethods)
    if (req.method == m) method = std::string(m);
  std::string route = req.route.empty() ? "unmatched" : req.route;
  requests.labels({method, route, std::to_string(status)}).inc();
  latency.labels({route}).observe(std::chrono::duration<double>(took).count());
}

std::vector<metrics::CollectorHandle> add_metric_collectors(App& app) {
  auto& r = metrics::registry();
  store::Store& store = app.store;
  std::vector<metrics::CollectorHandle> handles;
  handles.push_back(
      r.add_collector("berth_workspaces",
                      "Workspaces by status (from the database: every replica reports the "
                      "same count).",
                      Type::gauge, {"status"}, [&store] { return workspaces_by_status(store); }));
  handles.push_back(r.add_collector("berth_mcp_sessions",
                                    "Open MCP sessions (from the database, all replicas).",
                                    Type::gauge, {}, [&store] {
                                      auto n = store.count_mcp_sessions();
                                      if (!n) throw std::runtime_error(n.error().message);
                                      return std::vector<Sample>{{{}, static_cast<double>(*n)}};
                                    }));
  handles.push_back(r.add_collector(
      "berth_prebuilds_desired", "Prebuilt workspaces each preset asks for.", Type::gauge,
      {"template", "preset"}, [&store] { return prebuild_pools(store, true); }));
  handles.push_back(
      r.add_collector("berth_prebuilds",
                      "Unclaimed prebuilt workspaces by preset and state (ready, building, "
                      "failed).",
                      Type::gauge, {"template", "preset", "state"},
                      [&store] { return prebuild_pools(store, false); }));
  static const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  static const double page = static_cast<double>(::sysconf(_SC_PAGESIZE));
  handles.push_back(
      r.add_collector("process_cpu_seconds_total", "User and system CPU time spent, in seconds.",
                      Type::counter, {}, [] {
                        auto f = proc_stat_fields();
                        return std::vector<Sample>{{{}, (field(f, 14) + field(f, 15)) / ticks}};
                      }));
  handles.push_back(r.add_collector("process_resident_memory_bytes",
                                    "Resident memory size in bytes.", Type::gauge, {}, [] {
                                      auto f = proc_stat_fields();
                                      return std::vector<Sample>{{{}, field(f, 24) * page}};
                                    }));
  handles.push_back(r.add_collector(
      "process_start_time_seconds", "Start time of the process since the Unix epoch, in seconds.",
      Type::gauge, {}, [] {
        auto f = proc_stat_fields();
        return std::vector<Sample>{{{}, boot_time() + field(f, 22) / ticks}};
      }));
  handles.push_back(
      r.add_collector("process_open_fds", "Open file descriptors.", Type::gauge, {}, [] {
        std::error_code ec;
        double n = 0;
        for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec);
             !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
          ++n;
        return std::vector<Sample>{{{}, n}};
      }));
  return handles;
}

std::span<const Route> metrics_routes() { return kRoutes; }

}  // namespace berth::http
