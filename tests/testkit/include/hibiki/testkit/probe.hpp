#pragma once
/// A probe: an actor that records the messages sent to it, with `expect<T>` (the oldest message
/// must be a T; it is returned and removed) and `expect_no_message`. `reply()` gives a reply_fn
/// whose outcome arrives at the probe as an `actors::command_reply`.

#include <deque>
#include <memory>
#include <string>

#include <caf/all.hpp>

#include "hibiki/testkit/actor_fixture.hpp"
#include "messages.hpp"

namespace hibiki::testkit {

class probe {
 public:
  explicit probe(actor_fixture& fx)
      : fx_(&fx),
        inbox_(std::make_shared<std::deque<caf::message>>()),
        actor_(fx.spawn_recorder(inbox_)) {}

  const caf::actor& handle() const { return actor_; }

  actors::reply_fn reply() const {
    return [a = actor_](actors::command_reply r) { caf::anon_send(a, std::move(r)); };
  }

  /// Runs the fixture, then requires the oldest recorded message to be a single T.
  template <class T>
  T expect() {
    fx_->run();
    if (inbox_->empty()) throw expectation_failed("probe: expected a message, got none");
    caf::message m = std::move(inbox_->front());
    inbox_->pop_front();
    if (!m.match_elements<T>())
      throw expectation_failed("probe: unexpected message " + caf::to_string(m));
    return m.get_as<T>(0);
  }

  /// Runs the fixture, then requires that nothing arrived.
  void expect_no_message() {
    fx_->run();
    if (!inbox_->empty())
      throw expectation_failed("probe: expected no message, got " +
                               caf::to_string(inbox_->front()));
  }

  std::size_t size() const { return inbox_->size(); }

 private:
  actor_fixture* fx_;
  std::shared_ptr<std::deque<caf::message>> inbox_;
  caf::actor actor_;
};

}  // namespace hibiki::testkit
