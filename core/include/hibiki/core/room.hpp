#pragma once
/// The room aggregate: commands, events, state, and the two pure functions that are the whole of
/// the room's rules. `decide` checks a command against the state and says which events it causes;
/// `apply` folds one event into the state. The actor around it (actors/room_entity) only
/// persists, replies and pushes; every rule of the protocol that concerns a room lives here.

#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

#include "hibiki/core/ids.hpp"
#include "hibiki/core/result.hpp"
#include "hibiki/core/role.hpp"
#include "hibiki/core/room_file.hpp"
#include "hibiki/core/room_webhook.hpp"

namespace hibiki::room {

// ---- limits -----------------------------------------------------------------------------------

/// Chatwork's limit: a body is 1 to 65,535 characters (Unicode code points).
inline constexpr std::size_t max_body_chars = 65535;
inline constexpr std::size_t max_name_chars = 255;
inline constexpr std::size_t max_description_chars = 10000;
inline constexpr std::size_t max_client_msg_id = 64;
/// Accounts named in one create_room / add_members.
inline constexpr std::size_t max_members_per_command = 1000;
/// Assignees of one add_task (one task each).
inline constexpr std::size_t max_task_assignees = 100;
/// How many recent (account, client_msg_id) pairs a room remembers for idempotent retries.
inline constexpr std::size_t dedupe_window = 10000;

// ---- room types --------------------------------------------------------------------------------

/// What kind of chat a room is, as in Chatwork. `group` rooms are the ones clients create; a `my`
/// chat (the owner alone, one per account) and a `direct` chat (exactly two accounts, one per
/// pair) are made by the server for people and contacts, and their membership never changes:
/// nobody is added, removed or leaves, no role changes, and they are not renamed or deleted.
enum class room_type : std::uint8_t { group, my, direct };

std::string_view to_string(room_type t);
std::optional<room_type> parse_room_type(std::string_view text);

// ---- commands (what a client asks for; `actor` is the authenticated account) -------------------

/// Creates a room. Clients create `group` rooms only (the protocol has no way to ask for another
/// type); the server creates a `my` room with no other `members` (the owner is the actor) and a
/// `direct` room with exactly one other member (both become admins). For `my` and `direct` the
/// name may be empty: clients show the other person's name.
struct create_room {
  account_id actor;
  room_id room;
  std::string name;
  std::string description;
  std::vector<account_id> members;  ///< besides the creator, who becomes admin
  unix_time now = 0;
  room_type type = room_type::group;
};
struct add_members {
  account_id actor;
  std::vector<account_id> accounts;
  hibiki::role role = hibiki::role::member;
};
struct remove_member {
  account_id actor;
  account_id account;
};
struct leave_room {
  account_id actor;
};
/// `author_name` is the actor's display name as its session knows it (not the client's word):
/// it goes into the event so the message object of the push carries a name without asking
/// another entity. Readers of history and sync replace it with the current name.
struct send_message {
  account_id actor;
  std::string body;
  std::string client_msg_id;
  unix_time now = 0;
  /// Chatwork's self_unread: the author's read cursor stays before the new message.
  bool self_unread = false;
  std::string author_name{};
};
struct edit_message {
  account_id actor;
  message_id message;
  std::string body;
  unix_time now = 0;
  std::string author_name{};
};
struct delete_message {
  account_id actor;
  message_id message;
  unix_time now = 0;
};
struct mark_read {
  account_id actor;
  message_id message;
};
/// Marks the room unread from `message` on: the read cursor moves back to just before it.
struct mark_unread {
  account_id actor;
  message_id message;
};

// ---- tasks --------------------------------------------------------------------------------------

enum class task_status : std::uint8_t { open, done };
/// How a task's limit reads: no limit, a day, or a moment (Chatwork's limit_type).
enum class limit_type : std::uint8_t { none, date, time };
std::string_view to_string(task_status s);
std::optional<task_status> parse_task_status(std::string_view text);
std::string_view to_string(limit_type t);
std::optional<limit_type> parse_limit_type(std::string_view text);

/// Creates one task per assignee (members of the room; read-only members cannot assign). A
/// `limit` (Unix time) goes with limit_type date or time; limit_type none has no limit. As in
/// Chatwork, adding tasks also posts one message to the room (by the actor) that shows them;
/// every task made by the command refers to it.
struct add_task {
  account_id actor;
  std::vector<account_id> assignees;
  std::string body;
  unix_time limit = 0;
  room::limit_type limit_type = room::limit_type::none;
  unix_time now = 0;
  /// The actor's name and the assignees' names as the session read them (not the client's
  /// word), for the pushes; a name not given is "".
  std::string author_name{};
  std::map<account_id, std::string> names{};
};
/// Marks a task done or open again: its assignee or its creator only.
struct set_task_status {
  account_id actor;
  task_id task;
  task_status status = task_status::done;
  unix_time now = 0;
};
/// One task (members only). A query.
struct get_task {
  account_id actor;
  task_id task;
};
/// The room's tasks, filtered (members only). A query.
struct list_tasks {
  account_id actor;
  std::optional<account_id> assignee;
  std::optional<account_id> assigned_by;
  std::optional<task_status> status;
};

/// The room as Chatwork's "get room" shows it. A query: the room answers from its state and
/// records nothing (members only).
struct get_room {
  account_id actor;
};
/// The members with their roles (members only). A query, like get_room.
struct get_members {
  account_id actor;
};
/// Changes the name, description and/or icon preset (admins only; unset fields stay).
struct update_room {
  account_id actor;
  std::optional<std::string> name;
  std::optional<std::string> description;
  std::optional<std::string> icon_preset;
  unix_time now = 0;
};
/// Deletes the room (admins only; group rooms only). Its messages and tasks vanish from every
/// read; its events stay in the journal.
struct delete_room {
  account_id actor;
  unix_time now = 0;
};
/// Replaces the member lists at once, as Chatwork's `PUT /rooms/{id}/members`: the accounts
/// listed get those roles, members not listed are removed. At least one admin.
struct set_members {
  account_id actor;
  std::vector<account_id> admins;
  std::vector<account_id> members;
  std::vector<account_id> readonly;
};

using command =
    std::variant<create_room, add_members, remove_member, leave_room, send_message, edit_message,
                 delete_message, mark_read, get_room, get_members, update_room, delete_room,
                 set_members, add_task, set_task_status, get_task, list_tasks, mark_unread,
                 request_upload, check_upload, complete_upload, retire_file, forget_file,
                 create_webhook, list_webhooks, delete_webhook>;

/// Chatwork's icon presets; a room starts with "group".
bool is_icon_preset(std::string_view name);
inline constexpr std::string_view default_icon_preset = "group";

// ---- events (what happened; persisted in the journal) ------------------------------------------

struct room_created {
  room_id room;
  std::string name;
  std::string description;
  account_id creator;
  /// Initial members other than the creator: role member (admin in a direct room).
  std::vector<account_id> members;
  unix_time time = 0;
  /// Version 2 of the event. Version 1 rooms were all `group`.
  room_type type = room_type::group;
};
/// Also used to change the role of an existing member.
struct member_added {
  account_id account;
  hibiki::role role = hibiki::role::member;
  account_id by;
};
struct member_removed {
  account_id account;
  account_id by;  ///< equals `account` when the member left
};
struct message_posted {
  message_id id;
  account_id author;
  std::string body;
  std::string client_msg_id;
  unix_time time = 0;
  std::vector<account_id> mentions;  ///< `[To:id]` tags in the body, members only, no duplicates
  std::string author_name{};         ///< the author's name when posting ("" before version 2)
};
struct message_edited {
  message_id id;
  std::string body;
  unix_time time = 0;
  std::vector<account_id> mentions;
  std::string author_name{};  ///< the author's name when editing ("" before version 2)
};
struct message_deleted {
  message_id id;
  unix_time time = 0;
};
/// A member's read cursor moved forward. Not a "room event" of the protocol: it takes no `seq`.
struct read_marked {
  account_id account;
  message_id up_to;
};

/// The name, description and icon preset after an update (all three, changed or not).
struct room_updated {
  std::string name;
  std::string description;
  std::string icon_preset;
  account_id by;
  unix_time time = 0;
};
/// An admin deleted the room: nobody is a member any more and every command is not_found.
struct room_deleted {
  account_id by;
  unix_time time = 0;
};

/// One task, assigned to one member. Tasks of a member who leaves (or is removed) go with them.
struct task_added {
  task_id id;
  account_id assignee;
  account_id by;
  std::string body;
  unix_time limit = 0;
  room::limit_type limit_type = room::limit_type::none;
  unix_time time = 0;
  /// Version 2: the message that shows the task (0 before), and the names of the assignee and
  /// of the creator when it was added ("" before).
  message_id message{};
  std::string assignee_name{};
  std::string by_name{};
};
struct task_status_changed {
  task_id id;
  task_status status = task_status::done;
  account_id by;
  unix_time time = 0;
};

/// A member's read cursor moved back (mark_unread, or a send with self_unread): everything after
/// `up_to` is unread again. Not a room event of the protocol (no `seq`), like read_marked.
struct unread_marked {
  account_id account;
  message_id up_to;
};

using event =
    std::variant<room_created, member_added, member_removed, message_posted, message_edited,
                 message_deleted, read_marked, room_updated, room_deleted, task_added,
                 task_status_changed, unread_marked, upload_requested, file_uploaded,
                 upload_expired, file_removed, webhook_created, webhook_deleted>;

/// True for events that clients see as room events with a `seq` (all but read_marked,
/// unread_marked, upload_requested, upload_expired, file_removed and the webhook events).
bool is_visible(const event& e);

// ---- state -------------------------------------------------------------------------------------

struct member_state {
  hibiki::role role = hibiki::role::member;
  message_id read_up_to;                     ///< every message up to this one is read
  std::vector<message_id> pending_mentions;  ///< unread messages mentioning this member, ascending

