#pragma once
/// A circuit breaker around an object store's I/O (head, remove, put), like the journal's: after
/// `max_failures` store failures in a row the calls fail fast with `unavailable` for
/// `reset_timeout`, then one trial goes through. Only `unavailable` counts as a failure (an
/// absent object is an answer, not a fault). Signing URLs does no I/O and is never a trial, but
/// while the breaker is open it is refused too: a URL to a store known to be down would only send
/// the client's bytes nowhere. Calls are not timed out here: the store's own client bounds them.
/// Thread-safe.

#include <functional>
#include <memory>
#include <mutex>

#include "hibiki/core/circuit_breaker.hpp"
#include "hibiki/persistence/object_store.hpp"

namespace hibiki::actors {

class breaker_object_store final : public persistence::object_store {
 public:
  using clock_fn = std::function<circuit_breaker::time_point()>;

  /// `now` defaults to std::chrono::steady_clock.
  breaker_object_store(std::shared_ptr<persistence::object_store> inner, breaker_options options,
                       clock_fn now = {});

  result<persistence::signed_url> presign_put(const std::string& key, std::uint64_t size,
                                              const std::string& content_type,
                                              std::chrono::seconds ttl,
                                              std::chrono::system_clock::time_point now) override;
  result<persistence::signed_url> presign_get(const std::string& key, const std::string& filename,
                                              std::chrono::seconds ttl,
                                              std::chrono::system_clock::time_point now) override;
  result<persistence::object_info> head(const std::string& key) override;
  status remove(const std::string& key) override;
  status put(const std::string& key, std::uint64_t size, const std::string& content_type,
             const persistence::byte_source& source) override;

  breaker_state state() const;

 private:
  /// Runs `call` through the breaker; `failed` says whether its outcome counts as a failure.
  template <class Call>
  auto guarded(Call call) -> decltype(call());
  /// True while the breaker is open (not half-open): signing is refused then.
  bool refuses_urls() const;

  std::shared_ptr<persistence::object_store> inner_;
  clock_fn now_;
  mutable std::mutex mutex_;
  circuit_breaker breaker_;
};

}  // namespace hibiki::actors
