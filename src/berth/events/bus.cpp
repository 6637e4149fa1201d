#include "berth/events/bus.hpp"

#include <algorithm>

#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace berth::events {

namespace asio = boost::asio;

std::string topic::workspace(std::string_view id) { return "workspace." + std::string(id); }
std::string topic::workspace_owner(std::string_view id) { return "owner." + std::string(id); }
std::string topic::job_logs(std::string_view id) { return "job_logs." + std::string(id); }
std::string topic::agent(std::string_view id) { return "agent." + std::string(id); }
std::string topic::chat(std::string_view id) { return "chat." + std::string(id); }
std::string topic::call(std::string_view id) { return "call." + std::string(id); }

// Touched only on `executor` (publish posts there), so no lock is needed inside.
struct Subscription::State {
  explicit State(const asio::any_io_executor& ex) : executor(ex), timer(ex) {}
  asio::any_io_executor executor;
  asio::steady_timer timer;
  std::uint64_t published = 0;
  std::uint64_t seen = 0;
  bool waiting = false;
};

Subscription::Subscription(EventBus* bus, std::string topic, std::shared_ptr<State> state)
    : bus_(bus), topics_{std::move(topic)}, state_(std::move(state)) {}

Subscription::~Subscription() {
  for (const auto& t : topics_) bus_->unsubscribe(t, state_.get());
}

void Subscription::add_topic(std::string topic) {
  {
    std::lock_guard lock(bus_->mu_);
    bus_->subs_.emplace(topic, state_);
  }
  topics_.push_back(std::move(topic));
}

void Subscription::remove_topic(std::string_view topic) {
  auto it = std::find(topics_.begin(), topics_.end(), topic);
  if (it == topics_.end()) return;
  bus_->unsubscribe(*it, state_.get());
  topics_.erase(it);
}

bool Subscription::pending() { return state_->published != state_->seen; }

asio::awaitable<bool> Subscription::wait(std::chrono::milliseconds fallback) {
  if (!pending()) {
    state_->timer.expires_after(fallback);
    state_->waiting = true;
    boost::system::error_code ec;
    co_await state_->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    state_->waiting = false;
  }
  bool got = pending();
  state_->seen = state_->published;
  co_return got;
}

std::unique_ptr<Subscription> EventBus::subscribe(const asio::any_io_executor& executor,
                                                  std::string topic) {
  auto state = std::make_shared<Subscription::State>(executor);
  {
    std::lock_guard lock(mu_);
    subs_.emplace(topic, state);
  }
  return std::unique_ptr<Subscription>(new Subscription(this, std::move(topic), std::move(state)));
}

void EventBus::publish(std::string_view topic) {
  deliver(topic);
  std::function<void(std::string_view)> forward;
  {
    std::lock_guard lock(mu_);
    forward = forwarder_;
  }
  if (forward) forward(topic);
}

void EventBus::deliver(std::string_view topic) {
  std::vector<std::shared_ptr<Subscription::State>> targets;
  {
    std::lock_guard lock(mu_);
    auto [begin, end] = subs_.equal_range(topic);
    for (auto it = begin; it != end; ++it) targets.push_back(it->second);
  }
  wake(targets);
}

void EventBus::wake_all() {
  std::vector<std::shared_ptr<Subscription::State>> targets;
  {
    std::lock_guard lock(mu_);
    for (auto& [topic, state] : subs_) targets.push_back(state);
  }
  wake(targets);
}

void EventBus::set_forwarder(std::function<void(std::string_view)> forwarder) {
  std::lock_guard lock(mu_);
  forwarder_ = std::move(forwarder);
}

void EventBus::wake(const std::vector<std::shared_ptr<Subscription::State>>& targets) {
  for (const auto& state : targets) {
    // The state is kept alive by the posted handler even if the subscriber leaves meanwhile.
    asio::post(state->executor, [state] {
      ++state->published;
      if (state->waiting) state->timer.cancel();
    });
  }
}

void EventBus::unsubscribe(const std::string& topic, const Subscription::State* state) {
  std::lock_guard lock(mu_);
  auto [begin, end] = subs_.equal_range(topic);
  for (auto it = begin; it != end; ++it) {
    if (it->second.get() == state) {
      subs_.erase(it);
      return;
    }
  }
}

std::size_t EventBus::subscriber_count_for_testing() {
  std::lock_guard lock(mu_);
  return subs_.size();
}

}  // namespace berth::events
