#include "hibiki/persistence/search_index.hpp"

#include <xapian.h>

#include <algorithm>
#include <charconv>
#include <functional>
#include <limits>
#include <mutex>
#include <shared_mutex>
#include <system_error>
#include <thread>

#include "hibiki/core/codec.hpp"
#include "hibiki/core/log.hpp"
#include "hibiki/core/read_model.hpp"
#include "hibiki/core/room.hpp"
#include "plain_text.hpp"
#include "search_terms.hpp"
#include "snippet.hpp"
#include "text_terms.hpp"

namespace hibiki::persistence {

namespace {

using namespace search;

/// Idle readers kept for later queries; more may be open while many queries run at once.
constexpr std::size_t max_idle_readers = 8;
/// How many times a query is retried when the writer committed twice while it read.
constexpr int modified_retries = 3;
/// About how many bytes of the body a snippet shows.
constexpr std::size_t snippet_bytes = 160;
/// The deepest page: offset + limit may not go beyond it (deep paging costs the whole prefix).
constexpr std::size_t max_search_depth = 10000;

result<room_id> room_of(const entity_id& entity) {
  constexpr std::string_view prefix = "room-";
  if (entity.compare(0, prefix.size(), prefix) != 0) return error{errc::not_found, "not a room"};
  std::uint64_t value = 0;
  const char* first = entity.data() + prefix.size();
  const char* last = entity.data() + entity.size();
  auto [end, ec] = std::from_chars(first, last, value);
  if (ec != std::errc{} || end != last || value == 0) {
    return error{errc::bad_request, "bad room entity " + entity};
  }
  return room_id{value};
}

Xapian::Stem stemmer_for(const std::string& language) {
  return Xapian::Stem(language);  // "none" is Xapian's own name for no stemming
}

}  // namespace

/// What one query uses, never shared by two threads at once: Xapian's handles (the database, the
/// stemmer) count their references without atomics, so each reader has its own.
struct reader {
  Xapian::Database db;
  Xapian::Stem stemmer;
};

/// One part of the index: a Xapian database of the rooms whose id falls to it, written by its
/// own thread during apply() so that the terms of a batch are made on every core.
struct shard {
  std::filesystem::path dir;
  Xapian::Stem stemmer;  ///< this shard's writer's (Xapian's handles are not thread-safe)
  std::unique_ptr<Xapian::WritableDatabase> writer;
  std::vector<const feed_record*> pending;  ///< this batch's records of this shard's rooms

  Xapian::Document make_document(const stored_message& m) {
    Xapian::Document doc;
    document_terms(m.text, stemmer, [&](const std::string& term) { doc.add_term(term); });
    doc.add_boolean_term(room_term(m.room));
    doc.add_boolean_term(author_term(m.author));
    doc.add_boolean_term(message_term(m.room, m.message));
    doc.add_value(time_slot, Xapian::sortable_serialise(static_cast<double>(m.time)));
    doc.add_value(text_slot, m.text);
    doc.set_data(encode_data(m));
    return doc;
  }

  /// The message's document, when it is indexed.
  std::optional<Xapian::Document> find(room_id room, message_id message) {
    const auto term = message_term(room, message);
    auto it = writer->postlist_begin(term);
    if (it == writer->postlist_end(term)) return std::nullopt;
    return writer->get_document(*it);
  }

  void apply_one(room_id room, const feed_record& record) {
    auto type = codec::event_type(record.event.payload);
    if (!type) return;
    if (*type != "room.message_posted" && *type != "room.message_edited" &&
        *type != "room.message_deleted" && *type != "room.room_deleted") {
      return;
    }
    auto decoded = codec::decode_room_event(record.event.payload);
    if (!decoded) {
      // An event is a fact: one that cannot be read is logged and left out, not retried forever.
      log::warn("search") << "skipping undecodable event " << record.event.entity << " seq "
                          << record.event.seq << ": " << decoded.error().message;
      return;
    }
    std::visit(
        [&](const auto& e) {
          using type_t = std::decay_t<decltype(e)>;
          if constexpr (std::is_same_v<type_t, room::message_posted>) {
            stored_message m{room, e.id, e.author, e.time, plain_text(e.body)};
            writer->replace_document(message_term(room, e.id), make_document(m));
          } else if constexpr (std::is_same_v<type_t, room::message_edited>) {
            auto old = find(room, e.id);
            if (!old) return;  // deleted (or never posted): nothing to re-index
            auto m = decode_data(old->get_data());
            if (!m) return;  // the text is replaced: only the ids and time are needed
            m->text = plain_text(e.body);
            writer->replace_document(message_term(room, e.id), make_document(*m));
          } else if constexpr (std::is_same_v<type_t, room::message_deleted>) {
            writer->delete_document(message_term(room, e.id));
          } else if constexpr (std::is_same_v<type_t, room::room_deleted>) {
            writer->delete_document(room_term(room));
          }
        },
        *decoded);
  }

