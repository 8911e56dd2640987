#pragma once
/// XMPP over WebSocket (RFC 7395) for the load generator: the client stanzas it sends, built as
/// text, and the server frames it receives, parsed with expat and classified into the few events
/// the load run acts on. Each WebSocket message carries exactly one complete XML element
/// (RFC 7395 section 3.3.3), so every frame is parsed on its own.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hibiki::bench::xmpp {

/// One parsed element: its name as written (a prefix such as `stream:` kept), its attributes in
/// document order, its child elements and its character data (children's text excluded).
struct element {
  std::string name;
  std::vector<std::pair<std::string, std::string>> attributes;
  std::vector<element> children;
  std::string text;

  /// The name without a namespace prefix (`stream:features` -> `features`).
  std::string_view local_name() const;
  /// The attribute's value; nothing when absent.
  std::optional<std::string_view> attribute(std::string_view key) const;
  /// The first child whose local name is `local`; nullptr when none.
  const element* child(std::string_view local) const;
};

/// A frame parsed into one element, or why it could not be (`error` is then non-empty and says
/// what was wrong and where, e.g. "not well-formed XML at column 12: mismatched tag").
struct parse_result {
  std::optional<element> root;
  std::string error;
};

/// Parses one WebSocket text frame. An empty frame, text that is not well-formed XML, or more
/// than one top-level element is an error.
parse_result parse_frame(std::string_view frame);

/// What a received frame means to the load client.
enum class event_kind {
  stream_open,      ///< <open/>: the server's stream header
  stream_features,  ///< <stream:features/>
  stream_close,     ///< <close/>: the server ends the stream
  stream_error,     ///< <stream:error/>: condition in `condition`
  sasl_success,
  sasl_failure,    ///< condition in `condition`
  iq_result,       ///< id in `id`; a bound JID in `text` for the bind result
  iq_error,        ///< id, condition
  presence,        ///< from in `from`; MUC status codes in `status_codes`
  presence_error,  ///< from, condition
  groupchat,       ///< from (room@service/nick), id, body in `text`
  message_error,   ///< id, condition
  other,           ///< anything else well-formed (subject changes, headlines, ...): ignored
};

struct event {
  event_kind kind = event_kind::other;
  std::string id;
  std::string from;
  std::string condition;  ///< for errors: the defined condition element's name
  std::string text;
  std::vector<int> status_codes;
};

/// Classifies a parsed frame. A stanza the load run relies on that lacks what it needs (an iq
/// without id, a groupchat message without from or body, an error without a condition) is an
/// error with a message saying so, not an event.
struct classify_result {
  std::optional<event> value;
  std::string error;
};
classify_result classify(const element& root);

/// parse_frame then classify; the error of whichever step failed.
classify_result read_frame(std::string_view frame);

/// Splits `room@service/nick` into the room's bare JID and the nick; nothing when there is no
/// resource part.
std::optional<std::pair<std::string_view, std::string_view>> split_occupant(std::string_view jid);

/// `&`, `<`, `>`, `"` and `'` as entities, for attribute values and character data.
std::string escape(std::string_view text);
/// Standard base64 with padding (SASL payloads).
std::string base64(std::string_view bytes);

// ---- client frames ------------------------------------------------------------------------------
std::string open_stream(std::string_view domain);
std::string close_stream();
/// In-band registration (XEP-0077) of `user` with `password`, iq id `id`.
std::string register_account(std::string_view id, std::string_view user, std::string_view password);
/// SASL PLAIN (RFC 4616) with an empty authorization identity.
std::string auth_plain(std::string_view user, std::string_view password);
std::string bind_resource(std::string_view id, std::string_view resource);
/// Joins a MUC room (`room_jid` is room@service) under `nick`, asking for no history.
std::string join_room(std::string_view room_jid, std::string_view nick);
/// The owner's submission of the default configuration: unlocks a room the join just created
/// (an "instant room", XEP-0045 section 10.1.2).
std::string instant_room(std::string_view id, std::string_view room_jid);
std::string groupchat(std::string_view room_jid, std::string_view id, std::string_view body);

}  // namespace hibiki::bench::xmpp
