#pragma once
/// How the search index lays out its documents: the terms, the value slot, the stored data and
/// the metadata key of the feed positions. Private to the index; kept apart so tests can check
/// the encodings on their own.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "hibiki/core/ids.hpp"
#include "hibiki/core/result.hpp"
#include "hibiki/persistence/event_feed.hpp"
#include "hibiki/persistence/search_index.hpp"

namespace hibiki::persistence::search {

/// Boolean filter terms (prefixes as Xapian's conventions: one capital letter): the room, the
/// author, and the message's own unique term (edits and deletes find the document by it).
std::string room_term(room_id r);
std::string author_term(account_id a);
std::string message_term(room_id r, message_id m);

/// The value slot holding the send time (sortable_serialise of the Unix time): range filters
/// and the newest-first order.
inline constexpr unsigned time_slot = 0;
/// The value slot holding the body as indexed (notation removed), for the snippet. A value and
/// not the document data: Xapian deflates every document's data with zlib, values it does not.
inline constexpr unsigned text_slot = 1;

/// The metadata key of the index's format, and the format this code writes (with the stemming
/// language: terms made another way or in another language do not match this code's queries).
/// An index of another format is emptied when opened and rebuilt from the feed.
inline constexpr std::string_view format_key = "hibiki.search_format";
inline constexpr std::string_view format_version = "2";

/// The metadata key of the feed positions, committed with the documents.
inline constexpr std::string_view positions_key = "hibiki.feed_positions";

/// What a document stores to answer a query without another read: ids and time in its data,
/// the body as indexed (notation removed) in text_slot.
struct stored_message {
  room_id room;
  message_id message;
  account_id author;
  unix_time time = 0;
  std::string text;
};
/// The data: ids and time (`text` is not part of it).
std::string encode_data(const stored_message& m);
/// The ids and time of a document's data (`text` left empty).
std::optional<stored_message> decode_data(std::string_view data);

/// Positions as "partition:offset,..." (empty for none).
std::string encode_positions(const feed_positions& p);
result<feed_positions> decode_positions(std::string_view text);

/// The checks of a query's text, limit and time range (bad_request with the reason).
status check_query(const search_query& q);

}  // namespace hibiki::persistence::search
