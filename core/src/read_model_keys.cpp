/// Row keys of the read models: fixed-width big-endian integers, so RocksDB's bytewise order is
/// numeric order and a prefix scan over one room or one account is a contiguous range.

#include "hibiki/core/read_model.hpp"

namespace hibiki::read_model {

const char* table_name(table t) {
  switch (t) {
    case table::history:
      return "history";
    case table::room_events:
      return "room_events";
    case table::room_summary:
      return "room_summary";
    case table::member_rooms:
      return "member_rooms";
    case table::accounts:
      return "accounts";
    case table::tokens:
      return "tokens";
    case table::account_tasks:
      return "account_tasks";
    case table::contacts:
      return "contacts";
    case table::contact_requests:
      return "contact_requests";
    case table::room_files:
      return "room_files";
    case table::file_chores:
      return "file_chores";
  }
  return "unknown";
}

std::string be64(std::uint64_t v) {
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i) {
    out[static_cast<std::size_t>(i)] = static_cast<char>(v & 0xFF);
    v >>= 8;
  }
  return out;
}

std::uint64_t read_be64(std::string_view bytes) {
  // A short key is a corrupt key; 0 ("none") is the value no real row uses.
  if (bytes.size() < 8) return 0;
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(bytes[i]);
  return v;
}

std::string history_key(room_id r, message_id m) {
  return be64(r.value) + be64(m.value);
}
std::string room_event_key(room_id r, seq_nr seq) {
  return be64(r.value) + be64(seq);
}
std::string room_summary_key(room_id r) {
  return be64(r.value);
}
std::string member_room_key(account_id a, room_id r) {
  return be64(a.value) + be64(r.value);
}
std::string member_rooms_prefix(account_id a) {
  return be64(a.value);
}
std::string account_key(account_id a) {
  return be64(a.value);
}
std::string account_task_key(account_id a, room_id r, task_id t) {
  return be64(a.value) + be64(r.value) + be64(t.value);
}
std::string account_tasks_prefix(account_id a) {
  return be64(a.value);
}
std::string contact_key(account_id a, account_id other) {
  return be64(a.value) + be64(other.value);
}
std::string contacts_prefix(account_id a) {
  return be64(a.value);
}
std::string contact_request_key(account_id to, account_id from) {
  return be64(to.value) + be64(from.value);
}
std::string contact_requests_prefix(account_id to) {
  return be64(to.value);
}
std::string room_file_key(room_id r, file_id f) {
  return be64(r.value) + be64(f.value);
}
std::string room_files_prefix(room_id r) {
  return be64(r.value);
}
std::string file_chore_key(room_id r, file_id f) {
  return be64(r.value) + be64(f.value);
}

}  // namespace hibiki::read_model
