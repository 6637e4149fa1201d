#pragma once
// ReplicaRegistry: this server's row in the `replicas` table. It registers at start, heartbeats,
// removes replicas that stopped heartbeating (any replica may; the delete is idempotent) and
// registers again if another replica removed this one during a long pause. The row says where
// other replicas relay agent calls to (http/relay_client) and with which secret.

#include <chrono>
#include <memory>

#include <boost/asio/any_io_executor.hpp>

#include "berth/store/store.hpp"

namespace berth::workspaces {

struct ReplicaRegistryOptions {
  std::chrono::milliseconds heartbeat{std::chrono::seconds(5)};
  // A replica silent this long is removed (and its agents read as unreachable).
  std::chrono::milliseconds stale{std::chrono::seconds(15)};
};

class ReplicaRegistry {
 public:
  ReplicaRegistry(boost::asio::any_io_executor executor, store::Store& store, store::Replica self,
                  ReplicaRegistryOptions options = {});
  ~ReplicaRegistry();
  ReplicaRegistry(const ReplicaRegistry&) = delete;
  ReplicaRegistry& operator=(const ReplicaRegistry&) = delete;

  // Registers (synchronously, so a failure stops the server's start) and starts heartbeating.
  Status start();
  // Stops heartbeating and removes the row (a clean shutdown).
  void stop();

  struct State;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace berth::workspaces
