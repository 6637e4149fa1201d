#include "berth/events/pg_relay.hpp"

#include <libpq-fe.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <optional>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "berth/core/ids.hpp"

namespace berth::events {

namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;

namespace {

constexpr const char* kChannel = "berth_events";
constexpr auto kReconnectDelay = std::chrono::seconds(1);

PGconn* connect(const std::string& url, std::string& error) {
  PGconn* c = PQconnectdb(url.c_str());
  if (!c || PQstatus(c) != CONNECTION_OK) {
    error = c ? PQerrorMessage(c) : "out of memory";
    while (!error.empty() && error.back() == '\n') error.pop_back();
    PQfinish(c);
    return nullptr;
  }
  PQsetNoticeProcessor(
      c, [](void*, const char*) {}, nullptr);
  return c;
}

bool run(PGconn* c, const char* sql) {
  PGresult* r = PQexec(c, sql);
  bool ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
  PQclear(r);
  return ok;
}

}  // namespace

struct PgRelay::State : std::enable_shared_from_this<PgRelay::State> {
  State(asio::any_io_executor ex, std::string u, EventBus& b)
      : executor(std::move(ex)), url(std::move(u)), bus(b), sender(random_hex(8)) {}
  ~State() {
    if (listener) PQfinish(listener);
    if (notifier) PQfinish(notifier);
  }

  asio::any_io_executor executor;
  std::string url;
  EventBus& bus;
  const std::string sender;  // drops this process's own notifications
  std::atomic<std::uint64_t> seq{0};
  std::atomic<bool> stopped{false};

  std::mutex notify_mu;
  PGconn* notifier = nullptr;                            // guarded by notify_mu
  PGconn* listener = nullptr;                            // used on the executor only
  std::optional<asio::posix::stream_descriptor> socket;  // the listener's, while waiting
  std::optional<asio::steady_timer> pause;

  void notify(std::string_view topic) {
    std::string payload = fmt::format("{} {} {}", sender, ++seq, topic);
    std::lock_guard lock(notify_mu);
    for (int attempt = 0; attempt < 2; ++attempt) {
      if (!notifier) {
        std::string error;
        notifier = connect(url, error);
        if (!notifier) return;  // the other replicas' fallback timers cover it
      }
      const char* params[] = {kChannel, payload.c_str()};
      PGresult* r = PQexecParams(notifier, "SELECT pg_notify($1, $2)", 2, nullptr, params, nullptr,
                                 nullptr, 0);
      bool ok = PQresultStatus(r) == PGRES_TUPLES_OK;
      PQclear(r);
      if (ok) return;
      PQfinish(notifier);  // reconnect once
      notifier = nullptr;
    }
  }

  bool listen() {
    std::string error;
    listener = connect(url, error);
    if (!listener) {
      spdlog::warn("event relay cannot connect error=\"{}\"", error);
      return false;
    }
    if (!run(listener, "LISTEN berth_events")) {
      PQfinish(listener);
      listener = nullptr;
      return false;
    }
    return true;
  }

  awaitable<void> listen_loop() {
    auto self = shared_from_this();
    pause.emplace(executor);
    while (!stopped) {
      if (!listener && !listen()) {
        pause->expires_after(kReconnectDelay);
        boost::system::error_code ec;
        co_await pause->async_wait(asio::redirect_error(use_awaitable, ec));
        continue;
      }
      // A (re)connected listener may have missed events: every waiter looks again.
      bus.wake_all();
      // The descriptor stays libpq's: released (not closed) when the loop leaves it.
      socket.emplace(executor, ::dup(PQsocket(listener)));
      while (!stopped) {
        boost::system::error_code ec;
        co_await socket->async_wait(asio::posix::stream_descriptor::wait_read,
                                    asio::redirect_error(use_awaitable, ec));
        if (stopped) co_return;
        if (ec || !PQconsumeInput(listener) || PQstatus(listener) != CONNECTION_OK) {
          spdlog::warn("event relay lost its connection; reconnecting");
          break;
        }
        while (PGnotify* n = PQnotifies(listener)) {
          std::string_view payload(n->extra);
          auto first = payload.find(' ');
          auto second = payload.find(' ', first + 1);
          if (first != std::string_view::npos && second != std::string_view::npos &&
              payload.substr(0, first) != sender) {
            bus.deliver(payload.substr(second + 1));
          }
          PQfreemem(n);
        }
      }
      socket.reset();
      PQfinish(listener);
      listener = nullptr;
      bus.wake_all();
      pause->expires_after(kReconnectDelay / 10);
      boost::system::error_code ec;
      co_await pause->async_wait(asio::redirect_error(use_awaitable, ec));
    }
  }
};

Result<std::unique_ptr<PgRelay>> PgRelay::start(asio::any_io_executor executor,
                                                const std::string& database_url, EventBus& bus) {
  auto state = std::make_shared<State>(std::move(executor), database_url, bus);
  if (!state->listen()) {
    return Error::unavailable("the event relay cannot LISTEN on PostgreSQL",
                              "check the --database URL and that the server is running");
  }
  std::weak_ptr<State> weak = state;
  bus.set_forwarder([weak](std::string_view topic) {
    if (auto s = weak.lock()) s->notify(topic);
  });
  asio::co_spawn(state->executor, state->listen_loop(), asio::detached);
  return std::unique_ptr<PgRelay>(new PgRelay(state));
}

PgRelay::~PgRelay() {
  state_->stopped = true;
  state_->bus.set_forwarder(nullptr);
  // The listening coroutine ends at its next wake-up; wake it now.
  asio::post(state_->executor, [s = state_] {
    if (s->socket) s->socket->cancel();
    if (s->pause) s->pause->cancel();
  });
}

}  // namespace berth::events
