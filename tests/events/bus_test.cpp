#include "berth/events/bus.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <thread>

namespace berth::events {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

TEST(EventBus, PublishWakesAWaiterBeforeTheFallback) {
  asio::io_context io;
  EventBus bus;
  bool woke = false;
  auto started = std::chrono::steady_clock::now();
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        auto sub = bus.subscribe(io.get_executor(), "workspace.x");
        woke = co_await sub->wait(10s);
      },
      asio::detached);
  asio::post(io, [&] { bus.publish("workspace.x"); });
  io.run();
  EXPECT_TRUE(woke);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
  EXPECT_EQ(bus.subscriber_count_for_testing(), 0u);
}

TEST(EventBus, FallbackTimerReturnsFalse) {
  asio::io_context io;
  EventBus bus;
  bool woke = true;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        auto sub = bus.subscribe(io.get_executor(), "a");
        bus.publish("b");  // another topic
        woke = co_await sub->wait(20ms);
      },
      asio::detached);
  io.run();
  EXPECT_FALSE(woke);
}

TEST(EventBus, EventBeforeWaitIsNotLost) {
  asio::io_context io;
  EventBus bus;
  bool woke = false;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        auto sub = bus.subscribe(io.get_executor(), "t");
        bus.publish("t");
        asio::steady_timer t(io, 5ms);
        co_await t.async_wait(asio::use_awaitable);  // the event lands while we are busy
        woke = co_await sub->wait(10s);
      },
      asio::detached);
  io.run();
  EXPECT_TRUE(woke);
}

TEST(EventBus, PublishFromAnotherThread) {
  asio::io_context io;
  EventBus bus;
  int wakes = 0;
  std::thread publisher;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        auto sub = bus.subscribe(io.get_executor(), "t");
        publisher = std::thread([&] { bus.publish("t"); });
        while (wakes == 0) {
          if (co_await sub->wait(10s)) ++wakes;
        }
      },
      asio::detached);
  io.run();
  publisher.join();
  EXPECT_EQ(wakes, 1);
}

TEST(EventBus, OneMailboxWatchesSeveralTopics) {
  asio::io_context io;
  EventBus bus;
  bool second = false, after_remove = true;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        auto sub = bus.subscribe(io.get_executor(), "a");
        sub->add_topic("b");
        bus.publish("b");
        second = co_await sub->wait(10s);
        sub->remove_topic("b");
        bus.publish("b");
        after_remove = co_await sub->wait(20ms);
      },
      asio::detached);
  io.run();
  EXPECT_TRUE(second);
  EXPECT_FALSE(after_remove);
  EXPECT_EQ(bus.subscriber_count_for_testing(), 0u);
}

}  // namespace
}  // namespace berth::events
