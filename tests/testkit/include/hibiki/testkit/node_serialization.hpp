#pragma once
/// The serialization the entity kit checks values against (entity_kit.hpp), as the nodes use it
/// today: events and states in core's codec (the journal's and the snapshot store's bytes),
/// replies as the remote_reply a node answers a forwarded command with (cluster_wire.hpp:
/// to_wire / from_wire; its fields go as MessagePack), commands as core's command codec (JSON
/// text). The typed commands a node forwards (remote_command) are CAF-inspected field by field;
/// a Serialization through caf::binary_serializer can replace this one.
/// Another serialization plugs in as a struct with the same static members; decoders answer
/// `result<T>` (an error when the bytes do not decode).

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cluster_wire.hpp"
#include "hibiki/core/result.hpp"
#include "messages.hpp"

namespace hibiki::testkit {

/// Bytes or text for a failure message: text as it is, bytes in hex; long ones cut.
std::string printable(std::string_view text);
std::string printable(std::span<const std::uint8_t> bytes);

/// A reply as the nodes send it (remote_reply), as a value the kit can compare and print.
struct wire_reply {
  std::uint8_t code = 0;
  std::string message;
  std::vector<std::uint8_t> fields;
  std::vector<std::string> then;
  friend bool operator==(const wire_reply&, const wire_reply&) = default;
};
std::string printable(const wire_reply& reply);

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
  static wire_reply encode_reply(const actors::command_reply& r) {
    auto w = actors::to_wire(r);
    return wire_reply{w.code, std::move(w.message), std::move(w.fields), std::move(w.then)};
  }
  /// A reply that does not decode comes back as an `internal` error; replies have no `==`, so the
  /// kit tells it from the original by encoding it again.
  static result<actors::command_reply> decode_reply(const wire_reply& w) {
    actors::remote_reply r;
    r.code = w.code;
    r.message = w.message;
    r.fields = w.fields;
    r.then = w.then;
    return actors::from_wire(r);
  }
};

}  // namespace hibiki::testkit
