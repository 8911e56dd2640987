// Fuzz target: the journal's CBOR codec (core/src/codec_events.cpp, codec_snapshot.cpp, the
// direct decoders in codec_snapshot_direct.cpp and cbor_cursor.hpp, and the upcaster chain in
// codec_upcasters.cpp). The same bytes go through every decoder: room and user events, room and
// user snapshots, and the type peek. The public decoders (direct, falling back to the document
// decoder) must give exactly what the document decoders (codec_dom.hpp) give. Whatever decodes must
// encode to bytes that decode to the same value, and a decoded event is folded into a state and
// projected into read model rows (a decoded snapshot queried and extended), since that is what
// recovery does next.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include <nlohmann/json.hpp>

#include "codec_dom.hpp"
#include "fuzz_check.hpp"
#include "hibiki/core/codec.hpp"
#include "hibiki/core/read_model.hpp"

namespace {

using namespace hibiki;

/// A small room to fold decoded events into: alice (1) admin, bob (2) member, two messages.
room::state sample_room() {
  room::state s;
  s = room::apply(s,
                  room::room_created{room_id{1}, "team", "", account_id{1}, {account_id{2}}, 10});
  s = room::apply(s, room::message_posted{
                         message_id{1}, account_id{1}, "hi [To:2]", "c-1", 11, {account_id{2}}});
  s = room::apply(s, room::message_posted{message_id{2}, account_id{2}, "yo", "", 12, {}});
  return s;
}

void query(const room::state& s) {
  for (const auto& [account, member] : s.members) {
    (void)room::unread_num(s, account);
    (void)room::mention_num(s, account);
  }
  (void)room::message_num(s);
}

template <class Event, class Decode>
void check_event_round_trip(const Event& decoded, Decode decode, const result<std::string>& type) {
  FUZZ_CHECK(type.ok());
  const auto encoded = codec::encode(decoded);
  const auto again = decode(encoded);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(again->index() == decoded.index());
  FUZZ_CHECK(codec::encode(*again) == encoded);
  // Upcasting never renames a type.
  const auto encoded_type = codec::event_type(encoded);
  FUZZ_CHECK(encoded_type.ok() && *encoded_type == *type);
}

template <class State, class Decode>
void check_snapshot_round_trip(const State& decoded, Decode decode) {
  const auto encoded = codec::encode_snapshot(decoded);
  const auto again = decode(encoded);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(*again == decoded);
}

/// Both decoders accepted or both refused, with the same error.
template <class T>
bool same_outcome(const result<T>& a, const result<T>& b) {
  if (a.ok() != b.ok()) return false;
  return a.ok() || a.error().message == b.error().message;
}

template <class Event>
bool same_event(const result<Event>& a, const result<Event>& b) {
  return same_outcome(a, b) && (!a.ok() || codec::encode(*a) == codec::encode(*b));
}

template <class State>
bool same_state(const result<State>& a, const result<State>& b) {
  return same_outcome(a, b) && (!a.ok() || *a == *b);
}

template <class T>
void check_failure(const result<T>& r) {
  if (r) return;
  FUZZ_CHECK(r.error().code == errc::bad_request);
  FUZZ_CHECK(!r.error().message.empty());
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Production registers no upcaster yet; this one (version 0 of member_removed had no "by")
  // makes the chain run. Version 1 stays the current one, so encoding is unchanged.
  codec::register_upcaster("room.member_removed", 0,
                           [](nlohmann::json& j) { j["by"] = j["account"]; });
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> bytes(data, size);
  const auto type = codec::event_type(bytes);
  check_failure(type);
  FUZZ_CHECK(same_outcome(type, codec::dom::event_type(bytes)) &&
             (!type.ok() || *type == *codec::dom::event_type(bytes)));

  const auto room_event = codec::decode_room_event(bytes);
  check_failure(room_event);
  FUZZ_CHECK(same_event(room_event, codec::dom::decode_room_event(bytes)));
  if (room_event) {
    check_event_round_trip(*room_event, codec::decode_room_event, type);
    query(room::apply(room::state{}, *room_event));
    static const auto before = sample_room();
    const auto after = room::apply(before, *room_event);
    query(after);
    (void)room::recipients(before, *room_event, after);
    // The read model's rows and the push frame are built from what was decoded.
    (void)read_model::project(before, *room_event, after);
  }

  const auto user_event = codec::decode_user_event(bytes);
  check_failure(user_event);
  FUZZ_CHECK(same_event(user_event, codec::dom::decode_user_event(bytes)));
  if (user_event) {
    check_event_round_trip(*user_event, codec::decode_user_event, type);
    const user::state before;
    (void)read_model::project(before, *user_event, user::apply(before, *user_event));
  }

  const auto room_snapshot = codec::decode_room_snapshot(bytes);
  check_failure(room_snapshot);
  FUZZ_CHECK(same_state(room_snapshot, codec::dom::decode_room_snapshot(bytes)));
  if (room_snapshot) {
    check_snapshot_round_trip(*room_snapshot, codec::decode_room_snapshot);
    query(*room_snapshot);
    query(room::apply(*room_snapshot,
                      room::message_posted{message_id{room_snapshot->last_message().value + 1},
                                           account_id{1},
                                           "x [To:1]",
                                           "c",
                                           1,
                                           {account_id{1}}}));
  }

  const auto user_snapshot = codec::decode_user_snapshot(bytes);
  check_failure(user_snapshot);
  FUZZ_CHECK(same_state(user_snapshot, codec::dom::decode_user_snapshot(bytes)));
  if (user_snapshot) check_snapshot_round_trip(*user_snapshot, codec::decode_user_snapshot);
  return 0;
}
