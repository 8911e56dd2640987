#pragma once
/// The entity kit: drive one entity through its shard region and see what it did. `run(cmd)`
/// sends a command and runs the fixture, returning the reply and the events the command
/// persisted (decoded from the journal's log); `state()` is the entity's current state;
/// `restart()` restarts the whole node over the same storage so `state()` is the recovered one.

#include <memory>
#include <optional>
#include <vector>

#include "entity_actor.hpp"
#include "entity_traits.hpp"
#include "hibiki/testkit/actor_fixture.hpp"

namespace hibiki::testkit {

template <class Traits>
class entity_kit {
 public:
  using state_type = typename Traits::state;
  using command_type = typename Traits::command;
  using event_type = typename Traits::event;

  struct outcome {
    actors::command_reply reply;
    std::vector<event_type> events;
  };

  entity_kit(actor_fixture& fx, entity_id id) : fx_(&fx), id_(std::move(id)) {}

  const entity_id& id() const { return id_; }

  /// Sends `cmd`, runs until its reply is there, and returns it with the events it persisted.
  outcome run(command_type cmd) {
    auto before = fx_->journal().log().size();
    auto got = std::make_shared<std::optional<actors::command_reply>>();
    caf::anon_send(region(), actors::entity_command<command_type>{
                                 id_, std::move(cmd),
                                 [got](actors::command_reply r) { *got = std::move(r); }});
    fx_->run();
    if (!*got) throw expectation_failed("entity_kit: no reply from " + id_);
    outcome out{std::move(**got), {}};
    auto log = fx_->journal().log();
    for (std::size_t i = before; i < log.size(); ++i) {
      if (log[i].entity != id_) continue;
      for (const auto& pe : log[i].events) {
        auto e = Traits::decode(pe.payload);
        if (!e) throw expectation_failed("entity_kit: undecodable event: " + e.error().message);
        out.events.push_back(std::move(*e));
      }
    }
    return out;
  }

  /// The entity's current state (activating and recovering it if needed).
  state_type state() {
    auto got = std::make_shared<std::optional<state_type>>();
    caf::anon_send(region(),
                   actors::state_query<state_type>{id_, [got](const state_type& s) { *got = s; }});
    fx_->run();
    if (!*got) throw expectation_failed("entity_kit: no state from " + id_);
    return std::move(**got);
  }

  /// Restarts the node over the same storage.
  void restart() { fx_->restart(); }

 private:
  caf::actor region() {
    if constexpr (std::is_same_v<Traits, actors::room_traits>)
      return fx_->ctx().rooms;
    else if constexpr (std::is_same_v<Traits, actors::user_traits>)
      return fx_->ctx().users;
    else
      return fx_->ctx().ids;
  }

  actor_fixture* fx_;
  entity_id id_;
};

using room_kit = entity_kit<actors::room_traits>;
using user_kit = entity_kit<actors::user_traits>;

}  // namespace hibiki::testkit
