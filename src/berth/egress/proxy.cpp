// The egress proxy's Beast translation unit (see proxy.hpp for what it decides).
#include "berth/egress/proxy.hpp"

#include <ifaddrs.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <map>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>

namespace berth::egress {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace fs = std::filesystem;
using asio::awaitable;
using asio::use_awaitable;
using local = asio::local::stream_protocol;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

namespace {

constexpr std::uint32_t kHeaderLimit = 16 * 1024;
// Per direction of a tunnel: with the 256 connections a workspace may hold, at most 8 MiB.
constexpr std::size_t kPumpBuffer = std::size_t{16} * 1024;
// How long the host's own addresses are trusted before they are read again.
constexpr auto kOwnAddressesTtl = std::chrono::seconds(5);

// One client connection and, once made, its upstream connection.
struct Connection {
  explicit Connection(const asio::any_io_executor& ex) : client(ex), upstream(ex), idle(ex) {}
  local::socket client;
  tcp::socket upstream;
  asio::steady_timer idle;  // wakes the idle watch (and is cancelled by close)
  std::chrono::steady_clock::time_point last_activity = std::chrono::steady_clock::now();
  int open_directions = 0;
  bool closed = false;

  void close() {
    closed = true;
    error_code ec;
    client.close(ec);
    upstream.close(ec);
    idle.cancel();
  }
};

struct Listener {
  explicit Listener(const asio::any_io_executor& ex) : acceptor(ex) {}
  std::string workspace_id;
  std::string template_name;
  Policy policy;
  fs::path dir;
  local::acceptor acceptor;
  std::vector<std::weak_ptr<Connection>> connections;
  ProxyCounters counters;
  bool closed = false;

  int live_connections() {
    std::erase_if(connections, [](const auto& w) { return w.expired(); });
    return static_cast<int>(connections.size());
  }
};

std::string error_response(int status, std::string_view reason, std::string_view body) {
  return fmt::format(
      "HTTP/1.1 {} {}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\n"
      "Connection: close\r\nX-Berth-Egress: refused\r\n\r\n{}\n",
      status, reason, body.size() + 1, body);
}

std::optional<Address> from_asio(const asio::ip::address& a) {
  Address out;
  if (a.is_v4()) {
    auto b = a.to_v4().to_bytes();
    out.v4 = true;
    out.bytes[10] = out.bytes[11] = 0xff;
    std::memcpy(out.bytes.data() + 12, b.data(), 4);
    return out;
  }
  if (a.is_v6()) {
    auto b = a.to_v6().to_bytes();
    std::memcpy(out.bytes.data(), b.data(), 16);
    return out;
  }
  return std::nullopt;
}

// The headers to send on for an absolute-form request: hop-by-hop and proxy headers go, the
// Host is the URL's, and the upstream connection carries this one request.
std::string origin_request(const bhttp::request_parser<bhttp::empty_body>::value_type& req,
                           const AbsoluteUrl& url) {
  std::string out = fmt::format("{} {} HTTP/{}.{}\r\n", std::string(req.method_string()),
                                url.origin_form, req.version() / 10, req.version() % 10);
  for (const auto& field : req) {
    switch (field.name()) {
      case bhttp::field::host:
      case bhttp::field::connection:
      case bhttp::field::proxy_connection:
      case bhttp::field::proxy_authorization:
      case bhttp::field::keep_alive:
        continue;
      default:
        break;
    }
    out += fmt::format("{}: {}\r\n", std::string(field.name_string()), std::string(field.value()));
  }
  bool default_port = url.target.port == 80;
  std::string host = url.target.host.find(':') != std::string::npos ? "[" + url.target.host + "]"
                                                                    : url.target.host;
  out += default_port ? fmt::format("Host: {}\r\n", host)
                      : fmt::format("Host: {}:{}\r\n", host, url.target.port);
  out += "Connection: close\r\n\r\n";
  return out;
}

}  // namespace

struct EgressProxies::Impl : std::enable_shared_from_this<EgressProxies::Impl> {
  Impl(asio::any_io_executor ex, ProxyOptions o) : executor(std::move(ex)), options(std::move(o)) {}

