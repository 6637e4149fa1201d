#include "berth/core/metrics.hpp"

#include <gtest/gtest.h>

#include <thread>

namespace berth::metrics {
namespace {

TEST(Metrics, CountersGaugesAndHistogramsRenderAsPrometheusText) {
  Registry r;
  auto& calls = r.counter("t_calls_total", "Calls.", {"tool", "outcome"});
  calls.labels({"execute", "ok"}).inc();
  calls.labels({"execute", "ok"}).inc(2);
  calls.labels({"read_file", "error"}).inc();
  r.gauge("t_up", "Up.").get().set(1);
  auto& h = r.histogram("t_seconds", "Latency.", {"tool"}, {0.1, 1});
  h.labels({"execute"}).observe(0.05);
  h.labels({"execute"}).observe(0.5);
  h.labels({"execute"}).observe(7);
  EXPECT_EQ(r.render(),
            "# HELP t_calls_total Calls.\n"
            "# TYPE t_calls_total counter\n"
            "t_calls_total{tool=\"execute\",outcome=\"ok\"} 3\n"
            "t_calls_total{tool=\"read_file\",outcome=\"error\"} 1\n"
            "# HELP t_seconds Latency.\n"
            "# TYPE t_seconds histogram\n"
            "t_seconds_bucket{tool=\"execute\",le=\"0.1\"} 1\n"
            "t_seconds_bucket{tool=\"execute\",le=\"1\"} 2\n"
            "t_seconds_bucket{tool=\"execute\",le=\"+Inf\"} 3\n"
            "t_seconds_sum{tool=\"execute\"} 7.55\n"
            "t_seconds_count{tool=\"execute\"} 3\n"
            "# HELP t_up Up.\n"
            "# TYPE t_up gauge\n"
            "t_up 1\n");
}

TEST(Metrics, LabelValuesAndHelpAreEscaped) {
  Registry r;
  r.counter("t_total", "Line one\nback\\slash", {"name"}).labels({"a\"b\\c\nd"}).inc();
  EXPECT_EQ(r.render(),
            "# HELP t_total Line one\\nback\\\\slash\n"
            "# TYPE t_total counter\n"
            "t_total{name=\"a\\\"b\\\\c\\nd\"} 1\n");
}

TEST(Metrics, CollectorsRunAtScrapeAndGoAwayWithTheirHandle) {
  Registry r;
  int scrapes = 0;
  {
    auto handle = r.add_collector("t_workspaces", "Workspaces.", Type::gauge, {"status"}, [&] {
      ++scrapes;
      return std::vector<Sample>{{{"running"}, 2}, {{"stopped"}, 5}};
    });
    EXPECT_EQ(r.render(),
              "# HELP t_workspaces Workspaces.\n# TYPE t_workspaces gauge\n"
              "t_workspaces{status=\"running\"} 2\nt_workspaces{status=\"stopped\"} 5\n");
    EXPECT_EQ(scrapes, 1);
  }
  EXPECT_EQ(r.render(), "");
  // A collector that throws leaves its family declared and the rest of the scrape intact.
  auto bad = r.add_collector("t_bad", "Bad.", Type::gauge, {},
                             []() -> std::vector<Sample> { throw std::runtime_error("db gone"); });
  r.gauge("t_ok", "Ok.").get().set(3);
  EXPECT_EQ(r.render(),
            "# HELP t_bad Bad.\n# TYPE t_bad gauge\n# HELP t_ok Ok.\n# TYPE t_ok gauge\nt_ok 3\n");
}

TEST(Metrics, ThreadsRecordWithoutLosingCounts) {
  Registry r;
  auto& c = r.counter("t_total", "T.", {"k"});
  auto& h = r.histogram("t_seconds", "T.", {}, latency_buckets());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10000; ++i) {
        c.labels({std::to_string(i % 3)}).inc();
        h.get().observe(0.001 * t);
      }
    });
  }
  for (auto& t : threads) t.join();
  double total = 0;
  for (int k = 0; k < 3; ++k) total += c.labels({std::to_string(k)}).value();
  EXPECT_EQ(total, 40000);
  EXPECT_EQ(h.get().snapshot().count, 40000u);
}

TEST(Metrics, ANameRegisteredTwiceIsOneFamily) {
  Registry r;
  r.counter("t_total", "First.", {"a"}).labels({"x"}).inc();
  r.counter("t_total", "Second.", {"a"}).labels({"x"}).inc();
  EXPECT_EQ(r.counter("t_total", "", {}).labels({"x"}).value(), 2);
}

}  // namespace
}  // namespace berth::metrics
