#pragma once
/// The value of one journal topic record (the key is the entity id). Versioned binary, integers
/// big-endian:
///
///   u8 format (1), u8 kind,
///   kind 1 (event):     be64 seq, be32+writer, be32+payload, be32 row count,
///                       per row: u8 table, be32+key, u8 has_value, [be32+value]
///   kind 2 (delete_to): be64 to, be32+writer
///
/// (`be32+x` = be32 length, then the bytes.) Rows ride on the last event of an append, so the
/// topic alone rebuilds both the index and the read models.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "hibiki/core/read_model.hpp"
#include "hibiki/core/result.hpp"
#include "hibiki/persistence/journal.hpp"

namespace hibiki::persistence::kafka {

enum class record_kind : std::uint8_t { event = 1, delete_to = 2 };

struct journal_record {
  record_kind kind = record_kind::event;
  std::string writer;
  seq_nr seq = 0;  ///< the event's seq, or the delete_to bound
  bytes payload;   ///< events only
  std::vector<read_model::row_op> rows;

  friend bool operator==(const journal_record&, const journal_record&) = default;
};

std::string encode_record(const journal_record& r);
/// errc::internal for a truncated, trailing-garbage, unknown-version or unknown-kind record.
result<journal_record> decode_record(std::string_view value);

}  // namespace hibiki::persistence::kafka