  /// Opens a transaction and applies `pending` in it (the error, if any, as text). commit()
  /// then writes the documents and the positions in one flushed commit: they reach the disk
  /// together, or (cancelled, or a crash before it) not at all.
  std::string apply_pending() {
    try {
      writer->begin_transaction(true);
      in_transaction = true;
      for (const auto* record : pending) apply_one(*room_of(record->event.entity), *record);
    } catch (const Xapian::Error& e) {
      return "search index: " + e.get_description();
    } catch (const std::exception& e) {
      return std::string("search index: ") + e.what();
    }
    return {};
  }

  std::string commit(const feed_positions& next) {
    try {
      writer->set_metadata(std::string(positions_key), encode_positions(next));
      writer->commit_transaction();
      in_transaction = false;
    } catch (const Xapian::Error& e) {
      return "search index: " + e.get_description();
    } catch (const std::exception& e) {
      return std::string("search index: ") + e.what();
    }
    return {};
  }

  /// Drops an open transaction (after a failure in this shard or another).
  void cancel() {
    if (!in_transaction) return;
    in_transaction = false;
    try {
      writer->cancel_transaction();
    } catch (const Xapian::Error& e) {
      log::warn("search") << "cancelling a batch in " << dir.string() << ": "
                          << e.get_description();
    }
  }

  bool in_transaction = false;
};

struct search_index::impl {
  std::filesystem::path dir;
  search_options options;
  std::vector<shard> shards;

  /// Searches hold it shared; reset holds it exclusively (it replaces the database files).
  mutable std::shared_mutex lifecycle;
  /// Passed before taking `lifecycle` shared, and held by reset() while it waits for it: glibc's
  /// rwlock prefers readers, so without this a steady stream of searches starves a reset forever.
  mutable std::mutex entry;

  /// Held by apply() around its commits, and shared by a search's last attempt: a query the
  /// writer outpaced (DatabaseModifiedError) each time so far reads once with commits held back,
  /// so a busy index slows a search down but never fails it.
  mutable std::shared_mutex commit_hold;

  std::shared_lock<std::shared_mutex> share() const {
    std::lock_guard gate(entry);
    return std::shared_lock(lifecycle);
  }
  mutable std::mutex pool_mutex;
  mutable std::vector<std::unique_ptr<reader>> idle_readers;

  /// The format written in every shard: the term rules, the language, the number of shards.
  std::string format() const {
    return std::string(format_version) + ":" + options.language + ":" +
           std::to_string(options.shards);
  }

  std::filesystem::path shard_dir(std::size_t i) const {
    return dir / ("shard-" + std::to_string(i));
  }

  shard& shard_of(room_id room) { return shards[room.value % shards.size()]; }

  /// Opens the shards; an index written in another format (older terms, another language,
  /// another number of shards, or the single database of earlier versions) is emptied first, so
  /// the projection rebuilds it from the start of the feed.
  void open_shards() {
    shards.clear();
    std::filesystem::create_directories(dir);
    bool same = !std::filesystem::exists(dir / "iamglass");  // the unsharded layout
    for (std::size_t i = 0; same && i < options.shards; ++i) {
      if (!std::filesystem::exists(shard_dir(i))) {
        same = false;
        break;
      }
      try {
        same = Xapian::Database(shard_dir(i).string()).get_metadata(std::string(format_key)) ==
               format();
      } catch (const Xapian::DatabaseOpeningError&) {
        same = false;
      }
    }
    if (!same && !std::filesystem::is_empty(dir)) {
      log::warn("search") << "index " << dir.string() << " is not in format \"" << format()
                          << "\": emptied, to be rebuilt from the feed";
      std::filesystem::remove_all(dir);
      std::filesystem::create_directories(dir);
    }
    shards.resize(options.shards);
    for (std::size_t i = 0; i < shards.size(); ++i) {
      auto& s = shards[i];
      s.dir = shard_dir(i);
      s.stemmer = stemmer_for(options.language);
      s.writer =
          std::make_unique<Xapian::WritableDatabase>(s.dir.string(), Xapian::DB_CREATE_OR_OPEN);
      if (s.writer->get_metadata(std::string(format_key)) != format()) {
        s.writer->set_metadata(std::string(format_key), format());
        s.writer->commit();
      }
    }
  }

