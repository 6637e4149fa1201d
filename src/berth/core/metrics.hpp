#pragma once
// Metrics in the Prometheus text format (version 0.0.4): counters, gauges and histograms in
// labelled families, one process-wide registry, and collectors that compute samples when
// scraped (counts read from the database). Recording is a lock-free atomic add on a child the
// caller may keep; only finding a child by its label values takes the family's mutex.
//
// Naming follows Prometheus practice: berth_ prefix, base units (seconds, bytes), counters
// end in _total.

#include <atomic>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace berth::metrics {

using LabelValues = std::vector<std::string>;

class Counter {
 public:
  void inc(double by = 1) { value_.fetch_add(by, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Gauge {
 public:
  void set(double v) { value_.store(v, std::memory_order_relaxed); }
  void add(double by) { value_.fetch_add(by, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Histogram {
 public:
  explicit Histogram(const std::vector<double>& bounds);
  void observe(double v);
  // Cumulative counts per upper bound (the last is +Inf), the sum and the count.
  struct Snapshot {
    std::vector<std::uint64_t> cumulative;
    double sum = 0;
    std::uint64_t count = 0;
  };
  Snapshot snapshot() const;

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;  // bounds_.size() + 1 (+Inf)
  std::atomic<double> sum_{0};
  std::atomic<std::uint64_t> count_{0};
};

// Seconds: from 1 ms to 10 min, for calls, builds and waits.
const std::vector<double>& latency_buckets();
// Seconds: from 50 µs to 1 s, for store commits and other short steps.
const std::vector<double>& short_latency_buckets();

enum class Type { counter, gauge, histogram };

// A family: one metric name with its help text and label names; children by label values.
template <class T>
class Family {
 public:
  // The child for these label values (in the order of the family's label names), made on
  // first use. The reference stays valid for the life of the process.
  T& labels(const LabelValues& values);
  T& labels(std::initializer_list<std::string_view> values) {
    return labels(LabelValues(values.begin(), values.end()));
  }
  T& get() { return labels(LabelValues{}); }

 private:
  friend class Registry;
  Family(std::string name, std::string help, std::vector<std::string> label_names,
         std::vector<double> bounds = {});
  std::string name_, help_;
  std::vector<std::string> label_names_;
  std::vector<double> bounds_;  // histograms
  mutable std::mutex mutex_;
  std::map<LabelValues, std::unique_ptr<T>> children_;
};

// What a collector reports at scrape time: one sample per label values.
struct Sample {
  LabelValues labels;
  double value = 0;
};

class Registry;

// Removes its collector when destroyed (a collector must not outlive what it reads).
class CollectorHandle {
 public:
  CollectorHandle() = default;
  CollectorHandle(Registry* registry, std::uint64_t id) : registry_(registry), id_(id) {}
  CollectorHandle(CollectorHandle&& o) noexcept : registry_(o.registry_), id_(o.id_) {
    o.registry_ = nullptr;
  }
  CollectorHandle& operator=(CollectorHandle&& o) noexcept;
  CollectorHandle(const CollectorHandle&) = delete;
  CollectorHandle& operator=(const CollectorHandle&) = delete;
  ~CollectorHandle();

 private:
  Registry* registry_ = nullptr;
  std::uint64_t id_ = 0;
};

class Registry {
 public:
  // A name registered twice returns the first family (its help and labels win).
  Family<Counter>& counter(std::string_view name, std::string_view help,
                           std::vector<std::string> label_names = {});
  Family<Gauge>& gauge(std::string_view name, std::string_view help,
                       std::vector<std::string> label_names = {});
  Family<Histogram>& histogram(std::string_view name, std::string_view help,
                               std::vector<std::string> label_names,
                               const std::vector<double>& bounds);

  // A gauge (or counter) whose samples `collect` computes at each scrape. A collector that
  // throws is skipped for that scrape (its family is still declared, with no samples).
  [[nodiscard]] CollectorHandle add_collector(std::string name, std::string help, Type type,
                                              std::vector<std::string> label_names,
                                              std::function<std::vector<Sample>()> collect);

  // Every family in the text exposition format, sorted by name.
  std::string render() const;

 private:
  friend class CollectorHandle;
  void remove_collector(std::uint64_t id);
  struct Collector {
    std::string name, help;
    Type type;
    std::vector<std::string> label_names;
    std::function<std::vector<Sample>()> collect;
  };
  template <class T>
  using Families = std::map<std::string, std::unique_ptr<Family<T>>, std::less<>>;
  // The family `name` of `families`, made on first use (under mutex_).
  template <class T>
  static Family<T>& find_or_add(Families<T>& families, std::string_view name, std::string_view help,
                                std::vector<std::string> label_names, std::vector<double> bounds);
  // Appends each family's text to `blocks` by name (under mutex_).
  template <class T>
  static void render_families(const Families<T>& families,
                              std::map<std::string, std::string>& blocks);

  mutable std::mutex mutex_;
  Families<Counter> counters_;
  Families<Gauge> gauges_;
  Families<Histogram> histograms_;
  std::map<std::uint64_t, Collector> collectors_;
  std::uint64_t next_collector_ = 1;
};

// The process's registry: what /metrics serves.
Registry& registry();

// "a\"b\\c\n" -> a\"b\\c\n as the exposition format escapes label values.
std::string escape_label_value(std::string_view value);

}  // namespace berth::metrics
