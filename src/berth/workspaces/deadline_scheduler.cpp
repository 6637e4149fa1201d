#include "berth/workspaces/deadline_scheduler.hpp"

#include <algorithm>

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace berth::workspaces {

namespace asio = boost::asio;

namespace {
// Never spin: a deadline in the past that could not be acted on is retried this late.
constexpr auto kMinSleep = std::chrono::milliseconds(10);
}  // namespace

struct DeadlineScheduler::State : std::enable_shared_from_this<State> {
  State(asio::any_io_executor ex, store::Store& s, events::EventBus& b, DeadlineSchedulerOptions o)
      : executor(std::move(ex)), store(s), bus(b), options(o) {}

  asio::awaitable<void> loop() {
    auto self = shared_from_this();
    auto sub = bus.subscribe(executor, std::string(events::topic::kDeadlines));
    while (!stopped) {
      const UnixMillis now = now_ms();
      stop_expired(store, bus, now);
      auto sleep = options.fallback;
      auto next = store.next_workspace_deadline();
      if (!next) {
        spdlog::error("deadline scheduler cannot read deadlines error={}", next.error().message);
      } else if (*next) {
        sleep = std::clamp(std::chrono::milliseconds(**next - now_ms()), kMinSleep, sleep);
      }
      co_await sub->wait(sleep);
    }
  }

  asio::any_io_executor executor;
  store::Store& store;
  events::EventBus& bus;
  DeadlineSchedulerOptions options;
  bool stopped = false;
};

DeadlineScheduler::DeadlineScheduler(asio::any_io_executor executor, store::Store& store,
                                     events::EventBus& bus, DeadlineSchedulerOptions options)
    : state_(std::make_shared<State>(std::move(executor), store, bus, options)) {}

DeadlineScheduler::~DeadlineScheduler() { stop(); }

void DeadlineScheduler::start() {
  asio::co_spawn(state_->executor, state_->loop(), asio::detached);
}

void DeadlineScheduler::stop() {
  state_->stopped = true;
  state_->bus.publish(events::topic::kDeadlines);  // wake the loop so it ends
}

int DeadlineScheduler::stop_expired(store::Store& store, events::EventBus& bus, UnixMillis now) {
  auto stops = store.stop_expired_workspaces(now);
  if (!stops) {
    spdlog::error("expired workspaces not stopped error={}", stops.error().message);
    return 0;
  }
  for (const auto& s : *stops) {
    spdlog::info("workspace deadline passed; stopping workspace_id={} build_id={}",
                 s.build.workspace_id, s.build.id);
    bus.publish(events::topic::workspace(s.build.workspace_id));
  }
  if (!stops->empty()) bus.publish(events::topic::kJobQueued);
  return static_cast<int>(stops->size());
}

}  // namespace berth::workspaces