  std::uint64_t writer_documents() const {
    std::uint64_t n = 0;
    for (const auto& s : shards) n += s.writer->get_doccount();
    return n;
  }

  std::unique_ptr<reader> take_reader() const {
    {
      std::lock_guard lock(pool_mutex);
      if (!idle_readers.empty()) {
        auto r = std::move(idle_readers.back());
        idle_readers.pop_back();
        return r;
      }
    }
    auto r = std::make_unique<reader>(reader{Xapian::Database(), stemmer_for(options.language)});
    for (std::size_t i = 0; i < options.shards; ++i) {
      r->db.add_database(Xapian::Database(shard_dir(i).string()));
    }
    return r;
  }

  void give_back(std::unique_ptr<reader> r) const {
    std::lock_guard lock(pool_mutex);
    if (idle_readers.size() < max_idle_readers) idle_readers.push_back(std::move(r));
  }

  result<search_answer> run(const search_query& q, reader& r) const;
};

search_index::search_index(std::unique_ptr<impl> impl) : impl_(std::move(impl)) {}
search_index::~search_index() = default;

result<std::unique_ptr<search_index>> search_index::open(const std::filesystem::path& dir,
                                                         search_options options) {
  auto state = std::make_unique<impl>();
  state->dir = dir;
  state->options = options;
  if (options.shards < 1 || options.shards > max_search_shards) {
    return error{errc::bad_request,
                 "search shards must be 1.." + std::to_string(max_search_shards)};
  }
  try {
    stemmer_for(options.language);
  } catch (const Xapian::Error& e) {
    return error{errc::bad_request, "unknown search language \"" + options.language +
                                        "\" (a Snowball language name, or none)"};
  }
  try {
    state->open_shards();
  } catch (const Xapian::Error& e) {
    return error{errc::unavailable,
                 "cannot open the search index in " + dir.string() + ": " + e.get_description()};
  } catch (const std::filesystem::filesystem_error& e) {
    return error{errc::unavailable,
                 "cannot open the search index in " + dir.string() + ": " + e.what()};
  }
  log::info("search") << "index " << dir.string() << " open: " << state->writer_documents()
                      << " messages in " << options.shards << " shards, language "
                      << options.language;
  return std::unique_ptr<search_index>(new search_index(std::move(state)));
}

std::string search_index::name() const {
  return "search";
}

result<feed_positions> search_index::committed() {
  // Each shard commits its own positions; after a crash between two shards' commits they
  // differ, and the index resumes from the oldest. Applying again what a shard already holds
  // leaves it as it was (a post or an edit replaces the message's document, a delete deletes
  // it), so no event counts twice and none is lost.
  try {
    std::optional<feed_positions> oldest;
    for (const auto& s : impl_->shards) {
      auto p = decode_positions(s.writer->get_metadata(std::string(positions_key)));
      if (!p) return p.error();
      if (!oldest) {
        oldest = std::move(*p);
        continue;
      }
      for (auto it = oldest->begin(); it != oldest->end();) {
        auto found = p->find(it->first);
        if (found == p->end()) {
          it = oldest->erase(it);  // that shard has nothing of this partition yet
        } else {
          it->second = std::min(it->second, found->second);
          ++it;
        }
      }
    }
    return oldest.value_or(feed_positions{});
  } catch (const Xapian::Error& e) {
    return error{errc::unavailable, "search index: " + e.get_description()};
  }
}

namespace {

/// Runs `work(i)` for every shard at once: shard 0 on the calling thread, the others on threads
/// of their own (one per shard and batch: a thread costs far less than a batch's terms).
void on_every_shard(std::size_t shards, const std::function<void(std::size_t)>& work) {
  std::vector<std::thread> threads;
  threads.reserve(shards > 0 ? shards - 1 : 0);
  for (std::size_t i = 1; i < shards; ++i) threads.emplace_back(work, i);
  work(0);
  for (auto& t : threads) t.join();
}

}  // namespace

status search_index::apply(const std::vector<feed_record>& batch, const feed_positions& next) {
  auto& shards = impl_->shards;
  for (auto& s : shards) s.pending.clear();
  for (const auto& record : batch) {
    auto room = room_of(record.event.entity);
    if (room) impl_->shard_of(*room).pending.push_back(&record);  // users, id blocks: not indexed
  }
  std::vector<std::string> errors(shards.size());
  // The documents of each shard are made and buffered by its own thread; then all commit.
  on_every_shard(shards.size(), [&](std::size_t i) { errors[i] = shards[i].apply_pending(); });
  std::string failed;
  for (const auto& e : errors) {
    if (!e.empty()) failed = e;
  }
  if (!failed.empty()) {
    for (auto& s : shards) s.cancel();
    return error{errc::unavailable, failed};
  }
  {
    std::unique_lock hold(impl_->commit_hold);
    on_every_shard(shards.size(), [&](std::size_t i) { errors[i] = shards[i].commit(next); });
  }
  for (const auto& e : errors) {
    if (!e.empty()) failed = e;
  }
  if (!failed.empty()) {
    for (auto& s : shards) s.cancel();
    return error{errc::unavailable, failed};
  }
  return {};
}

status search_index::reset() {
  std::lock_guard gate(impl_->entry);  // no new search starts while this waits (see `entry`)
  std::unique_lock lock(impl_->lifecycle);
  try {
    impl_->shards.clear();  // closes the databases and releases their locks
    {
      std::lock_guard pool(impl_->pool_mutex);
      impl_->idle_readers.clear();
    }
    std::filesystem::remove_all(impl_->dir);
    impl_->open_shards();
  } catch (const Xapian::Error& e) {
    return error{errc::unavailable, "search index reset: " + e.get_description()};
  } catch (const std::filesystem::filesystem_error& e) {
    return error{errc::unavailable, std::string("search index reset: ") + e.what()};
  }
  log::info("search") << "index " << impl_->dir.string() << " reset (emptied)";
  return {};
}

result<std::uint64_t> search_index::document_count() const {
  auto lock = impl_->share();
  try {
    auto r = impl_->take_reader();
    r->db.reopen();
    const std::uint64_t n = r->db.get_doccount();
    impl_->give_back(std::move(r));
    return n;
  } catch (const Xapian::Error& e) {
    return error{errc::unavailable, "search index: " + e.get_description()};
  }
}

result<search_answer> search_index::search(const search_query& query) const {
  auto checked = check_query(query);
  if (!checked.ok()) return checked.error();
  if (query.offset + query.limit > max_search_depth) {
    return error{errc::bad_request,
                 "offset + limit may not exceed " + std::to_string(max_search_depth)};
  }
  const bool room_allowed = !query.room || std::find(query.rooms.begin(), query.rooms.end(),
                                                     *query.room) != query.rooms.end();
  if (query.rooms.empty() || !room_allowed) return search_answer{};
  auto lock = impl_->share();
  for (int attempt = 0;; ++attempt) {
    std::shared_lock<std::shared_mutex> hold;
    if (attempt + 1 == modified_retries) hold = std::shared_lock(impl_->commit_hold);
    try {
      auto r = impl_->take_reader();
      r->db.reopen();  // the last commit
      auto answer = impl_->run(query, *r);
      impl_->give_back(std::move(r));
      return answer;
    } catch (const Xapian::DatabaseModifiedError&) {
      // The writer committed twice while this query read: read the newest commit again.
      if (attempt + 1 >= modified_retries) {
        return error{errc::unavailable, "search index busy; retry"};
      }
    } catch (const Xapian::QueryParserError& e) {
      return error{errc::bad_request, "cannot read the query: " + e.get_msg()};
    } catch (const Xapian::Error& e) {
      log::warn("search") << "query failed: " << e.get_description();
      return error{errc::unavailable, "search index: " + e.get_description()};
    } catch (const std::exception& e) {
      log::warn("search") << "query failed: " << e.what();
      return error{errc::unavailable, std::string("search index: ") + e.what()};
    }
  }
}

namespace {

class shared_projection final : public projection {
 public:
  explicit shared_projection(std::shared_ptr<search_index> index) : index_(std::move(index)) {}
  std::string name() const override { return index_->name(); }
  result<feed_positions> committed() override { return index_->committed(); }
  status apply(const std::vector<feed_record>& batch, const feed_positions& next) override {
    return index_->apply(batch, next);
  }
  status reset() override { return index_->reset(); }

