#include "breaker_object_store.hpp"

#include <type_traits>

#include "hibiki/core/log.hpp"

namespace hibiki::actors {

namespace {

hibiki::error breaker_open_error() {
  return hibiki::error{errc::unavailable,
                       "the file store is unavailable (its circuit breaker is open); chat keeps "
                       "working, retry files later"};
}

bool is_store_failure(const hibiki::error& e) {
  return e.code == errc::unavailable || e.code == errc::internal;
}

}  // namespace

breaker_object_store::breaker_object_store(std::shared_ptr<persistence::object_store> inner,
                                           breaker_options options, clock_fn now)
    : inner_(std::move(inner)), now_(std::move(now)), breaker_(options) {
  if (!now_) now_ = [] { return circuit_breaker::clock::now(); };
}

template <class Call>
auto breaker_object_store::guarded(Call call) -> decltype(call()) {
  {
    std::lock_guard lock(mutex_);
    if (!breaker_.try_acquire(now_())) return breaker_open_error();
  }
  auto out = call();
  const bool failed = !out.ok() && is_store_failure(out.error());
  std::lock_guard lock(mutex_);
  const auto was = breaker_.state(now_());
  if (failed) {
    breaker_.on_failure(now_());
    if (was != breaker_state::open && breaker_.state(now_()) == breaker_state::open)
      log::warn("files") << "object store circuit breaker opened: " << out.error().message;
  } else {
    breaker_.on_success(now_());
    if (was != breaker_state::closed) log::info("files") << "object store circuit breaker closed";
  }
  if (failed && out.error().code == errc::internal) {
    // A store's unexpected fault is still the store's: the client may retry later.
    return hibiki::error{errc::unavailable, out.error().message};
  }
  return out;
}

result<persistence::signed_url> breaker_object_store::presign_put(
    const std::string& key, std::uint64_t size, const std::string& content_type,
    std::chrono::seconds ttl, std::chrono::system_clock::time_point now) {
  if (refuses_urls()) return breaker_open_error();
  return inner_->presign_put(key, size, content_type, ttl, now);
}

result<persistence::signed_url> breaker_object_store::presign_get(
    const std::string& key, const std::string& filename, std::chrono::seconds ttl,
    std::chrono::system_clock::time_point now) {
  if (refuses_urls()) return breaker_open_error();
  return inner_->presign_get(key, filename, ttl, now);
}

result<persistence::object_info> breaker_object_store::head(const std::string& key) {
  return guarded([&] { return inner_->head(key); });
}

status breaker_object_store::remove(const std::string& key) {
  return guarded([&] { return inner_->remove(key); });
}

status breaker_object_store::put(const std::string& key, std::uint64_t size,
                                 const std::string& content_type,
                                 const persistence::byte_source& source) {
  return guarded([&] { return inner_->put(key, size, content_type, source); });
}

bool breaker_object_store::refuses_urls() const {
  // Only while open: a half-open breaker's one trial belongs to a call that does I/O.
  return state() == breaker_state::open;
}

breaker_state breaker_object_store::state() const {
  std::lock_guard lock(mutex_);
  return breaker_.state(now_());
}

}  // namespace hibiki::actors
