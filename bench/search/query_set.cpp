#include "query_set.hpp"

#include "random.hpp"
#include "vocabulary.hpp"

namespace hibiki::bench::search {
namespace {

constexpr std::uint64_t query_stream = 0x5155455259ULL;  // "QUERY"

/// The head and tail of a Zipf-ordered list.
void split(std::span<const std::string_view> list, std::size_t head, std::size_t tail,
           std::vector<std::string>& common, std::vector<std::string>& rare) {
  for (std::size_t i = 0; i < head && i < list.size(); ++i) common.emplace_back(list[i]);
  for (std::size_t i = list.size() > tail ? list.size() - tail : 0; i < list.size(); ++i)
    rare.emplace_back(list[i]);
}

const std::string& any(const std::vector<std::string>& pool, random_stream& rng) {
  return pool[rng.below(pool.size())];
}

}  // namespace

const char* to_string(query_class c) {
  switch (c) {
    case query_class::one_common:
      return "1 word, common";
    case query_class::one_rare:
      return "1 word, rare";
    case query_class::two_common:
      return "2 words, common+common";
    case query_class::two_mixed:
      return "2 words, common+rare";
  }
  return "?";
}

bool is_two_term(query_class c) {
  return c == query_class::two_common || c == query_class::two_mixed;
}

term_pools query_terms() {
  term_pools p;
  split(vocabulary::ja_nouns(), 20, 60, p.ja_common, p.ja_rare);
  split(vocabulary::en_nouns(), 20, 30, p.en_common, p.en_rare);
  return p;
}

std::vector<bench_query> make_queries(const world& w, const query_set_options& options) {
  random_stream rng(w.options().seed ^ options.seed ^ query_stream);
  const auto pools = query_terms();

  std::vector<account_id> searchers;
  std::vector<std::vector<room_id>> rooms;
  for (std::size_t i = 0; i < options.searchers; ++i) {
    const account_id a{rng.between(1, w.accounts())};
    searchers.push_back(a);
    rooms.push_back(w.rooms_of(a));
  }

  // A word of the class's kind in one language: Japanese or English, half and half.
  const auto word = [&](bool common, bool japanese) -> const std::string& {
    if (japanese) return any(common ? pools.ja_common : pools.ja_rare, rng);
    return any(common ? pools.en_common : pools.en_rare, rng);
  };

  std::vector<bench_query> out;
  const std::size_t cells = query_class_count * 2;
  out.reserve(options.per_cell * cells);
  for (std::size_t i = 0; i < options.per_cell * cells; ++i) {
    const auto kind = static_cast<query_class>(i % query_class_count);
    const auto order = (i / query_class_count) % 2 == 0 ? persistence::search_order::newest
                                                        : persistence::search_order::relevance;
    const std::size_t who = i % searchers.size();
    const bool japanese = rng.chance(0.5);
    std::string text;
    switch (kind) {
      case query_class::one_common:
        text = word(true, japanese);
        break;
      case query_class::one_rare:
        text = word(false, japanese);
        break;
      case query_class::two_common:
      case query_class::two_mixed: {
        // Mostly both words in one language, as people type; a quarter mixes them.
        const bool second_japanese = rng.chance(0.75) ? japanese : !japanese;
        text = word(true, japanese);
        text += ' ';
        text += word(kind == query_class::two_common, second_japanese);
        break;
      }
    }
    bench_query q;
    q.kind = kind;
    q.searcher = searchers[who];
    q.query.text = std::move(text);
    q.query.rooms = rooms[who];
    q.query.order = order;
    q.query.limit = options.limit;
    out.push_back(std::move(q));
  }
  return out;
}

}  // namespace hibiki::bench::search
