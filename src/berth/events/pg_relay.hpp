#pragma once
// Events across replicas on PostgreSQL: every topic published in this process is sent with
// NOTIFY on the channel `berth_events`, and every notification from another process is
// delivered to this process's subscribers. Notifications are hints only ("<sender> <seq>
// <topic>"); waiters re-read the store, and their fallback timers stay. When the listening
// connection drops, every local subscriber is woken (events may have been lost) and the relay
// reconnects with backoff; nothing depends on a notification arriving.

#include <memory>
#include <string>

#include <boost/asio/any_io_executor.hpp>

#include "berth/core/result.hpp"
#include "berth/events/bus.hpp"

namespace berth::events {

class PgRelay {
 public:
  // Connects twice to `database_url` (one connection listens, one notifies) and starts
  // forwarding `bus`'s events. The bus must outlive the relay.
  static Result<std::unique_ptr<PgRelay>> start(boost::asio::any_io_executor executor,
                                                const std::string& database_url, EventBus& bus);
  ~PgRelay();
  PgRelay(const PgRelay&) = delete;
  PgRelay& operator=(const PgRelay&) = delete;

  struct State;

 private:
  explicit PgRelay(std::shared_ptr<State> state) : state_(std::move(state)) {}
  std::shared_ptr<State> state_;
};

}  // namespace berth::events
