#pragma once
/// Fills a journal with the search benchmark's chat, as the room entities would have written it:
/// each room's commands go through the room's own rules (room::decide, room::apply), the events
/// are encoded with the core codec and appended to the room's entity ("room-<id>") through the
/// journal, so the event feed carries them in commit order like a server's. Every room is created
/// with its members first; then `messages` posts, with a few edits and deletes in between.
///
/// Appends are kept in flight by the thousand so the journal group-commits them (on the embedded
/// RocksDB journal: one WriteBatch per few thousand appends).

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "corpus.hpp"
#include "hibiki/core/result.hpp"
#include "hibiki/persistence/journal.hpp"

namespace hibiki::bench::search {

struct generate_options {
  world_options world;
  /// Posted messages (edits and deletes come on top). Default: 10,000,000.
  std::uint64_t messages = 10'000'000;
  /// Of every 1,000 posts, how many are followed by an edit of a recent message. Default: 10.
  std::uint32_t edits_per_mille = 10;
  /// Of every 1,000 posts, how many are followed by a delete of a recent message. Default: 3.
  std::uint32_t deletes_per_mille = 3;
  /// Also write the read-model rows the room entity writes with each event (history,
  /// room_events, room_summary, member_rooms): the journal of a real server. The feed and the
  /// search index do not read them. Default: false.
  bool read_models = false;
  /// Appends waiting for the journal at most. Default: 16,384.
  std::size_t in_flight = 16'384;
  /// The first post's time (Unix seconds); posts are spread evenly over `span`.
  /// Default: 1,700,000,000 (November 2023).
  std::int64_t start_time = 1'700'000'000;
  /// Default: two years.
  std::chrono::seconds span{2 * 365 * 24 * 3600};
  /// The writer id stamped on every event. Default: "search-bench".
  std::string writer = "search-bench";
  /// Called after each `progress_every` posts (and at the end). Default: none.
  std::function<void(std::uint64_t posted, double seconds)> progress;
  /// Default: 1,000,000.
  std::uint64_t progress_every = 1'000'000;
};

struct generate_stats {
  std::uint32_t rooms = 0;
  std::uint32_t accounts = 0;
  std::uint64_t messages = 0;
  std::uint64_t edits = 0;
  std::uint64_t deletes = 0;
  std::uint64_t mentions = 0;  ///< posts whose event names at least one member ([To:], [rp])
  std::uint64_t events = 0;    ///< every event appended (room_created included)
  std::uint64_t body_bytes = 0;
  double seconds = 0;
};

/// Writes the chat into `journal` (which must not hold these rooms yet). Fails on the first append
/// the journal refuses, after the appends in flight have finished.
result<generate_stats> generate(persistence::journal& journal, const generate_options& options);

}  // namespace hibiki::bench::search
