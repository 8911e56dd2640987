#pragma once
/// Test helpers: run commands through decide + apply the way the room actor does.

#include <catch2/catch.hpp>

#include "hibiki/core/room.hpp"

namespace hibiki::test {

inline constexpr account_id alice{1};
inline constexpr account_id bob{2};
inline constexpr account_id carol{3};
inline constexpr account_id dave{4};
inline constexpr room_id room1{100};

/// Applies the events `cmd` decides; fails the test when decide refuses.
inline room::state run(room::state s, const room::command& cmd) {
  auto d = room::decide(s, cmd);
  if (!d) FAIL("decide refused: " << d.error().message);
  for (const auto& e : d->events) s = room::apply(std::move(s), e);
  return s;
}

/// The error code decide gives for `cmd` (errc::ok when it accepts).
inline errc refusal(const room::state& s, const room::command& cmd) {
  auto d = room::decide(s, cmd);
  return d ? errc::ok : d.error().code;
}

/// A room made by alice with bob and carol as members.
inline room::state made_room() {
  return run(room::state{}, room::create_room{alice, room1, "general", "desc", {bob, carol}, 10});
}

inline room::state post(room::state s, account_id who, std::string body, std::string cid) {
  return run(std::move(s), room::send_message{who, std::move(body), std::move(cid), 20});
}

}  // namespace hibiki::test
