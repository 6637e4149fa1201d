#include "berth/core/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <type_traits>

#include <fmt/format.h>

namespace berth::metrics {

namespace {

std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15)
    return fmt::format("{}", static_cast<long long>(v));
  return fmt::format("{}", v);
}

std::string escape_help(std::string_view help) {
  std::string out;
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

// {a="x",b="y"} with an optional extra label (le for buckets); "" when there are none.
std::string label_text(const std::vector<std::string>& names, const LabelValues& values,
                       std::string_view extra_name = {}, std::string_view extra_value = {}) {
  std::string out;
  for (std::size_t i = 0; i < names.size() && i < values.size(); ++i) {
    out +=
        fmt::format("{}{}=\"{}\"", out.empty() ? "" : ",", names[i], escape_label_value(values[i]));
  }
  if (!extra_name.empty())
    out += fmt::format("{}{}=\"{}\"", out.empty() ? "" : ",", extra_name, extra_value);
  return out.empty() ? out : "{" + out + "}";
}

const char* type_name(Type t) {
  switch (t) {
    case Type::counter:
      return "counter";
    case Type::gauge:
      return "gauge";
    case Type::histogram:
      return "histogram";
  }
  return "untyped";
}

void header(std::string& out, std::string_view name, std::string_view help, Type type) {
  out +=
      fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, escape_help(help), name, type_name(type));
}

}  // namespace

std::string escape_label_value(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

Histogram::Histogram(const std::vector<double>& bounds)
    : bounds_(bounds), buckets_(new std::atomic<std::uint64_t>[bounds.size() + 1]) {
  for (std::size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0);
}

void Histogram::observe(double v) {
  auto it = std::lower_bound(bounds_.begin(), bounds_.end(), v);
  buckets_[static_cast<std::size_t>(it - bounds_.begin())].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot s;
  std::uint64_t running = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    s.cumulative.push_back(running);
  }
  s.sum = sum_.load(std::memory_order_relaxed);
  // The count is the +Inf bucket, so a scrape racing an observe never shows count < bucket.
  s.count = running;
  return s;
}

const std::vector<double>& latency_buckets() {
  static const std::vector<double> b = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                        1,     2.5,    5,     10,   30,    60,   120, 300,  600};
  return b;
}

const std::vector<double>& short_latency_buckets() {
  static const std::vector<double> b = {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                        0.01,    0.025,  0.05,    0.1,    0.25,  0.5,    1};
  return b;
}

template <class T>
Family<T>::Family(std::string name, std::string help, std::vector<std::string> label_names,
                  std::vector<double> bounds)
    : name_(std::move(name)),
      help_(std::move(help)),
      label_names_(std::move(label_names)),
      bounds_(std::move(bounds)) {}

