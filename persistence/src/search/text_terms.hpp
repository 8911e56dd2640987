#pragma once
/// The terms of a message body and of a query, made here rather than by Xapian's TermGenerator
/// and QueryParser so that each piece of text yields as few terms as the matching needs (the
/// indexing cost grows with the terms per message):
/// - a Latin-script (non-CJK) word: lower-cased and stemmed, one term (no unstemmed twin);
/// - a run of CJK characters: each overlapping pair of characters, plus the run's last character
///   alone. A one-character query then finds every occurrence of its character: as the first of
///   a pair (a prefix of the pair terms) or as a run's last character (its own term).
/// The snippet marks matches with the same rules, so highlights agree with what was found.
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <xapian.h>

namespace hibiki::persistence::search {

/// Words longer than this many bytes are left out (as Xapian's TermGenerator does by default).
inline constexpr std::size_t max_word_bytes = 64;

/// One piece of text: a word, or a run of CJK characters (byte range in the text it came from).
struct text_piece {
  std::size_t begin = 0;
  std::size_t end = 0;
  bool cjk = false;
  /// A word: its term (lower-cased, stemmed). A CJK run: its characters, lower-cased.
  std::string term;
  /// A CJK run: where each character starts in `term`, then term.size() (one more than the
  /// characters), and where each starts in the text, then `end`.
  std::vector<std::size_t> char_offsets;
  std::vector<std::size_t> char_begins;
  std::size_t chars() const { return char_offsets.empty() ? 0 : char_offsets.size() - 1; }
  /// A CJK run: `n` characters from the i-th, as a term.
  std::string_view run_chars(std::size_t i, std::size_t n) const {
    return std::string_view(term).substr(char_offsets[i], char_offsets[i + n] - char_offsets[i]);
  }
};

/// Splits `text` (valid UTF-8 or not: bad bytes separate words) into words and CJK runs. Words
/// over max_word_bytes are skipped unless `keep_long_words` (a query keeps them, unstemmed, so
/// that it finds nothing rather than less than it asked for).
void split_text(std::string_view text, const Xapian::Stem& stemmer,
                const std::function<void(const text_piece&)>& each, bool keep_long_words = false);

/// Calls `add` with each term to index for `text` (a term may come more than once: its count).
void document_terms(std::string_view text, const Xapian::Stem& stemmer,
                    const std::function<void(const std::string&)>& add);

/// What a query looks for: every one of `exact` and, for each of `prefixes`, some term that
/// starts with it (one-character CJK queries).
struct query_terms {
  std::vector<std::string> exact;
  std::vector<std::string> prefixes;
  bool empty() const { return exact.empty() && prefixes.empty(); }
};
query_terms make_query_terms(std::string_view text, const Xapian::Stem& stemmer);

/// The Xapian query of all the terms (AND); empty when there is none.
Xapian::Query to_query(const query_terms& terms);

}  // namespace hibiki::persistence::search
