#pragma once
/// ws-protocol-v1 on the wire: parsing client requests into typed values, and encoding replies
/// and events. Everything about the JSON shape of the contract is here and nowhere else.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "hibiki/core/errc.hpp"
#include "hibiki/core/ids.hpp"
#include "hibiki/core/result.hpp"
#include "hibiki/core/role.hpp"

namespace hibiki::protocol {

struct ping_req {};
struct auth_req {
  std::string token;
};
struct create_room_req {
  std::string name;
  std::vector<account_id> members;
  std::string description;
};
struct add_members_req {
  room_id room;
  std::vector<account_id> accounts;
  hibiki::role role = hibiki::role::member;
};
struct remove_member_req {
  room_id room;
  account_id account;
};
struct leave_room_req {
  room_id room;
};
/// With `details` each entry also carries the room's type (an extension).
struct list_rooms_req {
  bool details = false;
};
struct send_message_req {
  room_id room;
  std::string body;
  std::string client_msg_id;
  bool self_unread = false;  ///< the message stays unread for its author (an extension)
};
struct edit_message_req {
  room_id room;
  message_id message;
  std::string body;
};
struct delete_message_req {
  room_id room;
  message_id message;
};
struct history_req {
  room_id room;
  std::optional<message_id> before;
  std::optional<message_id> after;  ///< "0" (message_id 0) means from the start
  std::size_t limit = 50;           ///< 1..100
};
struct mark_read_req {
  room_id room;
  message_id message;
};
struct sync_req {
  std::vector<std::pair<room_id, seq_nr>> since;
};
/// The display names of accounts (an extension: a rename by the operator is seen by others).
struct get_accounts_req {
  std::vector<account_id> accounts;  ///< 1..max_get_accounts
};
inline constexpr std::size_t max_get_accounts = 1000;
/// The room with its counts (Chatwork's GET /rooms/{id}).
struct get_room_req {
  room_id room;
};
/// Name, description, icon preset (admins); at least one of them.
struct update_room_req {
  room_id room;
  std::optional<std::string> name;
  std::optional<std::string> description;
  std::optional<std::string> icon_preset;
};
struct delete_room_req {
  room_id room;
};
/// The members with roles and names.
struct get_members_req {
  room_id room;
};
/// Replaces the member lists (Chatwork's PUT /rooms/{id}/members).
struct set_members_req {
  room_id room;
  std::vector<account_id> admins;    ///< members_admin_ids, required, at least one
  std::vector<account_id> members;   ///< members_member_ids
  std::vector<account_id> readonly;  ///< members_readonly_ids
};

/// Tasks, Chatwork-shaped: one task per account in `to_ids`.
struct add_task_req {
  room_id room;
  std::string body;
  std::vector<account_id> to_ids;
  std::int64_t limit = 0;                 ///< Unix time; 0 = none
  std::optional<std::string> limit_type;  ///< none|date|time; default time with a limit
};
struct set_task_status_req {
  room_id room;
  task_id task;
  std::string status;  ///< open|done
};
struct get_task_req {
  room_id room;
  task_id task;
};
struct list_tasks_req {
  room_id room;
  std::optional<account_id> account;      ///< the assignee
  std::optional<account_id> assigned_by;  ///< the creator
  std::optional<std::string> status;      ///< open|done
};
/// The tasks assigned to the caller across rooms.
struct my_tasks_req {
  std::optional<account_id> assigned_by;
  std::optional<std::string> status;
};
/// One message (members only).
struct get_message_req {
  room_id room;
  message_id message;
};
/// Moves the read cursor back: `message` and everything after it are unread.
struct mark_unread_req {
  room_id room;
  message_id message;
};
/// Chatwork's my/status: unread, mention and task counts over all the caller's rooms.
struct my_status_req {};
/// The messages new to this account since its last fetch of the room (an extension: the REST
/// API's GET /v2/rooms/{id}/messages): up to 100 after the account's fetch position, oldest
/// first, and the position moves to the last one (durably, before the reply). `force`: the
/// latest 100 instead, and the position moves to the newest.
struct fetch_messages_req {
  room_id room;
  bool force = false;
};
inline constexpr std::size_t max_fetch_messages = 100;

/// The caller's own profile (Chatwork's `me`).
struct me_req {};
/// Changes some of the caller's profile fields; at least one.
struct update_profile_req {
  std::optional<std::string> name{};
  std::optional<std::string> chatwork_id{};
  std::optional<std::string> organization_name{};
  std::optional<std::string> department{};
  std::optional<std::string> title{};
  std::optional<std::string> introduction{};
};
/// The profiles of accounts the caller knows (shares a room or a contact with, or a waiting
/// contact request); the others are left out.
struct get_profiles_req {
  std::vector<account_id> accounts;  ///< 1..max_get_accounts
};
struct request_contact_req {
  account_id account;
  std::string message;
};
struct incoming_requests_req {};
/// `request_id` is the requester's account id.
struct accept_contact_req {
  account_id requester;
};
struct reject_contact_req {
  account_id requester;
};
struct list_contacts_req {};

/// Files through pre-signed URLs: the client PUTs the bytes to `upload_url`, then completes.
struct request_upload_req {
  room_id room;
  std::string filename;
  std::uint64_t size = 0;
  std::string content_type;
};
struct complete_upload_req {
  room_id room;
  file_id file;
  /// Text posted with the file, before its `[download:ID]` line (the REST API's `message`
  /// part). Default: empty
  std::string message{};
};
/// One visible file's metadata and, with `download_url`, a pre-signed GET valid 30 seconds.
struct get_file_req {
  room_id room;
  file_id file;
  bool download_url = false;
};
/// The room's visible files, optionally only those one account uploaded.
struct list_files_req {
  room_id room;
  std::optional<account_id> account;
};

/// Full-text search over the messages of the caller's rooms (an extension; docs/protocol.md,
/// "search"). The text's own rules (length, UTF-8, words) are checked by the index.
struct search_req {
  std::string q;
  std::optional<room_id> room{};
  std::optional<account_id> account{};        ///< the author
  std::optional<std::int64_t> after_time{};   ///< sent strictly after (Unix seconds)
  std::optional<std::int64_t> before_time{};  ///< sent strictly before (Unix seconds)
  bool relevance = false;                     ///< order "relevance"; false: "newest"
  std::size_t limit = 20;                     ///< 1..max_search_results
  std::size_t offset = 0;                     ///< 0..max_search_offset
};
inline constexpr std::size_t max_search_results = 100;
inline constexpr std::size_t max_search_offset = 9900;
// ---- webhooks (admins of the room; docs/protocol.md "Webhooks") --------------------------------
/// Adds a webhook: the answer carries the base64 token that signs its deliveries, once.
struct create_webhook_req {
  room_id room;
  std::string url;
  std::vector<std::string> events;
};
/// The room's webhooks with their delivery state, never their tokens.
struct list_webhooks_req {
  room_id room;
};
struct delete_webhook_req {
  room_id room;
  webhook_id webhook;
};

using request_body =
    std::variant<ping_req, auth_req, create_room_req, add_members_req, remove_member_req,
                 leave_room_req, list_rooms_req, send_message_req, edit_message_req,
                 delete_message_req, history_req, mark_read_req, sync_req, get_accounts_req,
                 get_room_req, update_room_req, delete_room_req, get_members_req, set_members_req,
                 add_task_req, set_task_status_req, get_task_req, list_tasks_req, my_tasks_req,
                 my_status_req, get_message_req, mark_unread_req, fetch_messages_req, me_req,
                 update_profile_req, get_profiles_req, request_contact_req, incoming_requests_req,
                 accept_contact_req, reject_contact_req, list_contacts_req, request_upload_req,
                 complete_upload_req, get_file_req, list_files_req,
                 // webhooks
                 create_webhook_req, list_webhooks_req, delete_webhook_req,
                 // search
                 search_req>;

struct request {
  std::int64_t id = 0;
  request_body body;
};

/// A request that could not be parsed: the error, and the request id when one could be read
/// (the reply then carries `"re": id`, otherwise `"re": null`).
struct parse_failure {
  std::optional<std::int64_t> id;
  hibiki::error error;
};

/// Parses one text frame. Field types are checked strictly: an id must be a positive integer
/// below 2^53, a message_id a string of decimal digits, etc.
std::variant<request, parse_failure> parse_request(std::string_view text);

/// The op name of a request ("send_message", ...).
std::string_view op_name(const request_body& body);
/// True for ops allowed before `auth` (auth and ping).
bool allowed_before_auth(const request_body& body);

/// `{"re": id, "ok": true, ...fields}`; `fields` must be an object (or null for none).
std::string encode_ok(std::int64_t id, const nlohmann::json& fields = nullptr);
/// `{"re": id|null, "ok": false, "error": {"code", "message"}}`.
std::string encode_error(std::optional<std::int64_t> id, const hibiki::error& err);
/// `{"ev": name, ...fields}`.
std::string encode_event(std::string_view name, const nlohmann::json& fields);

/// message ids go on the wire as decimal strings.
std::string to_wire(message_id id);
std::optional<message_id> message_id_from_wire(std::string_view text);

/// The WebSocket close codes the contract names.
inline constexpr std::uint16_t close_policy = 1008;       ///< unauthenticated request
inline constexpr std::uint16_t close_too_big = 1009;      ///< frame over the limit
inline constexpr std::uint16_t close_unsupported = 1003;  ///< binary frame

}  // namespace hibiki::protocol
