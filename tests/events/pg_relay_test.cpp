// Events across replicas: two buses (two replicas) relayed through one PostgreSQL database
// (scripts/test-postgres.sh). A topic published on one wakes the other's waiter; a dropped
// listening connection wakes every waiter and the relay comes back.
#include "berth/events/pg_relay.hpp"

#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "tests/support/pg_test_database.hpp"

namespace berth::events {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Waits on `bus` for `topic` (up to `fallback`), after `act` runs on the io thread. Returns
// how long the wait took, or nullopt when only the fallback ended it.
template <class Act>
std::optional<Clock::duration> wake_time(asio::io_context& io, EventBus& bus, std::string topic,
                                         Act act, std::chrono::milliseconds fallback = 20s) {
  std::optional<Clock::duration> took;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        auto sub = bus.subscribe(io.get_executor(), topic);
        // Let the relays settle (their first wake_all) before the event under test.
        asio::steady_timer settle(io, 200ms);
        co_await settle.async_wait(asio::use_awaitable);
        (void)sub->pending();
        auto start = Clock::now();
        act();
        if (co_await sub->wait(fallback)) took = Clock::now() - start;
        io.stop();
      },
      asio::detached);
  io.restart();
  io.run();
  return took;
}

TEST(PgRelay, APublishOnOneReplicaWakesTheOther) {
  const std::string url = testing::create_test_database();
  ASSERT_FALSE(url.empty());
  asio::io_context io;
  EventBus a, b;
  auto relay_a = PgRelay::start(io.get_executor(), url, a);
  auto relay_b = PgRelay::start(io.get_executor(), url, b);
  ASSERT_TRUE(relay_a && relay_b);
  auto took = wake_time(io, b, "workspace.w1", [&] { a.publish("workspace.w1"); });
  ASSERT_TRUE(took) << "only the fallback timer woke the waiter";
  EXPECT_LT(*took, 5s);
  // Another topic does not wake it.
  took = wake_time(
      io, b, "workspace.w2", [&] { a.publish("workspace.other"); }, 1s);
  EXPECT_FALSE(took);
}

TEST(PgRelay, ALostListenerWakesEveryWaiterAndReconnects) {
  const std::string url = testing::create_test_database();
  ASSERT_FALSE(url.empty());
  asio::io_context io;
  EventBus a, b;
  auto relay_a = PgRelay::start(io.get_executor(), url, a);
  auto relay_b = PgRelay::start(io.get_executor(), url, b);
  ASSERT_TRUE(relay_a && relay_b);
  // An administrator (or a failover) ends every listening session of the database (this
  // test's only: other tests run in parallel on the same cluster).
  auto took = wake_time(io, b, "workspace.any", [&] {
    PGconn* c = PQconnectdb(url.c_str());
    PGresult* r = PQexec(c,
                         "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query "
                         "LIKE 'LISTEN%' AND datname = current_database() AND pid <> "
                         "pg_backend_pid()");
    EXPECT_EQ(PQresultStatus(r), PGRES_TUPLES_OK) << PQerrorMessage(c);
    PQclear(r);
    PQfinish(c);
  });
  ASSERT_TRUE(took) << "a lost listener must wake its waiters";
  // After the reconnect, events flow again.
  std::optional<Clock::duration> later;
  for (int i = 0; i < 30 && !later; ++i) {
    later = wake_time(
        io, b, "workspace.w3", [&] { a.publish("workspace.w3"); }, 1s);
  }
  EXPECT_TRUE(later);
}

}  // namespace
}  // namespace berth::events
