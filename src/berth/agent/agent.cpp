// The `berth agent` runtime. One thread, one io_context; every activity is a coroutine.
#include "berth/agent/agent.hpp"

#include <algorithm>
#include <csignal>
#include <deque>
#include <iostream>
#include <type_traits>

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/url/parse.hpp>
#include <nlohmann/json.hpp>

#include "berth/agent/agent_rpc.hpp"
#include "berth/agent/port_forward.hpp"
#include "berth/core/agent_protocol.hpp"
#include "berth/core/logging.hpp"
#include "berth/core/untrusted.hpp"
#include "berth/net/tls.hpp"
#include "berth/proc/process.hpp"

namespace berth::agent {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace http = beast::http;
namespace proto = agent_protocol;
using asio::awaitable;
using asio::use_awaitable;
using nlohmann::json;
using tcp = asio::ip::tcp;
// TCP to the server's address, or the Unix socket a sandbox binds in (unix:/run/berth/agent.sock).
using Stream = beast::basic_stream<asio::generic::stream_protocol>;
using WebSocket = websocket::stream<Stream>;
// To an https:// server: TLS, verified against the system's CAs and $BERTH_CA_FILE.
using TlsWebSocket = websocket::stream<beast::ssl_stream<Stream>>;

namespace {

constexpr std::size_t kMaxQueuedMessages = 10'000;

// The live connection, whichever stream it runs on.
class Wire {
 public:
  virtual ~Wire() = default;
  virtual awaitable<void> write(const std::string& bytes, bool binary,
                                boost::system::error_code& ec) = 0;
  virtual awaitable<void> close(boost::system::error_code& ec) = 0;
};

template <class WS>
class WireOf final : public Wire {
 public:
  explicit WireOf(WS& ws) : ws_(ws) {}
  awaitable<void> write(const std::string& bytes, bool binary,
                        boost::system::error_code& ec) override {
    ws_.binary(binary);
    co_await ws_.async_write(asio::buffer(bytes), asio::redirect_error(use_awaitable, ec));
  }
  awaitable<void> close(boost::system::error_code& ec) override {
    beast::get_lowest_layer(ws_).expires_after(std::chrono::milliseconds(200));
    co_await ws_.async_close(websocket::close_code::normal,
                             asio::redirect_error(use_awaitable, ec));
  }

 private:
  WS& ws_;
};
constexpr auto kShutdownFlushTime = std::chrono::milliseconds(500);

class AgentRuntime {
 public:
  explicit AgentRuntime(AgentOptions options) : options_(std::move(options)) {}

  int run() {
    auto url = boost::urls::parse_uri(options_.url);
    if (url && url->scheme() == "unix" && !url->path().empty()) {
      socket_path_ = url->path();
      host_ = "berth-agent";
    } else if (!url || (url->scheme() != "http" && url->scheme() != "ws" &&
                        url->scheme() != "https" && url->scheme() != "wss")) {
      spdlog::error("invalid --url \"{}\": use http(s)://HOST:PORT or unix:/PATH", options_.url);
      return 2;
    } else {
      tls_ = url->scheme() == "https" || url->scheme() == "wss";
      host_ = url->host();
      port_ = url->has_port() ? std::string(url->port()) : (tls_ ? "443" : "80");
      if (tls_) {
        auto ctx = net::client_tls_context(net::ca_file_from_environment());
        if (!ctx) {
          spdlog::error("{} ({})", ctx.error().message, ctx.error().detail);
          return 2;
        }
        tls_context_ = std::move(*ctx);
      }
    }
    asio::signal_set signals(io_, SIGTERM, SIGINT);
    signals.async_wait([this](const boost::system::error_code& ec, int) {
      if (!ec) asio::co_spawn(io_, shutdown(), asio::detached);
    });
    asio::co_spawn(io_, connect_loop(), asio::detached);
    io_.run();
    return exit_code_;
  }

 private:
  // --- Outgoing messages survive reconnects: they wait in the outbox until written.
  void send(json message) {
    if (outbox_.size() >= kMaxQueuedMessages) {
      // The oldest message goes; never a tunnel frame (its stream would lose bytes in the
      // middle; frames are bounded by their windows anyway).
      auto oldest =
          std::find_if(outbox_.begin(), outbox_.end(), [](const Outgoing& o) { return !o.binary; });
      if (oldest != outbox_.end()) outbox_.erase(oldest);
    }
    outbox_.push_back({dump_json(message), false});
    if (ws_ && !writing_) asio::co_spawn(io_, flush(), asio::detached);
  }

