#pragma once
/// Full-text search over room messages: a Xapian index kept by the event feed (a projection named
/// "search"). Message bodies are indexed without their Chatwork notation, Japanese and other CJK
/// text as character n-grams (so words need no spaces), Latin text stemmed when a language is
/// set. The feed positions are stored in the index and committed with the documents, so after a
/// crash the index resumes exactly where its last commit ends (no event applied twice or lost).
///
/// The index knows no membership: every query names the rooms it may look in (the searcher's
/// rooms now, from the read model), so a room the searcher left is never searched.
///
/// Thread-safety: apply/reset/committed are called by one thread (the projection runner);
/// search() may be called from any number of threads at the same time, also during apply. A
/// search sees the last committed batch.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hibiki/core/ids.hpp"
#include "hibiki/core/result.hpp"
#include "hibiki/persistence/projection.hpp"

namespace hibiki::persistence {

struct search_options {
  /// The stemming language of Latin-script words: a Snowball name Xapian knows ("english",
  /// "german", ...), or "none" for no stemming. CJK text is n-grammed whatever this says.
  /// An index of another language is emptied when opened (to be rebuilt). Default: "english"
  std::string language = "english";
  /// How many parts the index is split into, by room id: each batch's documents are made and
  /// committed by one thread per shard (a machine's cores all index), and a query reads all of
  /// them as one. 1..max_search_shards; changing it needs a rebuild (done when the index is
  /// opened). Default: 2
  std::size_t shards = 2;
};

/// The most shards an index may have.
inline constexpr std::size_t max_search_shards = 16;

/// The longest query text accepted, in Unicode code points (a longer one is bad_request).
inline constexpr std::size_t max_search_query_chars = 500;
/// The most results one query returns.
inline constexpr std::size_t max_search_limit = 100;
/// Totals up to this many matches are exact; above it `total` is Xapian's estimate.
inline constexpr std::size_t exact_search_total = 1000;

enum class search_order : std::uint8_t {
  newest,     ///< by send time, newest first
  relevance,  ///< best match first (BM25)
};

struct search_query {
  /// Words to find (all of them must match; no operators). Valid UTF-8, 1..max_search_query_chars.
  std::string text;
  /// The rooms searched: the searcher's rooms now. Empty → no results.
  std::vector<room_id> rooms;
  /// Only this room (also has to be in `rooms`). Default: all of `rooms`
  std::optional<room_id> room{};
  /// Only messages by this account. Default: any author
  std::optional<account_id> author{};
  /// Only messages sent strictly after this Unix time. Default: no lower bound
  std::optional<unix_time> after_time{};
  /// Only messages sent strictly before this Unix time. Default: no upper bound
  std::optional<unix_time> before_time{};
  /// Default: newest
  search_order order = search_order::newest;
  /// 1..max_search_limit. Default: 20
  std::size_t limit = 20;
  /// Results to skip (paging). Default: 0
  std::size_t offset = 0;
};

struct search_hit {
  room_id room;
  message_id message;
  account_id author;
  unix_time time = 0;  ///< when the message was sent
  /// A part of the body (notation removed) around the matches. HTML-escaped (&amp; &lt; &gt;
  /// &quot; &#39;), with each match between "<mark>" and "</mark>", and "…" where text was cut.
  std::string snippet;
};

struct search_answer {
  /// Matching messages in all pages: exact up to exact_search_total, an estimate above.
  std::uint64_t total = 0;
  std::vector<search_hit> hits;  ///< the requested page, in the requested order
};

class search_index final : public projection {
 public:
  /// Opens (creating when missing) the index in `dir`. Errors: unavailable (cannot open or lock
  /// it, e.g. another process has it), bad_request (an unknown language).
  static result<std::unique_ptr<search_index>> open(const std::filesystem::path& dir,
                                                    search_options options = {});
  ~search_index() override;
  search_index(const search_index&) = delete;
  search_index& operator=(const search_index&) = delete;

  std::string name() const override;
  result<feed_positions> committed() override;
  /// Indexes room messages: posted → added, edited → replaced, deleted → removed, room deleted →
  /// all its messages removed. Other events and other entities are skipped.
  status apply(const std::vector<feed_record>& batch, const feed_positions& next) override;
  /// Deletes the whole index directory and starts an empty index there.
  status reset() override;

  /// Runs a query. Errors: bad_request (empty, too long, not UTF-8, no searchable word, limit
  /// out of range), unavailable (index failure).
  result<search_answer> search(const search_query& query) const;

  /// Documents (messages) in the last committed state of the index.
  result<std::uint64_t> document_count() const;

 private:
  struct impl;
  explicit search_index(std::unique_ptr<impl> impl);
  std::unique_ptr<impl> impl_;
};

/// A projection that forwards every call to `index`: what a registry that owns the projections
/// it runs (projections.hpp) is given, while the node's queries share the same index.
std::unique_ptr<projection> shared_search_projection(std::shared_ptr<search_index> index);

}  // namespace hibiki::persistence
