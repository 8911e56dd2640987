#include "hibiki/testkit/deferred_journal.hpp"

#include <future>

namespace hibiki::testkit {

void deferred_journal::async_append(persistence::append_request req,
                                    persistence::append_callback done) {
  std::lock_guard<std::mutex> lock(mutex_);
  held_.push_back(held{std::move(req), std::move(done)});
}

status deferred_journal::replay(
    const entity_id& entity, seq_nr from, seq_nr to, std::uint64_t max,
    const std::function<void(const persistence::persisted_event&)>& fn) {
  {
    std::lock_guard lock(mutex_);
    if (read_error_) return *read_error_;
  }
  return inner_->replay(entity, from, to, max, fn);
}

void deferred_journal::fail_reads(std::optional<hibiki::error> err) {
  std::lock_guard lock(mutex_);
  read_error_ = std::move(err);
}

result<seq_nr> deferred_journal::highest_seq(const entity_id& entity) {
  {
    std::lock_guard lock(mutex_);
    if (read_error_) return *read_error_;
  }
  return inner_->highest_seq(entity);
}

status deferred_journal::delete_to(const entity_id& entity, seq_nr to) {
  return inner_->delete_to(entity, to);
}

std::size_t deferred_journal::pending() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return held_.size();
}

std::vector<entity_id> deferred_journal::pending_entities() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<entity_id> out;
  for (const auto& h : held_) out.push_back(h.req.entity);
  return out;
}

bool deferred_journal::complete_next() {
  held h;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (held_.empty()) return false;
    h = std::move(held_.front());
    held_.pop_front();
  }
  // The real journal acknowledges on its own thread; wait for it here so the callback below
  // runs on the test's thread, at a point the test chose.
  std::promise<status> p;
  auto copy = h.req;
  inner_->async_append(std::move(copy), [&p](status st) { p.set_value(std::move(st)); });
  status st = p.get_future().get();
  if (st.ok()) {
    std::lock_guard<std::mutex> lock(mutex_);
    log_.push_back(h.req);
  }
  h.done(std::move(st));
  return true;
}

bool deferred_journal::fail_next(hibiki::error err) {
  held h;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (held_.empty()) return false;
    h = std::move(held_.front());
    held_.pop_front();
  }
  h.done(status{std::move(err)});
  return true;
}

std::size_t deferred_journal::complete_all() {
  std::size_t n = 0;
  while (complete_next()) ++n;
  return n;
}

std::vector<persistence::append_request> deferred_journal::log() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return log_;
}

}  // namespace hibiki::testkit