  asio::any_io_executor executor;
  ProxyOptions options;
  std::map<std::string, std::shared_ptr<Listener>> listeners;
  std::vector<Address> own_addresses;
  std::chrono::steady_clock::time_point own_read_at{};

  // The host's own addresses (every interface): a workspace must not reach the server's host
  // through one of them.
  const std::vector<Address>& host_addresses() {
    auto now = std::chrono::steady_clock::now();
    if (now - own_read_at < kOwnAddressesTtl && own_read_at != decltype(own_read_at){}) {
      return own_addresses;
    }
    own_addresses.clear();
    own_read_at = now;
    ifaddrs* list = nullptr;
    if (::getifaddrs(&list) != 0) return own_addresses;
    for (ifaddrs* i = list; i; i = i->ifa_next) {
      if (!i->ifa_addr) continue;
      Address a;
      if (i->ifa_addr->sa_family == AF_INET) {
        a.v4 = true;
        a.bytes[10] = a.bytes[11] = 0xff;
        std::memcpy(a.bytes.data() + 12,
                    &reinterpret_cast<const sockaddr_in*>(i->ifa_addr)->sin_addr, 4);
      } else if (i->ifa_addr->sa_family == AF_INET6) {
        std::memcpy(a.bytes.data(), &reinterpret_cast<const sockaddr_in6*>(i->ifa_addr)->sin6_addr,
                    16);
      } else {
        continue;
      }
      own_addresses.push_back(a);
    }
    ::freeifaddrs(list);
    return own_addresses;
  }

  // Why egress must not reach `a`, or nullopt when it may.
  std::optional<std::string> address_refusal(const Address& a) {
    for (const auto& net : options.allowed_nets) {
      if (net.contains(a)) return std::nullopt;
    }
    if (auto range = reserved_range(a)) return std::string(*range);
    const auto& own = host_addresses();
    if (std::find(own.begin(), own.end(), a) != own.end()) return "an address of the server's host";
    return std::nullopt;
  }

  awaitable<void> accept_loop(std::shared_ptr<Listener> l) {
    auto self = shared_from_this();
    for (;;) {
      auto c = std::make_shared<Connection>(executor);
      error_code ec;
      co_await l->acceptor.async_accept(c->client, asio::redirect_error(use_awaitable, ec));
      if (l->closed || ec == asio::error::operation_aborted) co_return;
      if (ec) {
        // Out of descriptors and the like: wait instead of spinning.
        spdlog::warn("egress accept failed workspace_id={} error={}", l->workspace_id,
                     ec.message());
        asio::steady_timer pause(executor, std::chrono::milliseconds(100));
        co_await pause.async_wait(asio::redirect_error(use_awaitable, ec));
        continue;
      }
      if (l->live_connections() >= options.max_connections_per_workspace) {
        std::string text = error_response(
            503, "Too many egress connections",
            fmt::format("berth egress: this workspace has {} connections open through its "
                        "egress proxy, the most it may; close some and retry",
                        options.max_connections_per_workspace));
        asio::co_spawn(executor, reply_and_close(c, std::move(text)), asio::detached);
        continue;
      }
      l->connections.push_back(c);
      asio::co_spawn(executor, serve(l, c), asio::detached);
    }
  }

  awaitable<void> reply_and_close(std::shared_ptr<Connection> c, std::string text) {
    error_code ec;
    asio::steady_timer deadline(executor, options.header_timeout);
    deadline.async_wait([c](error_code e) {
      if (!e) c->close();
    });
    co_await asio::async_write(c->client, asio::buffer(text),
                               asio::redirect_error(use_awaitable, ec));
    deadline.cancel();
    c->client.shutdown(local::socket::shutdown_send, ec);
    c->close();
  }

  // The answer to a refused request, counted and logged.
  static std::string refusal(Listener& l, int status, std::string_view reason,
                             std::string_view body) {
    ++l.counters.refused;
    spdlog::info("egress refused workspace_id={} status={} detail={}", l.workspace_id, status,
                 body);
    return error_response(status, reason, body);
  }

