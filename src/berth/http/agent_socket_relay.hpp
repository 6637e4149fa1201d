#pragma once
// The agent socket of a `berth provisioner` host. Sandboxed agents have no network: they dial
// the Unix socket bound into their sandbox (unix:/run/berth/agent.sock). On a server that
// socket is the server's own; on a daemon's host this relay listens there and carries each
// agent's WebSocket to the server (https/wss when it has TLS, verified as any client would).
//
// Only the agent endpoint passes: a request for anything else is answered 404 here, so code in
// a sandbox reaches nothing of the server through this socket that it could not reach on a
// server's own agent socket. The agent's token authenticates it at the server; the relay only
// carries bytes once the upgrade request has been checked.

#include <memory>
#include <string>

#include <boost/asio/any_io_executor.hpp>

#include "berth/core/result.hpp"
#include "berth/net/tls.hpp"

namespace berth::http {

class AgentSocketRelay {
 public:
  // `server_url`: http(s)://HOST:PORT of the Berth server; `tls`: how https is verified.
  AgentSocketRelay(boost::asio::any_io_executor executor, std::string server_url,
                   net::TlsContext tls);
  ~AgentSocketRelay();

  // Listens on `path` (replacing a socket left by an earlier process) and starts accepting.
  Status listen(const std::string& path);
  void stop();

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace berth::http
