#include "berth/workspaces/replica_registry.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "berth/core/clock.hpp"

namespace berth::workspaces {

namespace asio = boost::asio;

struct ReplicaRegistry::State : std::enable_shared_from_this<State> {
  State(asio::any_io_executor ex, store::Store& s, store::Replica r, ReplicaRegistryOptions o)
      : timer(ex), store(s), self(std::move(r)), options(o) {}

  asio::awaitable<void> loop() {
    auto keep = shared_from_this();
    while (!stopped) {
      timer.expires_after(options.heartbeat);
      boost::system::error_code ec;
      co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      if (stopped) break;
      const UnixMillis now = now_ms();
      if (auto s = store.heartbeat_replica(self.id, now); !s) {
        if (s.error().code == ErrorCode::not_found) {
          // Another replica took this one for dead (a pause longer than `stale`): come back.
          spdlog::warn("replica row was removed; registering again replica_id={}", self.id);
          self.started_at = now;
          if (auto r = store.register_replica(self); !r) {
            spdlog::error("replica not registered error={}", r.error().message);
          }
        } else {
          spdlog::error("replica heartbeat failed error={}", s.error().message);
        }
      }
      if (auto removed = store.remove_stale_replicas(now - options.stale.count());
          removed && *removed > 0) {
        spdlog::info("stale replicas removed count={}", *removed);
      }
    }
  }

  asio::steady_timer timer;
  store::Store& store;
  store::Replica self;
  ReplicaRegistryOptions options;
  bool stopped = false;
};

ReplicaRegistry::ReplicaRegistry(asio::any_io_executor executor, store::Store& store,
                                 store::Replica self, ReplicaRegistryOptions options)
    : state_(std::make_shared<State>(std::move(executor), store, std::move(self), options)) {}

ReplicaRegistry::~ReplicaRegistry() { stop(); }

Status ReplicaRegistry::start() {
  const UnixMillis now = now_ms();
  state_->self.started_at = state_->self.heartbeat_at = now;
  if (auto s = state_->store.register_replica(state_->self); !s) return s;
  spdlog::info("replica registered replica_id={} relay_url={}", state_->self.id,
               state_->self.relay_url);
  asio::co_spawn(state_->timer.get_executor(), state_->loop(), asio::detached);
  return {};
}

void ReplicaRegistry::stop() {
  if (state_->stopped) return;
  state_->stopped = true;
  state_->timer.cancel();
  if (auto s = state_->store.remove_replica(state_->self.id); !s) {
    spdlog::warn("replica row not removed error={}", s.error().message);
  }
}

}  // namespace berth::workspaces
