#pragma once
// An executor that runs every piece of work with one request's log scope set: code spawned on
// it (one HTTP request's handler, and every step it resumes after a co_await) logs with that
// request's id, the tool, the store and the agent hub included, with nothing passed along.
// It wraps another executor and forwards everything else to it.

#include <memory>
#include <string>
#include <utility>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/execution.hpp>
#include <boost/asio/query.hpp>
#include <boost/asio/require.hpp>

#include "berth/core/logging.hpp"

namespace berth::net {

class ScopedExecutor {
 public:
  ScopedExecutor(boost::asio::any_io_executor inner, std::shared_ptr<const std::string> request_id)
      : inner_(std::move(inner)), request_id_(std::move(request_id)) {}

  boost::asio::execution_context& query(boost::asio::execution::context_t) const noexcept {
    return boost::asio::query(inner_, boost::asio::execution::context);
  }
  boost::asio::execution::blocking_t query(boost::asio::execution::blocking_t) const noexcept {
    return boost::asio::query(inner_, boost::asio::execution::blocking);
  }
  ScopedExecutor require(boost::asio::execution::blocking_t::never_t never) const {
    return ScopedExecutor(boost::asio::require(inner_, never), request_id_);
  }
  ScopedExecutor prefer(boost::asio::execution::blocking_t::possibly_t possibly) const {
    return ScopedExecutor(boost::asio::prefer(inner_, possibly), request_id_);
  }
  ScopedExecutor prefer(boost::asio::execution::outstanding_work_t::tracked_t tracked) const {
    return ScopedExecutor(boost::asio::prefer(inner_, tracked), request_id_);
  }
  ScopedExecutor prefer(boost::asio::execution::outstanding_work_t::untracked_t untracked) const {
    return ScopedExecutor(boost::asio::prefer(inner_, untracked), request_id_);
  }
  ScopedExecutor prefer(boost::asio::execution::relationship_t::fork_t fork) const {
    return ScopedExecutor(boost::asio::prefer(inner_, fork), request_id_);
  }
  ScopedExecutor prefer(boost::asio::execution::relationship_t::continuation_t c) const {
    return ScopedExecutor(boost::asio::prefer(inner_, c), request_id_);
  }

  template <class F>
  void execute(F&& f) const {
    inner_.execute([id = request_id_, f = std::forward<F>(f)]() mutable {
      RequestLogScope scope(std::move(id));
      std::move(f)();
    });
  }

  friend bool operator==(const ScopedExecutor& a, const ScopedExecutor& b) noexcept {
    return a.inner_ == b.inner_ && a.request_id_ == b.request_id_;
  }
  friend bool operator!=(const ScopedExecutor& a, const ScopedExecutor& b) noexcept {
    return !(a == b);
  }

 private:
  boost::asio::any_io_executor inner_;
  std::shared_ptr<const std::string> request_id_;
};

}  // namespace berth::net
