#pragma once
/// The queries of the search benchmark: words from the corpus's own vocabulary, common (the head
/// of its Zipf lists: in a large share of the messages) and rare (the tail: in a few per thousand
/// rooms' worth), Japanese and English, one or two words, each asked by one account over the
/// rooms it is in (about rooms_per_account of them), newest first and by relevance.

#include <cstdint>
#include <string>
#include <vector>

#include "corpus.hpp"
#include "hibiki/persistence/search_index.hpp"

namespace hibiki::bench::search {

/// What a query is made of.
enum class query_class : std::uint8_t {
  one_common,  ///< one common word
  one_rare,    ///< one rare word
  two_common,  ///< two common words
  two_mixed,   ///< a common word and a rare one
};
inline constexpr int query_class_count = 4;
const char* to_string(query_class c);
bool is_two_term(query_class c);

struct bench_query {
  query_class kind = query_class::one_common;
  account_id searcher;
  persistence::search_query query;
};

struct query_set_options {
  /// Distinct searchers (accounts), taken in turn. Default: 20.
  std::size_t searchers = 20;
  /// Queries of each class and order. Default: 200.
  std::size_t per_cell = 200;
  /// Results per query (one page). Default: 20.
  std::size_t limit = 20;
  /// Seeds the choice of searchers and words (with the world's seed). Default: 7.
  std::uint64_t seed = 7;
};

/// Every query, classes and orders interleaved (so that a slow phase of the machine does not
/// land on one class). Deterministic for (world, options).
std::vector<bench_query> make_queries(const world& w, const query_set_options& options);

/// The words the queries draw from, for the report: common and rare, per language.
struct term_pools {
  std::vector<std::string> ja_common, ja_rare, en_common, en_rare;
};
term_pools query_terms();

}  // namespace hibiki::bench::search
