#pragma once
// ApiClient: the CLI's blocking client for the REST API. Errors from the server come back as
// Error values carrying the server's message, detail and validations.

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "berth/core/result.hpp"

namespace berth::cli {

// Lets another thread end an exchange in progress: abort() shuts its connection down, and the
// exchange returns the error "aborted". Thread-safe.
class ExchangeAbort {
 public:
  void abort();
  bool aborted() const;

 private:
  friend class ApiClient;
  // The exchange's socket while it runs; false when abort() came first.
  bool attach(int fd);
  void detach();

  mutable std::mutex mu_;
  int fd_ = -1;
  bool aborted_ = false;
};

class ApiClient {
 public:
  ApiClient(std::string url, std::string token);

  Result<nlohmann::json> get(const std::string& path);
  Result<nlohmann::json> post(const std::string& path, const nlohmann::json& body);
  Result<nlohmann::json> put(const std::string& path, const nlohmann::json& body);
  Result<nlohmann::json> del(const std::string& path);

  // Called for each Server-Sent Event as it arrives; returns false to stop reading.
  using EventHandler = std::function<bool(const std::string& event, const std::string& data)>;

  // Reads a Server-Sent Events stream from GET `path`.
  Status stream(const std::string& path, const EventHandler& on_event);

  // A raw exchange: any status is returned, not turned into an Error (transport failures are).
  struct Reply {
    int status = 0;
    std::map<std::string, std::string> headers;  // names in lower case
    std::string body;
  };
  // With `on_event`, a text/event-stream response is delivered event by event (and `body`
  // stays empty); other responses are collected into `body` as usual. `abort` (optional)
  // lets another thread end it.
  Result<Reply> exchange(const std::string& method, const std::string& path,
                         const std::map<std::string, std::string>& headers, std::string body,
                         const EventHandler& on_event = {},
                         const std::shared_ptr<ExchangeAbort>& abort = nullptr);

  const std::string& url() const { return url_; }

 private:
  Result<nlohmann::json> request(const std::string& method, const std::string& path,
                                 const std::optional<nlohmann::json>& body);

  std::string url_;
  std::string token_;
  std::string host_;
  std::string port_;
  bool tls_ = false;  // https://: verified against the system's CAs and $BERTH_CA_FILE
};

// Percent-encodes one path segment (so "alice/dev" stays one segment).
std::string path_segment(std::string_view text);

}  // namespace berth::cli