  // A port tunnel frame: only for the connection it belongs to (dropped if that ends).
  void send_tunnel(std::string frame) {
    if (!ws_) return;
    outbox_.push_back({std::move(frame), true});
    if (!writing_) asio::co_spawn(io_, flush(), asio::detached);
  }

  awaitable<void> flush() {
    writing_ = true;
    while (ws_ && !outbox_.empty()) {
      auto* ws = ws_;
      // Out of the outbox while it is written: send() may drop or add messages meanwhile.
      Outgoing next = std::move(outbox_.front());
      outbox_.pop_front();
      boost::system::error_code ec;
      co_await ws->write(next.bytes, next.binary, ec);
      if (ec) {
        // The read loop notices the broken connection and reconnects; a message waits for
        // the next connection, a tunnel frame ends with this one.
        if (!next.binary) outbox_.push_front(std::move(next));
        break;
      }
    }
    writing_ = false;
  }

  void set_lifecycle(std::string_view state) {
    lifecycle_ = state;
    send({{"type", proto::kLifecycle}, {"state", state}});
  }

  awaitable<void> connect_loop() {
    auto backoff = options_.initial_backoff;
    while (!stopping_) {
      boost::system::error_code ec;
      bool connected = co_await session(ec);
      if (stopping_) break;
      if (connected) backoff = options_.initial_backoff;
      spdlog::info("agent disconnected; reconnecting in {} ms ({})", backoff.count(), ec.message());
      asio::steady_timer t(io_, backoff);
      co_await t.async_wait(asio::redirect_error(use_awaitable, ec));
      backoff = std::min(backoff * 2, options_.max_backoff);
    }
  }

  // One connection, from dial to drop. Returns true if the handshake succeeded.
  awaitable<bool> session(boost::system::error_code& ec) {
    if (tls_) {
      TlsWebSocket ws(io_, *tls_context_);
      co_return co_await session_on(ws, ec);
    }
    WebSocket ws(io_);
    co_return co_await session_on(ws, ec);
  }

  template <class WS>
  awaitable<bool> session_on(WS& ws, boost::system::error_code& ec) {
    auto& lowest = beast::get_lowest_layer(ws);
    lowest.expires_after(std::chrono::seconds(10));
    if (!socket_path_.empty()) {
      asio::generic::stream_protocol::endpoint ep{
          asio::local::stream_protocol::endpoint(socket_path_)};
      co_await lowest.async_connect(ep, asio::redirect_error(use_awaitable, ec));
      if (ec) co_return false;
    } else {
      tcp::resolver resolver(io_);
      auto endpoints =
          co_await resolver.async_resolve(host_, port_, asio::redirect_error(use_awaitable, ec));
      if (ec) co_return false;
      for (const auto& e : endpoints) {
        lowest.socket().close(ec);
        co_await lowest.async_connect(asio::generic::stream_protocol::endpoint(e.endpoint()),
                                      asio::redirect_error(use_awaitable, ec));
        if (!ec) break;
      }
      if (ec) co_return false;
      lowest.socket().set_option(tcp::no_delay(true), ec);
      ec = {};
    }
    if constexpr (std::is_same_v<WS, TlsWebSocket>) {
      if (!net::verify_host_name(ws.next_layer().native_handle(), host_)) {
        spdlog::error("invalid TLS server name {}", host_);
        co_return false;
      }
      co_await ws.next_layer().async_handshake(asio::ssl::stream_base::client,
                                               asio::redirect_error(use_awaitable, ec));
      if (ec) {
        spdlog::error(
            "TLS with the server failed: {} (a private CA's certificate goes in "
            "BERTH_CA_FILE)",
            ec.message());
        co_return false;
      }
    }
    ws.set_option(websocket::stream_base::decorator([this](websocket::request_type& req) {
      req.set(http::field::authorization, "Bearer " + options_.token);
    }));
    websocket::response_type response;
    // Named, not a temporary in the co_await expression (GCC 12 destroys those twice).
    const std::string host_header = port_.empty() ? host_ : host_ + ":" + port_;
    co_await ws.async_handshake(response, host_header, proto::kConnectPath,
                                asio::redirect_error(use_awaitable, ec));
    if (ec) {
      if (response.result() == http::status::unauthorized ||
          response.result() == http::status::gone || response.result() == http::status::forbidden) {
        spdlog::error("the server refused this agent ({}): {}", response.result_int(),
                      response.body());
        exit_code_ = 2;
        stopping_ = true;
        io_.stop();
      }
      co_return false;
    }
    beast::get_lowest_layer(ws).expires_never();
    ws.set_option(websocket::stream_base::timeout::suggested(beast::role_type::client));
    // Whole frames in one write: a client masks what it sends through a buffer of this size,
    // and port tunnels send frames of up to 256 KiB (4 KiB by default: 64 writes each).
    ws.auto_fragment(false);
    ws.write_buffer_bytes(256 * 1024);

    // hello goes first, ahead of anything queued while we were away.
    json hello = {
        {"type", proto::kHello}, {"version", proto::kVersion}, {"lifecycle_state", lifecycle_}};
    co_await ws.async_write(asio::buffer(dump_json(hello)),
                            asio::redirect_error(use_awaitable, ec));
    if (ec) co_return true;
    WireOf<WS> wire(ws);
    ws_ = &wire;
    if (!outbox_.empty() && !writing_) asio::co_spawn(io_, flush(), asio::detached);

    beast::flat_buffer buffer;
    while (!stopping_) {
      co_await ws.async_read(buffer, asio::redirect_error(use_awaitable, ec));
      if (ec) break;
      std::string text = beast::buffers_to_string(buffer.data());
      buffer.consume(buffer.size());
      if (ws.got_binary()) {
        ports_.handle(std::move(text));
      } else {
        handle_message(text);
      }
    }
    ws_ = nullptr;
    // Tunnels belong to the connection: their sockets close and their frames are not resent.
    ports_.reset();
    // Let a write in flight on this stream finish failing before the stream goes away.
    while (writing_) {
      asio::steady_timer t(io_, std::chrono::milliseconds(1));
      co_await t.async_wait(asio::redirect_error(use_awaitable, ec));
    }
    std::erase_if(outbox_, [](const Outgoing& o) { return o.binary; });
    co_return true;
  }

