#pragma once
/// The search benchmark's simulated chat: who is in which room (the world), and what they write
/// (message bodies). Everything follows from a seed: the world from (seed, rooms), the messages
/// from (seed, messages), so the query benchmark rebuilds the same world without the journal.
///
/// The world: `rooms` group rooms (ids 1..rooms) of skewed sizes (half of them 2-8 people, a few
/// up to 500), members drawn uniformly from `accounts` accounts (ids 1..accounts), where
/// `accounts` is chosen so that each account is in about `rooms_per_account` rooms. Rooms and
/// accounts have log-normal activity weights: a few busy rooms and chatty people write most of the
/// messages, as in real chat.
///
/// Bodies: about 55% Japanese, 30% English, 15% mixed; most one or two sentences, some several,
/// about 2% long (tens of lines, kilobytes). Some carry Chatwork notation: `[To:id]NAMEさん`
/// mentions of room members, `[rp aid=.. to=room-message]` replies, `[info][title]..[/title]..
/// [/info]` blocks, `[qt][qtmeta aid=.. time=..]..[/qt]` quotes, `[toall]`.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "hibiki/core/ids.hpp"
#include "random.hpp"

namespace hibiki::bench::search {

struct world_options {
  /// Seeds the world and the messages. Default: 1.
  std::uint64_t seed = 1;
  /// Group rooms. Default: 10,000.
  std::uint32_t rooms = 10'000;
  /// About how many rooms each account is in (fewer when there are fewer rooms). Default: 100.
  std::uint32_t rooms_per_account = 100;
};

class world {
 public:
  explicit world(const world_options& options);

  const world_options& options() const { return options_; }
  std::uint32_t rooms() const { return static_cast<std::uint32_t>(members_.size()); }
  std::uint32_t accounts() const { return accounts_; }

  /// Room `r`'s members (r in 1..rooms()); the first one created the room.
  const std::vector<account_id>& members(room_id r) const { return members_[r.value - 1]; }
  /// The rooms account `a` is in, ascending.
  std::vector<room_id> rooms_of(account_id a) const;
  /// The account's display name ("佐藤 健太", "Alex Smith"); fixed by its id.
  std::string name_of(account_id a) const;
  /// The room's name ("営業部 定例 #12", ...).
  std::string room_name(room_id r) const;

  /// A room in proportion to its activity.
  room_id pick_room(random_stream& rng) const;
  /// A member of `r` in proportion to the members' activity.
  account_id pick_author(room_id r, random_stream& rng) const;

 private:
  world_options options_;
  std::uint32_t accounts_ = 0;
  std::vector<std::vector<account_id>> members_;
  weighted_choice room_activity_;
  std::vector<weighted_choice> author_activity_;  ///< per room, over members_[room]
};

/// Writes message bodies; one per call, from the caller's random stream.
class body_writer {
 public:
  explicit body_writer(const world& w);

  /// A body posted in room `r` by `author` at `time` (seconds). `last_message` is the room's
  /// newest message id so far (0 when none), for replies and quotes.
  std::string body(random_stream& rng, room_id r, account_id author, std::int64_t time,
                   std::uint64_t last_message) const;

  /// The probability that one draw from each word list gives its word at `rank` (for choosing
  /// common and rare query terms): the Zipf weight the writer uses.
  double ja_noun_probability(std::size_t rank) const { return ja_nouns_.probability(rank); }
  double en_noun_probability(std::size_t rank) const { return en_nouns_.probability(rank); }

 private:
  void ja_sentence(random_stream& rng, std::string& out) const;
  void en_sentence(random_stream& rng, std::string& out) const;
  void mixed_sentence(random_stream& rng, std::string& out) const;
  void sentence(random_stream& rng, int language, std::string& out) const;
  std::string_view ja_noun(random_stream& rng) const;
  std::string_view en_noun(random_stream& rng) const;

  const world& world_;
  weighted_choice ja_nouns_, en_nouns_, en_verbs_, en_adjectives_, tools_;
};

}  // namespace hibiki::bench::search
