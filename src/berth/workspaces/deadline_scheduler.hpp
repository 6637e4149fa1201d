#pragma once
// DeadlineScheduler: stops running workspaces whose deadline (time to live) has passed. It
// sleeps until the earliest deadline in the store, or until a start build succeeds (which may
// set an earlier one), then makes stop builds for what expired in one store transaction.
// Stopping never deletes anything; activity that moved a deadline first wins. Safe to run on
// several servers at once: a workspace already stopping is skipped in that transaction.

#include <chrono>
#include <memory>

#include <boost/asio/any_io_executor.hpp>

#include "berth/core/clock.hpp"
#include "berth/events/bus.hpp"
#include "berth/store/store.hpp"

namespace berth::workspaces {

struct DeadlineSchedulerOptions {
  // Re-reads the store at least this often, in case an event was missed.
  std::chrono::milliseconds fallback{std::chrono::seconds(30)};
};

class DeadlineScheduler {
 public:
  DeadlineScheduler(boost::asio::any_io_executor executor, store::Store& store,
                    events::EventBus& bus, DeadlineSchedulerOptions options = {});
  ~DeadlineScheduler();
  DeadlineScheduler(const DeadlineScheduler&) = delete;
  DeadlineScheduler& operator=(const DeadlineScheduler&) = delete;

  void start();
  void stop();

  // One pass: stops what expired at `now` and publishes the changes. Returns how many
  // workspaces it stopped. (The loop calls this; tests may too.)
  static int stop_expired(store::Store& store, events::EventBus& bus, UnixMillis now);

  struct State;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace berth::workspaces