  awaitable<void> serve(std::shared_ptr<Listener> l, std::shared_ptr<Connection> c) {
    auto self = shared_from_this();
    beast::flat_buffer buffer;
    bhttp::request_parser<bhttp::empty_body> parser;
    parser.header_limit(kHeaderLimit);
    error_code ec;
    {
      asio::steady_timer deadline(executor, options.header_timeout);
      deadline.async_wait([c](error_code e) {
        if (!e) c->close();
      });
      co_await bhttp::async_read_header(c->client, buffer, parser,
                                        asio::redirect_error(use_awaitable, ec));
      deadline.cancel();
    }
    if (ec == bhttp::error::header_limit) {
      std::string text = refusal(*l, 431, "Request Header Fields Too Large",
                                 "berth egress: the request's headers pass 16 KiB");
      co_await reply_and_close(c, std::move(text));
      co_return;
    }
    if (ec) {
      if (ec != asio::error::eof && ec != asio::error::operation_aborted &&
          ec != bhttp::error::end_of_stream) {
        std::string text =
            refusal(*l, 400, "Bad Request",
                    fmt::format("berth egress: not an HTTP proxy request ({})", ec.message()));
        co_await reply_and_close(c, std::move(text));
      }
      co_return;
    }
    const auto& req = parser.get();
    const bool tunnel = req.method() == bhttp::verb::connect;
    std::string head;  // what goes upstream before the relay (absolute-form requests)
    Target target;
    if (tunnel) {
      auto t = parse_authority(std::string_view(req.target().data(), req.target().size()), 0);
      if (!t) {
        std::string text = refusal(*l, 400, "Bad Request", "berth egress: " + t.error().message);
        co_await reply_and_close(c, std::move(text));
        co_return;
      }
      target = std::move(*t);
    } else {
      auto u = parse_absolute_url(std::string_view(req.target().data(), req.target().size()));
      if (!u) {
        std::string text = refusal(*l, 400, "Bad Request", "berth egress: " + u.error().message);
        co_await reply_and_close(c, std::move(text));
        co_return;
      }
      head = origin_request(req, *u);
      target = std::move(u->target);
    }
    const std::string where = target.host.find(':') != std::string::npos
                                  ? fmt::format("[{}]:{}", target.host, target.port)
                                  : fmt::format("{}:{}", target.host, target.port);
    if (!host_allowed(l->policy, target.host)) {
      // Some clients show only the status line (Python's "Tunnel connection failed: 403
      // ..."), so it names the policy too.
      std::string reason = fmt::format("Forbidden by Berth egress policy {} of template {}",
                                       to_string(l->policy.mode), l->template_name);
      std::string text =
          refusal(*l, 403, reason, EgressProxies::refusal_text(where, l->template_name, l->policy));
      co_await reply_and_close(c, std::move(text));
      co_return;
    }

    // Resolve, then keep only the addresses egress may reach.
    std::vector<tcp::endpoint> endpoints;
    if (target.is_ip) {
      error_code parse_ec;
      auto a = asio::ip::make_address(target.host, parse_ec);
      if (!parse_ec) endpoints.emplace_back(a, target.port);
    } else {
      tcp::resolver resolver(executor);
      asio::steady_timer deadline(executor, options.resolve_timeout);
      deadline.async_wait([&resolver](error_code e) {
        if (!e) resolver.cancel();
      });
      std::string port = std::to_string(target.port);
      auto results = co_await resolver.async_resolve(target.host, port,
                                                     asio::redirect_error(use_awaitable, ec));
      deadline.cancel();
      if (ec) {
        std::string text =
            refusal(*l, 502, "Bad Gateway",
                    fmt::format("berth egress: cannot resolve {}: {}", target.host,
                                ec == asio::error::operation_aborted ? "timed out" : ec.message()));
        co_await reply_and_close(c, std::move(text));
        co_return;
      }
      for (const auto& r : results) endpoints.push_back(r.endpoint());
    }
    std::vector<tcp::endpoint> reachable;
    std::string refused_note;
    for (const auto& ep : endpoints) {
      auto a = from_asio(ep.address());
      auto why = a ? address_refusal(*a) : std::optional<std::string>("not an IP address");
      if (!why) {
        reachable.push_back(ep);
      } else if (refused_note.empty()) {
        refused_note = fmt::format("{} ({})", ep.address().to_string(), *why);
      }
    }
    if (reachable.empty()) {
      std::string body =
          target.is_ip ? fmt::format(
                             "berth egress: {} refused: {}; workspaces never reach loopback, "
                             "private or link-local addresses, nor the server's host",
                             where, refused_note)
                       : fmt::format(
                             "berth egress: {} refused: it resolves to {}; workspaces never "
                             "reach loopback, private or link-local addresses, nor the server's "
                             "host",
                             where, refused_note.empty() ? "no address" : refused_note);
      std::string text =
          refusal(*l, 403, "Forbidden by Berth egress: address never reached", std::move(body));
      co_await reply_and_close(c, std::move(text));
      co_return;
    }

    // Connect to the first address that answers.
    {
      asio::steady_timer deadline(executor, options.connect_timeout);
      deadline.async_wait([c](error_code e) {
        if (!e) {
          error_code ignored;
          c->upstream.close(ignored);
        }
      });
      for (const auto& ep : reachable) {
        error_code ignored;
        c->upstream.close(ignored);
        co_await c->upstream.async_connect(ep, asio::redirect_error(use_awaitable, ec));
        if (!ec) break;
      }
      deadline.cancel();
    }
    if (ec) {
      std::string text =
          refusal(*l, 502, "Bad Gateway",
                  fmt::format("berth egress: cannot connect to {}: {}", where,
                              ec == asio::error::operation_aborted ? "timed out" : ec.message()));
      co_await reply_and_close(c, std::move(text));
      co_return;
    }
    c->upstream.set_option(tcp::no_delay(true), ec);
    ++l->counters.allowed;

    if (tunnel) {
      static constexpr std::string_view kEstablished =
          "HTTP/1.1 200 Connection established\r\n\r\n";
      co_await asio::async_write(c->client, asio::buffer(kEstablished),
                                 asio::redirect_error(use_awaitable, ec));
      if (ec) {
        c->close();
        co_return;
      }
    } else {
      co_await asio::async_write(c->upstream, asio::buffer(head),
                                 asio::redirect_error(use_awaitable, ec));
    }
    // Bytes the client sent after its request's headers go first.
    if (!ec && buffer.size() > 0) {
      l->counters.bytes_out += buffer.size();
      co_await asio::async_write(c->upstream, buffer.data(),
                                 asio::redirect_error(use_awaitable, ec));
    }
    if (ec) {
      c->close();
      co_return;
    }
    c->open_directions = 2;
    asio::co_spawn(executor, pump(l, c, true), asio::detached);
    asio::co_spawn(executor, pump(l, c, false), asio::detached);
    co_await watch_idle(c);
  }

