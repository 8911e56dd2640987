/// The search benchmark on a few thousand messages: the corpus is deterministic and shaped as
/// documented, the generator's events go through the journal into the feed, and the search
/// projection built from that feed finds the generated messages (no timing).
#include <catch2/catch.hpp>

#include <stdlib.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <set>
#include <string>

#include "corpus.hpp"
#include "feed_indexer.hpp"
#include "generator.hpp"
#include "hibiki/core/codec.hpp"
#include "hibiki/persistence/rocksdb_backend.hpp"
#include "hibiki/persistence/search_index.hpp"
#include "replay_feed.hpp"
#include "vocabulary.hpp"

using namespace hibiki;
using namespace hibiki::bench::search;

namespace {

class scratch_dir {
 public:
  scratch_dir() {
    auto pattern = (std::filesystem::temp_directory_path() / "hibiki-search-bench-XXXXXX").string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
  }
  ~scratch_dir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

/// A word of the vocabulary that `body` contains: a Japanese noun of two or more characters, or
/// an English noun standing as a word of its own.
std::string word_in(const std::string& body) {
  for (auto w : vocabulary::ja_nouns()) {
    if (w.size() >= 6 && body.find(w) != std::string::npos) return std::string(w);
  }
  for (auto w : vocabulary::en_nouns()) {
    for (auto at = body.find(w); at != std::string::npos; at = body.find(w, at + 1)) {
      const auto end = at + w.size();
      const bool starts = at == 0 || !std::isalpha(static_cast<unsigned char>(body[at - 1]));
      const bool ends = end == body.size() || !std::isalpha(static_cast<unsigned char>(body[end]));
      if (starts && ends) return std::string(w);
    }
  }
  return {};
}

}  // namespace

TEST_CASE("the corpus is the same for the same seed and differs for another") {
  const world a({.seed = 3, .rooms = 200}), b({.seed = 3, .rooms = 200}),
      c({.seed = 4, .rooms = 200});
  REQUIRE(a.accounts() == b.accounts());
  bool members_differ = false;
  for (std::uint64_t r = 1; r <= 200; ++r) {
    REQUIRE(a.members(room_id{r}) == b.members(room_id{r}));
    if (a.members(room_id{r}) != c.members(room_id{r})) members_differ = true;
  }
  CHECK(members_differ);
  const body_writer wa(a), wb(b);
  random_stream ra(11), rb(11);
  for (int i = 0; i < 50; ++i) {
    const room_id r{static_cast<std::uint64_t>(i % 200) + 1};
    const auto author = a.members(r).front();
    CHECK(wa.body(ra, r, author, 1'700'000'000, 5) == wb.body(rb, r, author, 1'700'000'000, 5));
  }
}

TEST_CASE("each account is in about rooms_per_account rooms, and room members are distinct") {
  const world w({.seed = 1, .rooms = 3000, .rooms_per_account = 100});
  std::uint64_t memberships = 0;
  for (std::uint64_t r = 1; r <= w.rooms(); ++r) {
    const auto& m = w.members(room_id{r});
    REQUIRE(m.size() >= 2);
    REQUIRE(std::set<account_id>(m.begin(), m.end()).size() == m.size());
    for (auto a : m) REQUIRE((a.value >= 1 && a.value <= w.accounts()));
    memberships += m.size();
  }
  const double per_account = static_cast<double>(memberships) / w.accounts();
  CHECK(per_account > 90);
  CHECK(per_account <= 100);
  const auto rooms = w.rooms_of(account_id{1});
  CHECK(rooms.size() > 50);
  CHECK(rooms.size() < 160);
}

TEST_CASE("generated messages reach the feed and the search index finds them") {
  scratch_dir dir;
  persistence::rocksdb_options ro;
  ro.path = (dir.path() / "data").string();
  ro.sync = false;
  auto backend = persistence::rocksdb_backend::open(ro);
  REQUIRE(backend.ok());

  generate_options o;
  o.world = {.seed = 5, .rooms = 20, .rooms_per_account = 5};
  o.messages = 2000;
  o.edits_per_mille = 20;
  o.deletes_per_mille = 10;
  auto stats = generate((*backend)->journal(), o);
  REQUIRE(stats.ok());
  CHECK(stats->messages == 2000);
  CHECK(stats->edits > 0);
  CHECK(stats->deletes > 0);
  CHECK(stats->events == stats->rooms + stats->messages + stats->edits + stats->deletes);

  // The backend's feed; a backend without one is read through the benchmark's replay of the
  // rooms (what `hibiki_search_bench index` does then, and says).
  auto feed = (*backend)->open_feed();
  const bool real_feed = feed != nullptr;
  if (!real_feed) feed = open_replay_feed((*backend)->journal(), stats->rooms, stats->events);
  auto end = feed->end_positions();
  REQUIRE(end.ok());
  if (real_feed) {
    std::int64_t feed_events = 0;
    for (const auto& [partition, offset] : *end) feed_events += offset;
    CHECK(feed_events == static_cast<std::int64_t>(stats->events));
  }

  auto index = persistence::search_index::open(dir.path() / "index");
  REQUIRE(index.ok());
  auto applied = apply_feed(*feed, **index, *end, 500);
  REQUIRE(applied.ok());
  CHECK(*applied == stats->events);
  auto documents = (*index)->document_count();
  REQUIRE(documents.ok());
  CHECK(*documents == stats->messages - stats->deletes);

  // Messages as the journal holds them: every room's posts, minus those edited or deleted since.
  const world w(o.world);
  int checked = 0;
  for (std::uint64_t r = 1; r <= w.rooms() && checked < 20; ++r) {
    std::vector<room::message_posted> posts;
    std::set<std::uint64_t> changed;
    const auto entity = entity_of(room_id{r});
    auto st = (*backend)->journal().replay(
        entity, 1, persistence::max_seq, 100'000, [&](const persistence::persisted_event& e) {
          auto decoded = codec::decode_room_event(e.payload);
          REQUIRE(decoded.ok());
          if (auto* p = std::get_if<room::message_posted>(&*decoded)) posts.push_back(*p);
          if (auto* ed = std::get_if<room::message_edited>(&*decoded)) changed.insert(ed->id.value);
          if (auto* d = std::get_if<room::message_deleted>(&*decoded)) changed.insert(d->id.value);
        });
    REQUIRE(st.ok());
    for (const auto& p : posts) {
      if (changed.count(p.id.value) != 0) continue;
      const auto word = word_in(p.body);
      if (word.empty()) continue;
      persistence::search_query q;
      q.text = word;
      q.rooms = w.rooms_of(p.author);
      q.room = room_id{r};
      q.author = p.author;
      q.after_time = p.time - 1;
      q.before_time = p.time + 1;
      q.limit = 100;
      auto answer = (*index)->search(q);
      REQUIRE(answer.ok());
      INFO("room " << r << " message " << p.id.value << " word " << word << " body " << p.body);
      CHECK(std::any_of(answer->hits.begin(), answer->hits.end(),
                        [&](const auto& h) { return h.message == p.id && h.room == room_id{r}; }));
      if (++checked % 4 == 0) break;  // a few per room, over several rooms
    }
  }
  CHECK(checked >= 20);

  // A common word over one searcher's rooms: many hits, all from those rooms.
  const account_id searcher = w.members(room_id{1}).front();
  const auto rooms = w.rooms_of(searcher);
  for (const char* word : {"確認", "meeting"}) {
    persistence::search_query q;
    q.text = word;
    q.rooms = rooms;
    q.limit = 100;
    auto answer = (*index)->search(q);
    REQUIRE(answer.ok());
    CHECK(answer->total > 0);
    for (const auto& h : answer->hits)
      CHECK(std::find(rooms.begin(), rooms.end(), h.room) != rooms.end());
  }
  feed.reset();
  (*backend)->close();
}
