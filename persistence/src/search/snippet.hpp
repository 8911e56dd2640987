#pragma once
/// The snippet of a search hit: a part of the body around the first match, HTML-escaped, with
/// the matches marked by the same term rules the index uses (text_terms.hpp), so a stemmed word
/// ("meetings" for "meeting") or a CJK pair is marked where it was found.
#include <string>
#include <string_view>

#include "text_terms.hpp"

namespace hibiki::persistence::search {

/// About `bytes` of `text` (cut at character boundaries, "…" where cut), `&<>"'` escaped as
/// entities, each match between `<mark>` and `</mark>`.
std::string make_snippet(std::string_view text, const query_terms& terms,
                         const Xapian::Stem& stemmer, std::size_t bytes);

}  // namespace hibiki::persistence::search