  // Relays one direction until end of stream; then half-closes the other side.
  awaitable<void> pump(std::shared_ptr<Listener> l, std::shared_ptr<Connection> c, bool outbound) {
    std::vector<char> bytes(kPumpBuffer);
    error_code ec;
    for (;;) {
      std::size_t n = 0;
      if (outbound) {
        n = co_await c->client.async_read_some(asio::buffer(bytes),
                                               asio::redirect_error(use_awaitable, ec));
      } else {
        n = co_await c->upstream.async_read_some(asio::buffer(bytes),
                                                 asio::redirect_error(use_awaitable, ec));
      }
      if (ec) break;
      c->last_activity = std::chrono::steady_clock::now();
      if (outbound) {
        l->counters.bytes_out += n;
        co_await asio::async_write(c->upstream, asio::buffer(bytes.data(), n),
                                   asio::redirect_error(use_awaitable, ec));
      } else {
        l->counters.bytes_in += n;
        co_await asio::async_write(c->client, asio::buffer(bytes.data(), n),
                                   asio::redirect_error(use_awaitable, ec));
      }
      if (ec) break;
    }
    if (ec == asio::error::eof) {
      error_code ignored;
      if (outbound) {
        c->upstream.shutdown(tcp::socket::shutdown_send, ignored);
      } else {
        c->client.shutdown(local::socket::shutdown_send, ignored);
      }
    } else {
      c->close();
    }
    if (--c->open_directions == 0) c->close();
  }

  // Closes a tunnel that carried nothing for the idle timeout; returns when it is closed.
  awaitable<void> watch_idle(std::shared_ptr<Connection> c) {
    auto step = std::min<std::chrono::milliseconds>(options.idle_timeout, std::chrono::seconds(30));
    while (!c->closed) {
      c->idle.expires_after(step);
      error_code ec;
      co_await c->idle.async_wait(asio::redirect_error(use_awaitable, ec));
      if (c->closed) co_return;
      if (std::chrono::steady_clock::now() - c->last_activity >= options.idle_timeout) {
        c->close();
        co_return;
      }
    }
  }

