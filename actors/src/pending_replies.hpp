#pragma once
/// The gateway's callbacks for calls the node finishes later (a sign-up, an operator action):
/// each is answered exactly once, by the actors when the work is durable, or by the node's stop()
/// with `unavailable` for what is left. A call that arrives after close() is answered at once.

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>

#include "hibiki/core/result.hpp"

namespace hibiki::actors {

template <class Result>
class pending_replies {
 public:
  using callback = std::function<void(result<Result>)>;

  /// Keeps `done` under a new ticket (never 0) and returns it; 0 when closed, `done` then left
  /// to the caller to answer.
  std::uint64_t add(callback& done) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_) return 0;
    const auto ticket = next_++;
    waiting_.emplace(ticket, std::move(done));
    return ticket;
  }

  /// Answers the call kept under `ticket` with `r`; nothing when it was already answered.
  void finish(std::uint64_t ticket, result<Result> r) {
    callback done;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = waiting_.find(ticket);
      if (it == waiting_.end()) return;
      done = std::move(it->second);
      waiting_.erase(it);
    }
    done(std::move(r));
  }

  /// Takes no more calls and answers every waiting one with `unavailable: why`.
  void close(const std::string& why) {
    std::unordered_map<std::uint64_t, callback> left;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      closed_ = true;
      left.swap(waiting_);
    }
    for (auto& [ticket, done] : left) done(hibiki::error{errc::unavailable, why});
  }

 private:
  std::mutex mutex_;
  std::unordered_map<std::uint64_t, callback> waiting_;
  std::uint64_t next_ = 1;
  bool closed_ = false;
};

}  // namespace hibiki::actors
