#pragma once
/// The entity kit: drive one entity through its shard region and see what it did. `run(cmd)`
/// sends a command and runs the fixture, returning the reply and the events the command
/// persisted (decoded from the journal's log); `state()` is the entity's current state;
/// `restart()` restarts the whole node over the same storage so `state()` is the recovered one.
///
/// Every command, event, reply and state the kit sees must survive its serialization (encode →
/// decode → an equal state; for commands, events and replies, which have no `==`, the same bytes
/// when encoded again); a
/// value that does not fails the test with `expectation_failed` naming what was lost. Which
/// serialization is checked is the `Serialization` parameter (`node_serialization` by default: what
/// the nodes use today).

#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "entity_actor.hpp"
#include "entity_traits.hpp"
#include "hibiki/testkit/actor_fixture.hpp"
#include "hibiki/testkit/node_serialization.hpp"

namespace hibiki::testkit {

template <class Traits, class Serialization = node_serialization<Traits>>
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
    if (check_serialization)
      round_trip("a command", cmd, Serialization::encode_command, Serialization::decode_command);
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
        if (check_serialization)
          round_trip("an event", *e, Serialization::encode_event, Serialization::decode_event);
        out.events.push_back(std::move(*e));
      }
    }
    if (check_serialization)
      round_trip("a reply", out.reply, Serialization::encode_reply, Serialization::decode_reply);
    return out;
  }

  /// The entity's current state (activating and recovering it if needed).
  state_type state() {
    auto got = std::make_shared<std::optional<state_type>>();
    caf::anon_send(region(),
                   actors::state_query<state_type>{id_, [got](const state_type& s) { *got = s; }});
    fx_->run();
    if (!*got) throw expectation_failed("entity_kit: no state from " + id_);
    if (check_serialization)
      round_trip("a state", **got, Serialization::encode_state, Serialization::decode_state);
    return std::move(**got);
  }

  /// Restarts the node over the same storage.
  void restart() { fx_->restart(); }

  /// When true (default), what the kit sees is checked against its serialization.
  bool check_serialization = true;

 private:
  /// encode → decode → equal. States compare with `==`; commands, events and replies have none
  /// (std::variant's `==` would not compile for them), so they are encoded again and compared
  /// byte for byte.
  template <class T, class Encode, class Decode>
  void round_trip(const char* what, const T& value, Encode encode, Decode decode) const {
    auto bytes = encode(value);
    auto back = decode(bytes);
    if (!back)
      throw expectation_failed(std::string("entity_kit: ") + what + " of " + id_ +
                               " does not decode from its serialization (" + back.error().message +
                               "): " + printable(bytes));
    bool same = false;
    if constexpr (std::is_same_v<T, state_type>)
      same = *back == value;
    else
      same = encode(*back) == bytes;
    if (!same)
      throw expectation_failed(std::string("entity_kit: ") + what + " of " + id_ +
                               " does not survive its serialization: " + printable(bytes) +
                               " came back as " + printable(encode(*back)));
  }

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
