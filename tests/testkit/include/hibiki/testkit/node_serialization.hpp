#pragma once
/// The serialization the entity kit checks values against (entity_kit.hpp), as the nodes use it
/// today: events and states in core's codec (the journal's and the snapshot store's bytes),
/// commands and replies as the JSON text a node forwards to a shard's owner (cluster_port.hpp).
/// Another serialization plugs in as a struct with the same static members; decoders answer
/// `result<T>` (an error when the bytes do not decode).

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cluster_port.hpp"
#include "hibiki/core/result.hpp"
#include "messages.hpp"

namespace hibiki::testkit {

/// Bytes or text for a failure message: text as it is, bytes in hex; long ones cut.
std::string printable(std::string_view text);
std::string printable(std::span<const std::uint8_t> bytes);

template <class Traits>
struct node_serialization {
  using command = typename Traits::command;
  using event = typename Traits::event;
  using state = typename Traits::state;

  static std::string encode_command(const command& c) { return Traits::encode_command(c); }
  static result<command> decode_command(const std::string& text) {
    return Traits::decode_command(text);
  }
  static std::vector<std::uint8_t> encode_event(const event& e) { return Traits::encode(e); }
  static result<event> decode_event(const std::vector<std::uint8_t>& b) {
    return Traits::decode(b);
  }
  static std::vector<std::uint8_t> encode_state(const state& s) {
    return Traits::encode_snapshot(s);
  }
  static result<state> decode_state(const std::vector<std::uint8_t>& b) {
    return Traits::decode_snapshot(b);
  }
  static std::string encode_reply(const actors::command_reply& r) {
    return actors::encode_reply(r);
  }
  /// A reply that does not decode comes back as an `internal` error; replies have no `==`, so the
  /// kit tells it from the original by encoding it again.
  static result<actors::command_reply> decode_reply(const std::string& text) {
    return actors::decode_reply(text);
  }
};

}  // namespace hibiki::testkit