template <class T>
T& Family<T>::labels(const LabelValues& values) {
  std::lock_guard lock(mutex_);
  auto it = children_.find(values);
  if (it != children_.end()) return *it->second;
  LabelValues key = values;
  key.resize(label_names_.size());  // a caller passing too few or too many still gets a child
  it = children_.find(key);
  if (it != children_.end()) return *it->second;
  std::unique_ptr<T> child;
  if constexpr (std::is_same_v<T, Histogram>) {
    child = std::make_unique<Histogram>(bounds_);
  } else {
    child = std::make_unique<T>();
  }
  return *children_.emplace(std::move(key), std::move(child)).first->second;
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

CollectorHandle& CollectorHandle::operator=(CollectorHandle&& o) noexcept {
  if (this != &o) {
    if (registry_) registry_->remove_collector(id_);
    registry_ = o.registry_;
    id_ = o.id_;
    o.registry_ = nullptr;
  }
  return *this;
}

CollectorHandle::~CollectorHandle() {
  if (registry_) registry_->remove_collector(id_);
}

template <class T>
Family<T>& Registry::find_or_add(Families<T>& families, std::string_view name,
                                 std::string_view help, std::vector<std::string> label_names,
                                 std::vector<double> bounds) {
  auto it = families.find(name);
  if (it != families.end()) return *it->second;
  std::unique_ptr<Family<T>> f(new Family<T>(std::string(name), std::string(help),
                                             std::move(label_names), std::move(bounds)));
  return *families.emplace(std::string(name), std::move(f)).first->second;
}

Family<Counter>& Registry::counter(std::string_view name, std::string_view help,
                                   std::vector<std::string> label_names) {
  std::lock_guard lock(mutex_);
  return find_or_add(counters_, name, help, std::move(label_names), {});
}

Family<Gauge>& Registry::gauge(std::string_view name, std::string_view help,
                               std::vector<std::string> label_names) {
  std::lock_guard lock(mutex_);
  return find_or_add(gauges_, name, help, std::move(label_names), {});
}

Family<Histogram>& Registry::histogram(std::string_view name, std::string_view help,
                                       std::vector<std::string> label_names,
                                       const std::vector<double>& bounds) {
  std::lock_guard lock(mutex_);
  return find_or_add(histograms_, name, help, std::move(label_names), bounds);
}

CollectorHandle Registry::add_collector(std::string name, std::string help, Type type,
                                        std::vector<std::string> label_names,
                                        std::function<std::vector<Sample>()> collect) {
  std::lock_guard lock(mutex_);
  std::uint64_t id = next_collector_++;
  collectors_.emplace(id, Collector{std::move(name), std::move(help), type, std::move(label_names),
                                    std::move(collect)});
  return CollectorHandle(this, id);
}

void Registry::remove_collector(std::uint64_t id) {
  std::lock_guard lock(mutex_);
  collectors_.erase(id);
}

template <class T>
void Registry::render_families(const Families<T>& families,
                               std::map<std::string, std::string>& blocks) {
  constexpr Type kType = std::is_same_v<T, Counter> ? Type::counter
                         : std::is_same_v<T, Gauge> ? Type::gauge
                                                    : Type::histogram;
  for (const auto& [name, f] : families) {
    std::string out;
    header(out, name, f->help_, kType);
    std::lock_guard family_lock(f->mutex_);
    for (const auto& [values, child] : f->children_) {
      const std::string labels = label_text(f->label_names_, values);
      if constexpr (kType != Type::histogram) {
        out += fmt::format("{}{} {}\n", name, labels, format_value(child->value()));
      } else {
        auto s = child->snapshot();
        for (std::size_t i = 0; i < s.cumulative.size(); ++i) {
          std::string le = i < f->bounds_.size() ? format_value(f->bounds_[i]) : "+Inf";
          out += fmt::format("{}_bucket{} {}\n", name,
                             label_text(f->label_names_, values, "le", le), s.cumulative[i]);
        }
        out += fmt::format("{}_sum{} {}\n", name, labels, format_value(s.sum));
        out += fmt::format("{}_count{} {}\n", name, labels, s.count);
      }
    }
    blocks[name] = std::move(out);
  }
}

std::string Registry::render() const {
  // Each family's text by name, so the output is sorted and stable.
  std::map<std::string, std::string> blocks;
  std::vector<Collector> collectors;
  {
    std::lock_guard lock(mutex_);
    render_families(counters_, blocks);
    render_families(gauges_, blocks);
    render_families(histograms_, blocks);
    for (const auto& [id, c] : collectors_) collectors.push_back(c);
  }
  // Collectors run outside the lock: they may read the database.
  for (const auto& c : collectors) {
    std::string out;
    header(out, c.name, c.help, c.type);
    try {
      for (const auto& s : c.collect())
        out += fmt::format("{}{} {}\n", c.name, label_text(c.label_names, s.labels),
                           format_value(s.value));
    } catch (const std::exception&) {
      // Skipped this scrape; the family stays declared.
    }
    blocks[c.name] += out;
  }
  std::string text;
  for (const auto& [name, block] : blocks) text += block;
  return text;
}

Registry& registry() {
  static Registry* r = new Registry();  // never destroyed: recorded into until exit
  return *r;
}

}  // namespace berth::metrics
