#pragma once
// HttpServer: accepts connections and serves the REST API, SSE streams and agent WebSockets.
// One coroutine per connection on the App's executor; a failure in one never stops the rest.

#include <cstdint>
#include <memory>
#include <string>

#include "berth/core/result.hpp"
#include "berth/http/app.hpp"

namespace berth::http {

class HttpServer {
 public:
  // Binds host:port (port 0 = any free port). Returns unavailable when the address is taken.
  static Result<std::unique_ptr<HttpServer>> listen(App& app, const std::string& host,
                                                    std::uint16_t port);
  ~HttpServer();

  std::uint16_t port() const;
  // TCP clients must speak TLS with this certificate and key (PEM files). Call before start().
  Status enable_tls(const std::string& cert_file, const std::string& key_file);
  // Also accepts agent connections (and nothing else) on a Unix socket at `path`, for
  // sandboxed agents that have no network. Call before start().
  Status listen_agent_socket(const std::string& path);
  // Starts accepting connections (a detached coroutine).
  void start();
  void stop();

  struct Impl;

 private:
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace berth::http
