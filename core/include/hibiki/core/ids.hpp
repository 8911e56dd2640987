#pragma once
/// Strong identifier types shared by every module. An id is a positive 64-bit integer; 0 means
/// "none". Keeping accounts, rooms and messages apart in the type system stops the classic
/// argument-order bug in functions that take several of them.

#include <compare>
#include <cstdint>
#include <functional>
#include <string>

namespace hibiki {

template <class Tag>
struct strong_id {
  std::uint64_t value = 0;

  constexpr strong_id() = default;
  constexpr explicit strong_id(std::uint64_t v) : value(v) {}
  constexpr auto operator<=>(const strong_id&) const = default;
  constexpr explicit operator bool() const { return value != 0; }
};

using account_id = strong_id<struct account_id_tag>;
using room_id = strong_id<struct room_id_tag>;
/// The number of a message within its room, from 1. Sent on the wire as a decimal string.
using message_id = strong_id<struct message_id_tag>;
/// The number of a task within its room, from 1 (Chatwork's task_id).
using task_id = strong_id<struct task_id_tag>;
/// The number of a shared file within its room, from 1 (Chatwork's file_id).
using file_id = strong_id<struct file_id_tag>;
/// The number of a webhook setting within its room, from 1 (Chatwork's webhook_setting_id).
using webhook_id = strong_id<struct webhook_id_tag>;

/// A per-entity sequence number: journal sequence numbers start at 1 and never go back.
using seq_nr = std::uint64_t;

/// Unix time in seconds, as in Chatwork's API.
using unix_time = std::int64_t;

/// Identifies one event-sourced entity in the journal: "room-<id>", "user-<id>", "ids-<name>".
using entity_id = std::string;

inline entity_id entity_of(room_id r) {
  return "room-" + std::to_string(r.value);
}
inline entity_id entity_of(account_id a) {
  return "user-" + std::to_string(a.value);
}

/// The largest id the protocol allows (JSON numbers must stay exact in every client).
inline constexpr std::uint64_t max_wire_id = (std::uint64_t{1} << 53) - 1;

}  // namespace hibiki

template <class Tag>
struct std::hash<hibiki::strong_id<Tag>> {
  std::size_t operator()(hibiki::strong_id<Tag> id) const noexcept {
    return std::hash<std::uint64_t>{}(id.value);
  }
};
