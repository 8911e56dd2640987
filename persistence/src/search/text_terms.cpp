#include "text_terms.hpp"

namespace hibiki::persistence::search {

namespace {

/// The code points Xapian's own CJK n-gram tokenizer treats as CJK (ideographs, kana, hangul,
/// CJK symbols, full-width forms), so that text splits where it always did.
bool is_cjk(unsigned ch) {
  return (ch >= 0x2E80 && ch <= 0x2EFF) || (ch >= 0x3000 && ch <= 0x9FFF) ||
         (ch >= 0xA700 && ch <= 0xA71F) || (ch >= 0xAC00 && ch <= 0xD7AF) ||
         (ch >= 0xF900 && ch <= 0xFAFF) || (ch >= 0xFE30 && ch <= 0xFE4F) ||
         (ch >= 0xFF00 && ch <= 0xFFEF) || (ch >= 0x20000 && ch <= 0x2A6DF) ||
         (ch >= 0x2F800 && ch <= 0x2FA1F);
}

void append_lower(std::string& out, unsigned ch) {
  if (ch < 0x80) {
    out.push_back(static_cast<char>(ch >= 'A' && ch <= 'Z' ? ch + ('a' - 'A') : ch));
  } else {
    Xapian::Unicode::append_utf8(out, Xapian::Unicode::tolower(ch));
  }
}

bool is_word_char(unsigned ch) {
  if (ch < 0x80) {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '_';
  }
  return Xapian::Unicode::is_wordchar(ch);
}

}  // namespace

void split_text(std::string_view text, const Xapian::Stem& stemmer,
                const std::function<void(const text_piece&)>& each, bool keep_long_words) {
  text_piece piece;
  std::string word;
  const char* const base = text.data();
  Xapian::Utf8Iterator it(text.data(), text.size());
  const Xapian::Utf8Iterator end;
  const auto offset = [&](const Xapian::Utf8Iterator& at) {
    return at == end ? text.size() : static_cast<std::size_t>(at.raw() - base);
  };
  while (it != end) {
    const unsigned ch = *it;
    if (!is_word_char(ch)) {
      ++it;
      continue;
    }
    piece.begin = offset(it);
    piece.cjk = is_cjk(ch);
    if (piece.cjk) {
      piece.term.clear();
      piece.char_offsets.clear();
      piece.char_begins.clear();
      while (it != end && is_word_char(*it) && is_cjk(*it)) {
        piece.char_offsets.push_back(piece.term.size());
        piece.char_begins.push_back(offset(it));
        append_lower(piece.term, *it);
        ++it;
      }
      piece.end = offset(it);
      piece.char_offsets.push_back(piece.term.size());
      piece.char_begins.push_back(piece.end);
      each(piece);
    } else {
      word.clear();
      while (it != end && is_word_char(*it) && !is_cjk(*it)) {
        append_lower(word, *it);
        ++it;
      }
      piece.end = offset(it);
      if (word.size() > max_word_bytes) {
        if (!keep_long_words) continue;
        piece.term = word;
      } else {
        piece.term = stemmer(word);
      }
      if (piece.term.empty()) continue;
      each(piece);
    }
  }
}

void document_terms(std::string_view text, const Xapian::Stem& stemmer,
                    const std::function<void(const std::string&)>& add) {
  std::string term;
  split_text(text, stemmer, [&](const text_piece& p) {
    if (!p.cjk) {
      add(p.term);
      return;
    }
    const std::size_t n = p.chars();
    for (std::size_t i = 0; i + 1 < n; ++i) {
      term.assign(p.run_chars(i, 2));
      add(term);
    }
    term.assign(p.run_chars(n - 1, 1));
    add(term);
  });
}

query_terms make_query_terms(std::string_view text, const Xapian::Stem& stemmer) {
  query_terms out;
  split_text(
      text, stemmer,
      [&](const text_piece& p) {
        if (!p.cjk) {
          out.exact.push_back(p.term);
          return;
        }
        const std::size_t n = p.chars();
        if (n == 1) {
          out.prefixes.emplace_back(p.run_chars(0, 1));
          return;
        }
        // All pairs: a message with every pair has every character too.
        for (std::size_t i = 0; i + 1 < n; ++i) out.exact.emplace_back(p.run_chars(i, 2));
      },
      true);
  return out;
}

Xapian::Query to_query(const query_terms& terms) {
  std::vector<Xapian::Query> parts;
  parts.reserve(terms.exact.size() + terms.prefixes.size());
  for (const auto& t : terms.exact) parts.emplace_back(t);
  for (const auto& p : terms.prefixes) parts.emplace_back(Xapian::Query::OP_WILDCARD, p);
  if (parts.empty()) return Xapian::Query();
  return Xapian::Query(Xapian::Query::OP_AND, parts.begin(), parts.end());
}

}  // namespace hibiki::persistence::search