  friend bool operator==(const member_state&, const member_state&) = default;
};

/// What the room keeps of each message: enough to authorize edits and deletes and to build the
/// message object of a push. Bodies live in the history read model, not in memory.
struct message_meta {
  account_id author;
  unix_time send_time = 0;
  unix_time update_time = 0;
  bool deleted = false;

  friend bool operator==(const message_meta&, const message_meta&) = default;
};

struct task {
  account_id assignee;
  account_id by;
  std::string body;
  unix_time limit = 0;
  room::limit_type limit_type = room::limit_type::none;
  task_status status = task_status::open;
  unix_time time = 0;           ///< when it was added
  unix_time update_time = 0;    ///< when its status last changed (0 = never)
  message_id message{};         ///< the message that shows it (0: added before tasks had one)
  std::string assignee_name{};  ///< names when it was added (pushes; reads use current names)
  std::string by_name{};

  friend bool operator==(const task&, const task&) = default;
};

struct sent_receipt {
  message_id id;
  seq_nr seq = 0;

  friend bool operator==(const sent_receipt&, const sent_receipt&) = default;
};

struct state {
  room_id id;
  bool created = false;
  room_type type = room_type::group;
  bool removed = false;  ///< deleted by an admin (room_deleted)
  std::string name;
  std::string description;
  std::string icon_preset{default_icon_preset};
  unix_time created_at = 0;
  std::map<account_id, member_state> members;
  std::vector<message_meta> messages;  ///< index = message_id - 1
  std::vector<message_id> deleted;     ///< ascending
  seq_nr seq = 0;                      ///< the protocol seq of the last visible event
  std::map<task_id, task> tasks;       ///< tasks of current members only
  task_id last_task;                   ///< ids are never reused, even after tasks go
  /// Who each message mentions (messages with mentions only), so that marking a room unread
  /// brings its mentions back. Snapshots from before it have none for older messages.
  std::map<message_id, std::vector<account_id>> mentions;
  /// Shared files: pending uploads, visible files, and hidden ones whose object is not removed yet.
  std::map<file_id, shared_file> files;
  file_id last_file;  ///< ids are never reused
  /// Webhook settings (room_webhook.hpp); a deleted room has none.
  std::map<webhook_id, webhook_setting> webhooks;
  webhook_id last_webhook;  ///< ids are never reused
  /// Derived from `tasks` (not in snapshots): open tasks per assignee.
  std::map<account_id, std::size_t> open_tasks;
  /// Idempotency window: key "account:client_msg_id" → first reply. `dedupe_order` evicts oldest.
  std::unordered_map<std::string, sent_receipt> dedupe;
  std::deque<std::string> dedupe_order;