  void handle_message(const std::string& text) {
    json msg;
    if (parse_untrusted_json(text, msg) != JsonRefusal::none || !msg.is_object()) return;
    std::string type = msg.value("type", "");
    if (type == proto::kManifest || type == proto::kWorkspace) {
      // Commands started from now on see the workspace's current owner and name.
      for (const auto& [key, var] : {std::pair{"workspace_owner", "BERTH_WORKSPACE_OWNER"},
                                     std::pair{"workspace_name", "BERTH_WORKSPACE_NAME"}}) {
        if (auto v = msg.find(key); v != msg.end() && v->is_string()) {
          ::setenv(var, v->get<std::string>().c_str(), 1);
        }
      }
    }
    if (type == proto::kManifest) {
      manifest_ = msg;
      if (!heartbeat_started_) {
        heartbeat_started_ = true;
        asio::co_spawn(io_, heartbeat(), asio::detached);
      }
      if (lifecycle_ == "created") asio::co_spawn(io_, run_startup_script(), asio::detached);
    } else if (type == proto::kRequest) {
      asio::co_spawn(io_, serve_request(msg), asio::detached);
    } else if (type == proto::kRejected) {
      spdlog::error("the server rejected this agent: {}", msg.value("message", ""));
      exit_code_ = 2;
      stopping_ = true;
      io_.stop();
    }
  }

