#pragma once
/// Reads the top-level fields of a flat JSON row (the read side's rows: an object of numbers,
/// strings and arrays of unsigned integers) straight from the text with nlohmann's SAX parser,
/// without building a document. Rows are read many times per query (`list_rooms` and `my_status`
/// read two per room of the reader), and the document's allocations were most of their cost.
/// The syntax checks are the parser's own, so a text is accepted exactly when json::parse
/// accepts it; a repeated key keeps its last value, as the document does.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace hibiki::detail {

/// One wanted top-level field as it was read.
struct flat_field {
  enum class kind : std::uint8_t {
    missing,    ///< not in the object
    unsigned_,  ///< a non-negative integer: `number`
    string,     ///< `text`
    id_array,   ///< an array of non-negative integers: `ids`
    other       ///< anything else (negative or fractional number, bool, null, object, mixed array)
  };
  kind type = kind::missing;
  std::uint64_t number = 0;
  std::string text;
  std::vector<std::uint64_t> ids;
};

/// Parses `text`; false unless it is one JSON object. Field `names[i]` is read into `out[i]`
/// (`out` has names.size() entries, reset first); the other fields are skipped.
/// Rows of the common shape (unsigned integers, ASCII strings without escapes, arrays of
/// unsigned integers) are read by a plain scan; every other text goes to nlohmann's SAX parser.
bool read_flat_object(std::string_view text, std::span<const std::string_view> names,
                      std::span<flat_field> out);

/// The same with nlohmann's SAX parser alone (for tests: both must read every text alike).
bool read_flat_object_sax(std::string_view text, std::span<const std::string_view> names,
                          std::span<flat_field> out);

}  // namespace hibiki::detail