  message_id last_message() const { return message_id{messages.size()}; }
  const member_state* member(account_id a) const;

  friend bool operator==(const state&, const state&) = default;
};

// ---- the rules ---------------------------------------------------------------------------------

struct decision {
  std::vector<event> events;
  /// Set when a send_message repeated a client_msg_id already in the window: reply with this and
  /// persist nothing.
  std::optional<sent_receipt> duplicate_of;
};

/// Checks `cmd` against `s`. Errors: forbidden, not_found, bad_request, too_large, conflict.
result<decision> decide(const state& s, const command& cmd);

/// Folds one event into the state. Never fails: events are facts.
state apply(state s, const event& e);

/// The unread count of `account` (messages after its cursor, not deleted) and its unread mentions.
std::size_t unread_num(const state& s, account_id account);
std::size_t mention_num(const state& s, account_id account);
/// Messages that are not deleted.
std::size_t message_num(const state& s);
/// Open tasks in the room, and those assigned to `account`.
std::size_t task_num(const state& s);
std::size_t mytask_num(const state& s, account_id account);
/// Chatwork's `last_update_time`: when the newest message was sent (or edited), else when the
/// room was made. Only the newest message is looked at, so this stays O(1) in a long room.
unix_time last_update_time(const state& s);
/// Files visible in the room (uploaded, not hidden).
std::size_t file_num(const state& s);
/// Recomputes `open_tasks` from `tasks` (after loading a snapshot).
void count_open_tasks(state& s);

/// The accounts that receive the push of `e` applied to `before` (members before and after).
std::vector<account_id> recipients(const state& before, const event& e, const state& after);

/// Mentions `[To:id]` and replies `[rp aid=id to=room-message]` in a body, in order of first
/// appearance, without duplicates.
std::vector<account_id> parse_mentions(std::string_view body);
/// True when the body holds `[toall]` (every member is mentioned).
bool mentions_all(std::string_view body);
/// The body of the message that adding tasks posts: `[info][title]Task for [piconname:2]
/// [piconname:3][/title]BODY[/info]`, with BODY cut (ending in "…") when the whole would be
/// over max_body_chars. `body` is valid UTF-8.
std::string task_message_body(const std::vector<account_id>& assignees, std::string_view body);

/// Counts Unicode code points; returns nullopt when `text` is not valid UTF-8.
std::optional<std::size_t> utf8_length(std::string_view text);

}  // namespace hibiki::room