  awaitable<void> heartbeat() {
    while (!stopping_) {
      auto every = std::chrono::milliseconds(manifest_.value("heartbeat_ms", 10'000));
      asio::steady_timer t(io_, every);
      boost::system::error_code ec;
      co_await t.async_wait(asio::redirect_error(use_awaitable, ec));
      // Only when connected: a heartbeat queued during an outage would say nothing true.
      if (ws_ && !writing_) send({{"type", proto::kHeartbeat}});
    }
  }

  awaitable<void> serve_request(json msg) {
    // Named, not built inside the co_await (GCC 12 destroys such temporaries twice).
    RequestHandler::OutputSink sink = [this, id = msg.value("id", json())](std::string data) {
      send({{"type", proto::kOutput}, {"id", id}, {"data", std::move(data)}});
    };
    std::string method = msg.value("method", "");
    json params = msg.value("params", json::object());
    // The server's request id, so one call can be followed from the client into here.
    std::string request_id;
    if (msg.contains("request_id") && msg["request_id"].is_string() &&
        valid_request_id(msg["request_id"].get<std::string>()))
      request_id = msg["request_id"].get<std::string>();
    const auto started = std::chrono::steady_clock::now();
    std::string logged_method = method;
    json reply = co_await requests_.handle(std::move(method), std::move(params), std::move(sink));
    spdlog::info(
        "request done method={} ms={:.3f} request_id={}", logged_method,
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
            .count(),
        request_id.empty() ? "-" : request_id);
    reply["type"] = proto::kResponse;
    reply["id"] = msg.value("id", json());
    send(std::move(reply));
  }

  awaitable<void> run_startup_script() {
    using namespace asio::experimental::awaitable_operators;
    set_lifecycle("starting");
    std::string script = manifest_.value("startup_script", "");
    if (script.empty()) {
      set_lifecycle("ready");
      co_return;
    }
    proc::Environment env = proc::current_environment();
    env.erase(std::string(proto::kTokenEnv));
    const json manifest_env = manifest_.value("env", json::object());
    for (auto& [k, v] : manifest_env.items()) {
      if (v.is_string()) env[k] = v.get<std::string>();
    }
    auto child = proc::Process::spawn(io_.get_executor(),
                                      {.argv = {"/bin/sh", "-c", script},
                                       .env = env,
                                       .confine = proc::Confinement{.oom_score_adj = 0}});
    if (!child) {
      send({{"type", proto::kLog}, {"lines", {child.error().message}}});
      set_lifecycle("start_error");
      co_return;
    }
    script_pgid_ = (*child)->pid();
    auto& p = **child;
    auto pump = [&]() -> awaitable<void> {
      proc::LineSplitter out, err;
      while (auto chunk = co_await p.read_output()) {
        auto lines = (chunk->is_stderr ? err : out).feed(chunk->data);
        if (!lines.empty()) send({{"type", proto::kLog}, {"lines", lines}});
      }
      std::vector<std::string> rest;
      if (auto l = out.flush()) rest.push_back(*l);
      if (auto l = err.flush()) rest.push_back(*l);
      if (!rest.empty()) send({{"type", proto::kLog}, {"lines", rest}});
    };
    auto timeout = std::chrono::milliseconds(manifest_.value("startup_script_timeout_ms", 600'000));
    asio::steady_timer deadline(io_, timeout);
    boost::system::error_code ec;
    auto which = co_await (pump() || deadline.async_wait(asio::redirect_error(use_awaitable, ec)));
    if (which.index() == 1) {
      p.signal_group(SIGKILL);
      co_await p.wait();
      script_pgid_ = 0;
      send({{"type", proto::kLog},
            {"lines",
             {fmt::format("startup script timed out after {} ms and was killed",
                          timeout.count())}}});
      if (!stopping_) set_lifecycle("start_timeout");
      co_return;
    }
    int code = co_await p.wait();
    script_pgid_ = 0;
    if (stopping_) co_return;
    if (code == 0) {
      set_lifecycle("ready");
    } else {
      send({{"type", proto::kLog},
            {"lines", {fmt::format("startup script exited with status {}", code)}}});
      set_lifecycle("start_error");
    }
  }

  awaitable<void> shutdown() {
    if (stopping_) co_return;
    set_lifecycle("shutting_down");
    if (script_pgid_ > 0) ::kill(-script_pgid_, SIGKILL);
    set_lifecycle("off");
    // Give the outbox a moment to reach the server, then leave.
    auto until = std::chrono::steady_clock::now() + kShutdownFlushTime;
    while (ws_ && (writing_ || !outbox_.empty()) && std::chrono::steady_clock::now() < until) {
      asio::steady_timer t(io_, std::chrono::milliseconds(5));
      co_await t.async_wait(use_awaitable);
    }
    stopping_ = true;
    if (ws_) {
      boost::system::error_code ec;
      co_await ws_->close(ec);
    }
    io_.stop();
  }

  AgentOptions options_;
  asio::io_context io_;
  std::string host_, port_;
  std::string socket_path_;  // set for unix: URLs
  bool tls_ = false;         // https:// or wss://
  net::TlsContext tls_context_;
  Wire* ws_ = nullptr;  // the live connection, if any
  struct Outgoing {
    std::string bytes;
    bool binary = false;  // a port tunnel frame
  };
  std::deque<Outgoing> outbox_;
  bool writing_ = false;
  bool stopping_ = false;
  bool heartbeat_started_ = false;
  std::string lifecycle_ = "created";
  json manifest_ = json::object();
  int script_pgid_ = 0;
  int exit_code_ = 0;
  RequestHandler requests_{io_.get_executor()};  // after io_: it runs on it
  PortForwarder ports_{io_.get_executor(),
                       [this](std::string frame) { send_tunnel(std::move(frame)); }};
};

}  // namespace

int run_agent(const AgentOptions& options) {
  AgentRuntime runtime(options);
  return runtime.run();
}

}  // namespace berth::agent
