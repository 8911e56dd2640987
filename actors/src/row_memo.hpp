#pragma once
/// Decoded read-model rows remembered by their key and text, so a row read again unchanged is not
/// decoded again. `list_rooms` and `my_status` read one room_summary row per room of the reader,
/// and every member of a room reads the same summary: decoding them was a quarter of the CPU of a
/// `my_status` over 1,000 rooms. The row is still read from the store every time (so it is never
/// stale): only the decoding is skipped, when the text is byte for byte the one decoded before.
/// Not thread-safe: one memo per thread (the readers use thread_local ones).

#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>

#include "hibiki/core/result.hpp"

namespace hibiki::actors {

template <class Row>
class row_memo {
 public:
  using decode_fn = result<Row> (*)(std::string_view text);

  /// Holds up to `capacity` rows; when full it forgets them all (a cheap bound, no LRU list).
  row_memo(std::size_t capacity, decode_fn decode) : capacity_(capacity), decode_(decode) {}

  /// The row `text` (stored under `key`) decodes to; valid until the next call. Decoding errors
  /// are returned and not remembered.
  result<const Row*> get(std::string_view key, std::string_view text) {
    auto it = rows_.find(std::string(key));
    if (it != rows_.end() && it->second.text == text) return &it->second.row;
    auto row = decode_(text);
    if (!row) return row.error();
    if (it != rows_.end()) {
      it->second = entry{std::string(text), std::move(*row)};
      return &it->second.row;
    }
    if (rows_.size() >= capacity_) rows_.clear();
    auto [added, inserted] =
        rows_.emplace(std::string(key), entry{std::string(text), std::move(*row)});
    (void)inserted;
    return &added->second.row;
  }

  std::size_t size() const { return rows_.size(); }

 private:
  struct entry {
    std::string text;
    Row row;
  };
  std::size_t capacity_;
  decode_fn decode_;
  std::unordered_map<std::string, entry> rows_;
};

}  // namespace hibiki::actors
