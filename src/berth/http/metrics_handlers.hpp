#pragma once
// What /metrics reports besides the counters the layers record as they work: every HTTP
// request (by route and status), and gauges read when scraped: workspaces by status, MCP
// sessions and prebuild pools from the database (the same on every replica), and this
// process's memory, descriptors and CPU.

#include <chrono>
#include <vector>

#include "berth/core/metrics.hpp"
#include "berth/http/message.hpp"

namespace berth::http {

struct App;

void record_request(const Request& req, int status, std::chrono::steady_clock::duration took);

// Registers the scrape-time collectors; they stop when the handles are destroyed (before
// `app` is).
std::vector<metrics::CollectorHandle> add_metric_collectors(App& app);

}  // namespace berth::http
