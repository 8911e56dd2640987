#pragma once
/// How the embedded backend lays out its keys and values. Integers are big-endian so RocksDB's
/// bytewise order is numeric order; an entity's keys all start with `entity + '\0'`, and entity ids
/// never contain NUL, so one entity's keys are contiguous and never interleave with another's.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "hibiki/core/ids.hpp"
#include "hibiki/core/result.hpp"
#include "hibiki/persistence/journal.hpp"

namespace hibiki::persistence::storage {

/// bad_request unless `entity` is non-empty and NUL-free (the key separator).
status check_entity(const entity_id& entity);

void put_be64(std::string& out, std::uint64_t v);
std::uint64_t get_be64(std::string_view bytes);  ///< the first 8 bytes; caller checks the size

/// `entity + '\0'`: the prefix of every key of one entity.
std::string entity_prefix(const entity_id& entity);
/// `entity + '\x01'`: the first key after every key of one entity.
std::string entity_end(const entity_id& entity);
/// `entity + '\0' + be64(seq)`: journal and snapshot keys.
std::string seq_key(const entity_id& entity, seq_nr seq);
/// The seq of a `seq_key`, or nullopt when `key` is not one of `entity`'s keys.
std::optional<seq_nr> seq_of(std::string_view key, std::string_view prefix);

/// The journal value: version byte, be32 writer length, writer, payload.
std::string encode_event(std::string_view writer, const bytes& payload);
result<persisted_event> decode_event(const entity_id& entity, seq_nr seq, std::string_view value);

/// The journal_meta value of one entity.
struct entity_meta {
  seq_nr highest = 0;     ///< highest seq ever appended
  seq_nr deleted_to = 0;  ///< every seq <= this was deleted by delete_to
};
std::string encode_meta(const entity_meta& m);
result<entity_meta> decode_meta(std::string_view value);

/// The feed's key: be64 of the event's global sequence (its offset in the feed's one partition).
std::string feed_key(std::uint64_t offset);
/// The feed's value: where the event sits in the journal CF (be64 seq, then the entity id).
std::string encode_feed_pointer(const entity_id& entity, seq_nr seq);
struct feed_pointer {
  entity_id entity;
  seq_nr seq = 0;
};
result<feed_pointer> decode_feed_pointer(std::string_view value);

/// The snapshot value: version byte, be64 timestamp, data.
std::string encode_snapshot(std::int64_t timestamp_ms, const std::vector<std::uint8_t>& data);
/// The timestamp of an encoded snapshot without copying its data.
result<std::int64_t> snapshot_timestamp(std::string_view value);
result<std::vector<std::uint8_t>> snapshot_data(std::string_view value);

}  // namespace hibiki::persistence::storage
