#pragma once
// In-process publish/subscribe for "something changed" hints. Events carry only a topic; the
// store holds the truth. A waiter subscribes, then reads the store, then waits for "an event
// or the fallback timer", then reads again: a lost event costs a fallback delay, never a
// wrong answer. Waiting is a coroutine on an Asio timer, never a blocked thread.

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

namespace berth::events {

// Topic names, kept in one place so publishers and subscribers agree.
namespace topic {
inline constexpr std::string_view kJobQueued = "job.queued";
// A workspace's deadline may have become earlier than the scheduler's next wake-up (a start
// build succeeded).
inline constexpr std::string_view kDeadlines = "workspace.deadlines";
// The prebuild pool may need work: a template was pushed, a prebuild claimed, a build ended.
inline constexpr std::string_view kPrebuilds = "prebuilds";
std::string workspace(std::string_view workspace_id);        // builds, jobs, agents of a workspace
std::string workspace_owner(std::string_view workspace_id);  // a prebuild was claimed
std::string job_logs(std::string_view job_id);               // new build log lines
std::string agent(std::string_view agent_id);                // connection, lifecycle, logs
std::string chat(std::string_view chat_id);                  // the chat's binding changed
std::string call(std::string_view call_id);                  // a tool call was cancelled
}  // namespace topic

class EventBus;

// One subscriber's mailbox. Owned by the waiting coroutine; unsubscribes when destroyed.
// wait() must be called from the executor the subscription was made for.
class Subscription {
 public:
  ~Subscription();
  Subscription(const Subscription&) = delete;
  Subscription& operator=(const Subscription&) = delete;

  // Suspends until an event arrives on this subscription's topic or `fallback` passes.
  // Returns true if at least one event arrived since the previous wait.
  boost::asio::awaitable<bool> wait(std::chrono::milliseconds fallback);
  // True if an event arrived since the previous wait (without waiting).
  bool pending();
  // Also receive events of `topic` in this mailbox (a waiter may watch a workspace, its build
  // logs and its own cancellation at once).
  void add_topic(std::string topic);
  // Drops `topic` from this mailbox (e.g. the logs of a build that finished).
  void remove_topic(std::string_view topic);

  struct State;

 private:
  friend class EventBus;
  Subscription(EventBus* bus, std::string topic, std::shared_ptr<State> state);
  EventBus* bus_;
  std::vector<std::string> topics_;
  std::shared_ptr<State> state_;
};

// The bus. Thread-safe: publish() may be called from any thread; each subscriber is woken on
// its own executor. Owned by the server; outlives every Subscription.
class EventBus {
 public:
  EventBus() = default;
  EventBus(const EventBus&) = delete;
  EventBus& operator=(const EventBus&) = delete;

  std::unique_ptr<Subscription> subscribe(const boost::asio::any_io_executor& executor,
                                          std::string topic);
  // Wakes this process's subscribers of `topic` and hands the event to the forwarder (other
  // replicas), if one is set.
  void publish(std::string_view topic);
  // Wakes this process's subscribers only: an event that came from another replica.
  void deliver(std::string_view topic);
  // Wakes every subscriber: events may have been lost (a relay reconnected); each waiter
  // re-reads the store.
  void wake_all();
  // Called with every published topic, from the publishing thread (events/pg_relay.hpp).
  void set_forwarder(std::function<void(std::string_view)> forwarder);
  std::size_t subscriber_count_for_testing();

 private:
  friend class Subscription;
  void unsubscribe(const std::string& topic, const Subscription::State* state);
  static void wake(const std::vector<std::shared_ptr<Subscription::State>>& targets);

  std::mutex mu_;
  std::multimap<std::string, std::shared_ptr<Subscription::State>, std::less<>> subs_;
  std::function<void(std::string_view)> forwarder_;  // guarded by mu_
};

}  // namespace berth::events