 private:
  std::shared_ptr<search_index> index_;
};

}  // namespace

std::unique_ptr<projection> shared_search_projection(std::shared_ptr<search_index> index) {
  return std::make_unique<shared_projection>(std::move(index));
}

result<search_answer> search_index::impl::run(const search_query& q, reader& r) const {
  Xapian::Database& db = r.db;
  const Xapian::Stem& stemmer = r.stemmer;
  // No operators: AND, OR, NOT, quotes, brackets and * in user text are plain words or
  // separators, and every word must match.
  const auto terms = make_query_terms(q.text, stemmer);
  Xapian::Query words = to_query(terms);
  if (words.empty()) return error{errc::bad_request, "the query has no word to search for"};

  std::vector<Xapian::Query> rooms;
  if (q.room) {
    rooms.emplace_back(room_term(*q.room));
  } else {
    rooms.reserve(q.rooms.size());
    for (const auto r : q.rooms) rooms.emplace_back(room_term(r));
  }
  Xapian::Query filter(Xapian::Query::OP_OR, rooms.begin(), rooms.end());
  if (q.author) {
    filter = Xapian::Query(Xapian::Query::OP_FILTER, filter, Xapian::Query(author_term(*q.author)));
  }
  const auto time_value = [](unix_time t) {
    return Xapian::sortable_serialise(static_cast<double>(t));
  };
  constexpr auto max_time = std::numeric_limits<unix_time>::max();
  constexpr auto min_time = std::numeric_limits<unix_time>::min();
  if (q.after_time && q.before_time) {
    if (*q.after_time == max_time || *q.before_time == min_time ||
        *q.after_time + 1 > *q.before_time - 1) {
      return search_answer{};
    }
    filter =
        Xapian::Query(Xapian::Query::OP_FILTER, filter,
                      Xapian::Query(Xapian::Query::OP_VALUE_RANGE, time_slot,
                                    time_value(*q.after_time + 1), time_value(*q.before_time - 1)));
  } else if (q.after_time) {
    if (*q.after_time == max_time) return search_answer{};
    filter = Xapian::Query(
        Xapian::Query::OP_FILTER, filter,
        Xapian::Query(Xapian::Query::OP_VALUE_GE, time_slot, time_value(*q.after_time + 1)));
  } else if (q.before_time) {
    if (*q.before_time == min_time) return search_answer{};
    filter = Xapian::Query(
        Xapian::Query::OP_FILTER, filter,
        Xapian::Query(Xapian::Query::OP_VALUE_LE, time_slot, time_value(*q.before_time - 1)));
  }

  Xapian::Enquire enquire(db);
  enquire.set_query(Xapian::Query(Xapian::Query::OP_FILTER, words, filter));
  if (q.order == search_order::newest) {
    enquire.set_weighting_scheme(Xapian::BoolWeight());
    enquire.set_sort_by_value(time_slot, true);
    // Same second: the one indexed later (posted later) first.
    enquire.set_docid_order(Xapian::Enquire::DESCENDING);
  }
  const auto check_at_least =
      static_cast<Xapian::doccount>(std::max(exact_search_total, q.offset + q.limit));
  Xapian::MSet mset = enquire.get_mset(static_cast<Xapian::doccount>(q.offset),
                                       static_cast<Xapian::doccount>(q.limit), check_at_least);
  search_answer answer;
  answer.total = mset.get_matches_estimated();
  for (auto it = mset.begin(); it != mset.end(); ++it) {
    const Xapian::Document doc = it.get_document();
    auto m = decode_data(doc.get_data());
    if (!m) continue;
    search_hit hit;
    hit.room = m->room;
    hit.message = m->message;
    hit.author = m->author;
    hit.time = m->time;
    hit.snippet = make_snippet(doc.get_value(text_slot), terms, stemmer, snippet_bytes);
    answer.hits.push_back(std::move(hit));
  }
  return answer;
}

}  // namespace hibiki::persistence
