#pragma once
// The messages of one SSE response, written in order by the stream while the work that
// produces them runs on its own (so a client that goes away never leaves it writing into
// nothing). Used on the server's executor only.

#include <deque>
#include <string>
#include <utility>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "berth/http/message.hpp"

namespace berth::http {

template <class Message>
struct SseOutbox {
  explicit SseOutbox(const boost::asio::any_io_executor& ex) : signal(ex) {}
  std::deque<Message> queue;
  bool done = false;
  boost::asio::steady_timer signal;

  void push(Message message) {
    queue.push_back(std::move(message));
    signal.cancel();
  }
  void finish() {
    done = true;
    signal.cancel();
  }
  // Sleeps until something is pushed or the work finishes.
  boost::asio::awaitable<void> wait() {
    if (!queue.empty() || done) co_return;
    signal.expires_at(boost::asio::steady_timer::time_point::max());
    boost::system::error_code ec;
    co_await signal.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
  }
};

}  // namespace berth::http
