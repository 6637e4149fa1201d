#pragma once
// Preview URLs: requests for an exposed port of a workspace, carried to the app listening on
// it through its agent's connection (AgentHub::open_port). Served ahead of every other route:
// a request whose Host is under the preview domain, or whose path starts with "/@".
// docs/previews.md has the URL forms, who may open them and what the proxy changes.

#include <optional>

#include <boost/asio/awaitable.hpp>

#include "berth/http/app.hpp"
#include "berth/http/message.hpp"

namespace berth::http {

// nullopt when `req` is not a preview request; else its answer (an error, a redirect, or a
// response that takes the connection over and carries the app's answer).
boost::asio::awaitable<std::optional<Response>> serve_preview(App& app, Request& req);

}  // namespace berth::http
