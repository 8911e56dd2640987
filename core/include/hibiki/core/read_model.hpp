#pragma once
/// The read side (CQRS): the rows that queries read, derived from events. The projection here is
/// pure; persistence writes its row operations in the same atomic batch as the events, so a client
/// reads its own writes and a row is never ahead of or behind the journal.
///
/// Tables (RocksDB column families in the embedded backend), keys big-endian so they sort:
///   history        room|message_id  → message object JSON (current version of the message)
///   room_events    room|seq         → the push frame JSON of the room event with that seq
///   room_summary   room             → room_summary JSON
///   member_rooms   account|room     → member_row JSON
///   accounts       account          → account JSON {account_id, name, chatwork_id,
///                                     organization_name, department, title, introduction
///                                     [, disabled: true]}
///   tokens         token hash       → account id (decimal); only the live token of each account
///   account_tasks  account|room|task → task object JSON (the tasks assigned to the account)
///   contacts       account|other    → {account_id: other, room_id: the pair's direct room}
///   contact_requests  to|from       → {account_id: from, message, time}: requests waiting
///   room_files     room|file        → file row: the file object plus content_type and object_key
///                                     (visible files only: uploaded, not hidden)
///   file_chores    room|file        → {room_id, file_id, status, due}: files whose object the
///                                     sweeper will remove (pending: at `due`, its expiry;
///                                     hidden: `due` is when it was hidden, plus the grace period;
///                                     expired: now)

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hibiki/core/ids.hpp"
#include "hibiki/core/result.hpp"
#include "hibiki/core/room.hpp"
#include "hibiki/core/user.hpp"

namespace hibiki::read_model {

enum class table : std::uint8_t {
  history,
  room_events,
  room_summary,
  member_rooms,
  accounts,
  tokens,
  account_tasks,
  contacts,
  contact_requests,
  room_files,
  file_chores
};
inline constexpr int table_count = 11;
const char* table_name(table t);

/// A put (value set) or a delete (value empty) of one row.
struct row_op {
  table tbl = table::history;
  std::string key;
  std::optional<std::string> value;

  friend bool operator==(const row_op&, const row_op&) = default;
};

// ---- keys --------------------------------------------------------------------------------------
std::string be64(std::uint64_t v);
std::uint64_t read_be64(std::string_view bytes);  ///< the first 8 bytes
std::string history_key(room_id r, message_id m);
std::string room_event_key(room_id r, seq_nr seq);
std::string room_summary_key(room_id r);
std::string member_room_key(account_id a, room_id r);
std::string member_rooms_prefix(account_id a);
std::string account_key(account_id a);
std::string account_task_key(account_id a, room_id r, task_id t);
std::string account_tasks_prefix(account_id a);
std::string contact_key(account_id a, account_id other);
std::string contacts_prefix(account_id a);
std::string contact_request_key(account_id to, account_id from);
std::string contact_requests_prefix(account_id to);
std::string room_file_key(room_id r, file_id f);
std::string room_files_prefix(room_id r);
std::string file_chore_key(room_id r, file_id f);

// ---- rows --------------------------------------------------------------------------------------
struct room_summary {
  room_id room;
  std::string name;
  seq_nr last_seq = 0;
  message_id last_message;
  std::vector<message_id> deleted;                ///< ascending
  room::room_type type = room::room_type::group;  ///< rows written before types read as group
  std::size_t task_num = 0;                       ///< open tasks
  /// room::last_update_time; 0 in rows written before it was kept (until the room's next event).
  unix_time last_update_time = 0;
  /// The room's icon preset; rows written before it was kept read as the default.
  std::string icon_preset{room::default_icon_preset};
  /// Visible files (room::file_num); rows written before files were counted read as 0.
  std::size_t file_num = 0;
};
struct member_row {
  room_id room;
  hibiki::role role = hibiki::role::member;
  message_id read_up_to;
  std::vector<message_id> pending_mentions;  ///< ascending
  std::size_t mytask_num = 0;                ///< open tasks assigned to the member
};
/// One entry of the `list_rooms` reply.
struct room_listing {
  room_id room;
  std::string name;
  room::room_type type = room::room_type::group;
  hibiki::role role = hibiki::role::member;
  std::size_t task_num = 0;
  std::size_t mytask_num = 0;
  std::size_t unread_num = 0;
  std::size_t mention_num = 0;
  std::size_t message_num = 0;
  seq_nr last_seq = 0;
  unix_time last_update_time = 0;
  std::string icon_preset{room::default_icon_preset};
  std::size_t file_num = 0;
};

std::string encode(const room_summary& s);
std::string encode(const member_row& m);
result<room_summary> decode_room_summary(std::string_view json);
result<member_row> decode_member_row(std::string_view json);

/// unread/mention counts computed from the two rows (the same numbers `room::unread_num` gives).
room_listing listing(const member_row& m, const room_summary& s);
/// The v1 entry {room_id, name, role, unread_num, mention_num, message_num, last_seq}; with
/// `details` (list_rooms's extension) also {type, task_num, mytask_num, file_num, icon_preset,
/// last_update_time}.
nlohmann::json to_json(const room_listing& l, bool details = false);

/// The accounts row of a user state (also what `get_profiles` shows of an account).
nlohmann::json account_row(const user::state& s);

/// The message object of the protocol: {message_id, account_id, account: {account_id, name},
/// body, send_time, update_time, deleted}. `account` is Chatwork's shape; `account_id` stays for
/// ws-protocol-v1 clients.
nlohmann::json message_object(message_id id, account_id author, std::string_view body,
                              unix_time send_time, unix_time update_time, bool deleted,
                              std::string_view author_name = {});

/// Current names for message objects, read from the accounts table: `lookup` is called once per
/// distinct author and its answer (nullopt: keep the name the object has) is remembered.
class name_refresher {
 public:
  using lookup_fn = std::function<std::optional<std::string>(account_id)>;
  explicit name_refresher(lookup_fn lookup) : lookup_(std::move(lookup)) {}
  /// Sets `message.account.name` to the author's current name.
  void refresh(nlohmann::json& message);
  /// Sets `person.name` ({account_id, name}) to the account's current name.
  void refresh_person(nlohmann::json& person);
  /// A push frame with a message object (message_created/updated) or a task object
  /// (task_added/updated): the frame with the current names, or nullopt when the frame has no
  /// such object or its names are already current.
  std::optional<std::string> refresh_frame(std::string_view frame);

