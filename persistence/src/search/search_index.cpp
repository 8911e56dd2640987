#include "hibiki/persistence/search_index.hpp"

#include <xapian.h>

#include <algorithm>
#include <charconv>
#include <limits>
#include <mutex>
#include <shared_mutex>
#include <system_error>

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

struct search_index::impl {
  std::filesystem::path dir;
  search_options options;
  Xapian::Stem stemmer;  ///< the writer's; readers have their own
  std::unique_ptr<Xapian::WritableDatabase> writer;

  /// Searches hold it shared; reset holds it exclusively (it replaces the database files).
  mutable std::shared_mutex lifecycle;
  /// Passed before taking `lifecycle` shared, and held by reset() while it waits for it: glibc's
  /// rwlock prefers readers, so without this a steady stream of searches starves a reset forever.
  mutable std::mutex entry;

  /// Held by apply() around its commit, and shared by a search's last attempt: a query the
  /// writer outpaced (DatabaseModifiedError) each time so far reads once with commits held back,
  /// so a busy index slows a search down but never fails it.
  mutable std::shared_mutex commit_hold;

  std::shared_lock<std::shared_mutex> share() const {
    std::lock_guard gate(entry);
    return std::shared_lock(lifecycle);
  }
  mutable std::mutex pool_mutex;
  mutable std::vector<std::unique_ptr<reader>> idle_readers;

  std::string format() const { return std::string(format_version) + ":" + options.language; }

  /// Opens the index; one written in another format (older terms, another language) is emptied
  /// first, so the projection rebuilds it from the start of the feed.
  void open_writer() {
    std::filesystem::create_directories(dir);
    writer = std::make_unique<Xapian::WritableDatabase>(dir.string(), Xapian::DB_CREATE_OR_OPEN);
    const auto found = writer->get_metadata(std::string(format_key));
    if (found == format()) return;
    const bool used =
        writer->get_doccount() > 0 || !writer->get_metadata(std::string(positions_key)).empty();
    if (used) {
      log::warn("search") << "index " << dir.string() << " has format \""
                          << (found.empty() ? "1" : found) << "\", this version writes \""
                          << format() << "\": emptied, to be rebuilt from the feed";
      writer.reset();
      std::filesystem::remove_all(dir);
      std::filesystem::create_directories(dir);
      writer = std::make_unique<Xapian::WritableDatabase>(dir.string(), Xapian::DB_CREATE_OR_OPEN);
    }
    writer->set_metadata(std::string(format_key), format());
    writer->commit();
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
    return std::make_unique<reader>(
        reader{Xapian::Database(dir.string()), stemmer_for(options.language)});
  }

  void give_back(std::unique_ptr<reader> r) const {
    std::lock_guard lock(pool_mutex);
    if (idle_readers.size() < max_idle_readers) idle_readers.push_back(std::move(r));
  }

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

  void apply_one(const feed_record& record) {
    auto room = room_of(record.event.entity);
    if (!room) return;  // users, id blocks: nothing to index
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
            stored_message m{*room, e.id, e.author, e.time, plain_text(e.body)};
            writer->replace_document(message_term(*room, e.id), make_document(m));
          } else if constexpr (std::is_same_v<type_t, room::message_edited>) {
            auto old = find(*room, e.id);
            if (!old) return;  // deleted (or never posted): nothing to re-index
            auto m = decode_data(old->get_data());
            if (!m) return;  // the text is replaced: only the ids and time are needed
            m->text = plain_text(e.body);
            writer->replace_document(message_term(*room, e.id), make_document(*m));
          } else if constexpr (std::is_same_v<type_t, room::message_deleted>) {
            writer->delete_document(message_term(*room, e.id));
          } else if constexpr (std::is_same_v<type_t, room::room_deleted>) {
            writer->delete_document(room_term(*room));
          }
        },
        *decoded);
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
  try {
    state->stemmer = stemmer_for(options.language);
  } catch (const Xapian::Error& e) {
    return error{errc::bad_request, "unknown search language \"" + options.language +
                                        "\" (a Snowball language name, or none)"};
  }
  try {
    state->open_writer();
  } catch (const Xapian::Error& e) {
    return error{errc::unavailable,
                 "cannot open the search index in " + dir.string() + ": " + e.get_description()};
  } catch (const std::filesystem::filesystem_error& e) {
    return error{errc::unavailable,
                 "cannot open the search index in " + dir.string() + ": " + e.what()};
  }
  log::info("search") << "index " << dir.string() << " open: " << state->writer->get_doccount()
                      << " messages, language " << options.language;
  return std::unique_ptr<search_index>(new search_index(std::move(state)));
}

std::string search_index::name() const {
  return "search";
}

result<feed_positions> search_index::committed() {
  try {
    return decode_positions(impl_->writer->get_metadata(std::string(positions_key)));
  } catch (const Xapian::Error& e) {
    return error{errc::unavailable, "search index: " + e.get_description()};
  }
}

status search_index::apply(const std::vector<feed_record>& batch, const feed_positions& next) {
  auto& db = *impl_->writer;
  try {
    // A flushed transaction: the documents and the positions reach the disk in one commit, or
    // (cancelled, or a crash before it) not at all.
    db.begin_transaction(true);
    try {
      for (const auto& record : batch) impl_->apply_one(record);
      db.set_metadata(std::string(positions_key), encode_positions(next));
      std::unique_lock hold(impl_->commit_hold);
      db.commit_transaction();
    } catch (...) {
      db.cancel_transaction();
      throw;
    }
  } catch (const Xapian::Error& e) {
    return error{errc::unavailable, "search index: " + e.get_description()};
  } catch (const std::exception& e) {
    return error{errc::unavailable, std::string("search index: ") + e.what()};
  }
  return {};
}

status search_index::reset() {
  std::lock_guard gate(impl_->entry);  // no new search starts while this waits (see `entry`)
  std::unique_lock lock(impl_->lifecycle);
  try {
    impl_->writer.reset();  // closes the database and releases its lock
    {
      std::lock_guard pool(impl_->pool_mutex);
      impl_->idle_readers.clear();
    }
    std::filesystem::remove_all(impl_->dir);
    impl_->open_writer();
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
