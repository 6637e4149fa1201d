#pragma once
// The messages of one SSE response, written in order by the stream while the work that
// produces them runs on its own (so a client that goes away never leaves it writing into
// nothing). Used on the server's executor only.

#include <chrono>
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
  // Sleeps until something is pushed, the work finishes, or `at_most` passes. False when
  // it woke for nothing (time for a keep-alive).
  boost::asio::awaitable<bool> wait(
      std::chrono::steady_clock::duration at_most = std::chrono::hours(24 * 365)) {
    if (!queue.empty() || done) co_return true;
    signal.expires_after(at_most);
    boost::system::error_code ec;
    co_await signal.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
    co_return !queue.empty() || done;
  }
};

}  // namespace berth::http