 private:
  lookup_fn lookup_;
  std::map<std::uint64_t, std::optional<std::string>> known_;
};

/// The `get_room` reply's room as `viewer` (a member) sees it: {room_id, name, description, type,
/// icon_preset, role, unread_num, mention_num, message_num, member_num, file_num,
/// last_update_time, last_seq}.
nlohmann::json room_info(const room::state& s, account_id viewer);
/// `get_members`: [{account_id, role}] in account order.
nlohmann::json member_list(const room::state& s);
/// `set_members`'s reply: {admin: [ids], member: [ids], readonly: [ids]}.
nlohmann::json members_by_role(const room::state& s);

/// The task object of the protocol (Chatwork-shaped): {task_id, room_id, account: {account_id,
/// name}, assigned_by_account: {account_id, name}, message_id, body, limit_time, limit_type,
/// status, time, update_time}. The names are those the task was added with (readers replace them
/// with the current ones); message_id is "" for tasks added before tasks posted a message.
nlohmann::json task_object(room_id r, task_id id, const room::task& t);
/// `list_tasks`: the room's tasks that pass the filters, in task order.
nlohmann::json task_list(const room::state& s, const room::list_tasks& q);

/// The file object of the protocol: {file_id, account_id, message_id, filename, size,
/// upload_time}.
nlohmann::json file_object(file_id id, const room::shared_file& f);
/// The room_files row: the file object plus {content_type, object_key}, which readers use to
/// sign a download and never show.
nlohmann::json file_row(file_id id, const room::shared_file& f);

// ---- projection --------------------------------------------------------------------------------

/// The push frame (`{"ev": ...}`) of a visible room event `e`, which took the state from `before`
/// to `after` (so `after.seq` is its seq). nullopt for events clients do not see (read_marked).
std::optional<nlohmann::json> push_frame(const room::state& before, const room::event& e,
                                         const room::state& after);

/// The row operations that event `e` causes (history, room_events, room_summary, member_rows).
std::vector<row_op> project(const room::state& before, const room::event& e,
                            const room::state& after);
std::vector<row_op> project(const user::state& before, const user::event& e,
                            const user::state& after);

}  // namespace hibiki::read_model
