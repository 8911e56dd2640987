#include "storage_keys.hpp"

namespace hibiki::persistence::storage {

namespace {
constexpr std::uint8_t event_format = 1;
constexpr std::uint8_t snapshot_format = 1;
constexpr std::size_t meta_size = 16;
}  // namespace

status check_entity(const entity_id& entity) {
  if (entity.empty()) return {errc::bad_request, "empty entity id"};
  if (entity.find('\0') != entity_id::npos) return {errc::bad_request, "entity id contains NUL"};
  return {};
}

void put_be64(std::string& out, std::uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((v >> shift) & 0xff));
}

std::uint64_t get_be64(std::string_view bytes) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < 8; ++i) v = (v << 8) | static_cast<std::uint8_t>(bytes[i]);
  return v;
}

std::string entity_prefix(const entity_id& entity) {
  std::string key = entity;
  key.push_back('\0');
  return key;
}

std::string entity_end(const entity_id& entity) {
  std::string key = entity;
  key.push_back('\x01');
  return key;
}

std::string seq_key(const entity_id& entity, seq_nr seq) {
  std::string key;
  key.reserve(entity.size() + 9);
  key.append(entity);
  key.push_back('\0');
  put_be64(key, seq);
  return key;
}

std::optional<seq_nr> seq_of(std::string_view key, std::string_view prefix) {
  if (key.size() != prefix.size() + 8 || key.substr(0, prefix.size()) != prefix)
    return std::nullopt;
  return get_be64(key.substr(prefix.size()));
}

std::string encode_event(std::string_view writer, const bytes& payload) {
  std::string out;
  out.reserve(5 + writer.size() + payload.size());
  out.push_back(static_cast<char>(event_format));
  const auto n = static_cast<std::uint32_t>(writer.size());
  for (int shift = 24; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((n >> shift) & 0xff));
  out.append(writer);
  out.append(reinterpret_cast<const char*>(payload.data()), payload.size());
  return out;
}

result<persisted_event> decode_event(const entity_id& entity, seq_nr seq, std::string_view value) {
  if (value.size() < 5 || static_cast<std::uint8_t>(value[0]) != event_format) {
    return error{errc::internal, "corrupt journal record for " + entity};
  }
  std::uint32_t n = 0;
  for (std::size_t i = 1; i < 5; ++i) n = (n << 8) | static_cast<std::uint8_t>(value[i]);
  if (value.size() - 5 < n) return error{errc::internal, "corrupt journal record for " + entity};
  persisted_event ev;
  ev.entity = entity;
  ev.seq = seq;
  ev.writer.assign(value.substr(5, n));
  const auto payload = value.substr(5 + n);
  ev.payload.assign(payload.begin(), payload.end());
  return ev;
}

std::string encode_meta(const entity_meta& m) {
  std::string out;
  out.reserve(meta_size);
  put_be64(out, m.highest);
  put_be64(out, m.deleted_to);
  return out;
}

result<entity_meta> decode_meta(std::string_view value) {
  if (value.size() != meta_size) return error{errc::internal, "corrupt journal meta record"};
  return entity_meta{get_be64(value), get_be64(value.substr(8))};
}

std::string feed_key(std::uint64_t offset) {
  std::string key;
  key.reserve(8);
  put_be64(key, offset);
  return key;
}

std::string encode_feed_pointer(const entity_id& entity, seq_nr seq) {
  std::string out;
  out.reserve(8 + entity.size());
  put_be64(out, seq);
  out.append(entity);
  return out;
}

result<feed_pointer> decode_feed_pointer(std::string_view value) {
  if (value.size() <= 8) return error{errc::internal, "corrupt feed record"};
  return feed_pointer{entity_id(value.substr(8)), get_be64(value)};
}

std::string encode_snapshot(std::int64_t timestamp_ms, const std::vector<std::uint8_t>& data) {
  std::string out;
  out.reserve(9 + data.size());
  out.push_back(static_cast<char>(snapshot_format));
  put_be64(out, static_cast<std::uint64_t>(timestamp_ms));
  out.append(reinterpret_cast<const char*>(data.data()), data.size());
  return out;
}

result<std::int64_t> snapshot_timestamp(std::string_view value) {
  if (value.size() < 9 || static_cast<std::uint8_t>(value[0]) != snapshot_format) {
    return error{errc::internal, "corrupt snapshot record"};
  }
  return static_cast<std::int64_t>(get_be64(value.substr(1)));
}

result<std::vector<std::uint8_t>> snapshot_data(std::string_view value) {
  if (value.size() < 9 || static_cast<std::uint8_t>(value[0]) != snapshot_format) {
    return error{errc::internal, "corrupt snapshot record"};
  }
  const auto data = value.substr(9);
  return std::vector<std::uint8_t>(data.begin(), data.end());
}

}  // namespace hibiki::persistence::storage