  void close_listener(Listener& l) {
    l.closed = true;
    error_code ec;
    l.acceptor.close(ec);
    for (auto& w : l.connections) {
      if (auto c = w.lock()) c->close();
    }
    l.connections.clear();
  }
};

EgressProxies::EgressProxies(boost::asio::any_io_executor executor, ProxyOptions options)
    : impl_(std::make_shared<Impl>(std::move(executor), std::move(options))) {}

EgressProxies::~EgressProxies() {
  for (auto& [id, l] : impl_->listeners) impl_->close_listener(*l);
}

Status EgressProxies::open(const std::string& workspace_id, const std::string& template_name,
                           const fs::path& dir, Policy policy, std::optional<unsigned> owner_uid) {
  if (auto it = impl_->listeners.find(workspace_id); it != impl_->listeners.end()) {
    if (it->second->policy == policy && it->second->dir == dir &&
        it->second->template_name == template_name) {
      return Status{};  // already listening with this policy
    }
    impl_->close_listener(*it->second);
    impl_->listeners.erase(it);
  }
  std::error_code fec;
  fs::create_directories(dir, fec);
  if (fec) {
    return Error::internal(fmt::format("cannot create {}: {}", dir.string(), fec.message()));
  }
  ::chmod(dir.c_str(), 0700);
  if (owner_uid && ::chown(dir.c_str(), *owner_uid, *owner_uid) != 0) {
    return Error::internal(fmt::format("cannot give {} to the sandbox user {}: {}", dir.string(),
                                       *owner_uid, std::strerror(errno)));
  }
  fs::path socket_path = dir / std::string(kProxySocketName);
  fs::remove(socket_path, fec);
  auto l = std::make_shared<Listener>(impl_->executor);
  l->workspace_id = workspace_id;
  l->template_name = template_name;
  l->policy = std::move(policy);
  l->dir = dir;
  error_code ec;
  local::endpoint endpoint(socket_path.string());
  l->acceptor.open(endpoint.protocol(), ec);
  if (!ec) l->acceptor.bind(endpoint, ec);
  if (!ec) l->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Error::internal(
        fmt::format("cannot listen on {}: {}", socket_path.string(), ec.message()));
  }
  ::chmod(socket_path.c_str(), 0600);
  if (owner_uid) (void)::chown(socket_path.c_str(), *owner_uid, *owner_uid);
  impl_->listeners[workspace_id] = l;
  asio::co_spawn(impl_->executor, impl_->accept_loop(l), asio::detached);
  spdlog::info("egress proxy open workspace_id={} policy=\"{}\"", workspace_id,
               describe(l->policy));
  return Status{};
}

void EgressProxies::close(const std::string& workspace_id) {
  auto it = impl_->listeners.find(workspace_id);
  if (it == impl_->listeners.end()) return;
  impl_->close_listener(*it->second);
  std::error_code ec;
  fs::remove_all(it->second->dir, ec);
  impl_->listeners.erase(it);
}

std::optional<ProxyCounters> EgressProxies::counters(const std::string& workspace_id) const {
  auto it = impl_->listeners.find(workspace_id);
  if (it == impl_->listeners.end()) return std::nullopt;
  return it->second->counters;
}

std::string EgressProxies::refusal_text(const std::string& target, const std::string& template_name,
                                        const Policy& policy) {
  switch (policy.mode) {
    case Mode::none:
      return fmt::format(
          "berth egress: {} refused: the egress policy of template \"{}\" is none, so this "
          "workspace reaches no network; a template admin can set sandbox.egress to internet "
          "or to a list of host names",
          target, template_name);
    case Mode::internet:
      break;
    case Mode::allowlist:
      return fmt::format(
          "berth egress: {} refused: the egress policy of template \"{}\" is {}; a template "
          "admin can add the host to sandbox.egress",
          target, template_name, describe(policy));
  }
  return fmt::format("berth egress: {} refused by the egress policy of template \"{}\" ({})",
                     target, template_name, describe(policy));
}

}  // namespace berth::egress
