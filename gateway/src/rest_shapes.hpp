#pragma once
/// Chatwork's JSON shapes for the REST API (docs/rest-api.md), made from ws-protocol replies: ids
/// as integers, message_id a digit string, nested `account` objects, Unix seconds, fields hibiki
/// does not have given as 0 or "". Also the answer type and the error statuses. Pure: no socket,
/// no session, unit-tested in tests/gateway/rest_request_test.cpp.

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace hibiki::gateway {

/// What the endpoint answers: a status and a JSON body (empty with 204).
struct rest_answer {
  unsigned status = 200;
  std::string body;
};

/// Where the images that REST objects point to live: files of the web root, named by absolute
/// URLs under `base` ("scheme://host[:port]", from --public-url or the request's Host; empty:
/// the URLs are paths on this server).
struct rest_images {
  std::string base;
  /// The default avatar every account has (hibiki keeps no pictures of people).
  std::string avatar() const;
  /// The picture of a room's icon preset (the default preset's for an unknown one).
  std::string icon(std::string_view preset) const;
};

/// The image base of a request: `public_url` (without a trailing slash) when set, else
/// "http(s)://HOST" from the request's Host header when it is a plain host[:port] (letters,
/// digits, '.', '-', ':', '[', ']'), else "" (the URLs are then paths).
std::string image_base(std::string_view public_url, std::string_view host_header, bool tls);

/// The HTTP status of a ws-protocol error code (bad_request 400, unauthenticated 401, forbidden
/// 403, not_found 404, conflict 409, too_large 413, rate_limited 429, unavailable 503, else 500).
unsigned rest_status_for(std::string_view wire_code);

/// An error answer: `status` and {"errors": [message]}.
rest_answer rest_error(unsigned status, std::string_view message);

/// Chatwork's message object from a ws-protocol message object and the author's name:
/// {message_id, account{account_id, name, avatar_image_url}, body, send_time, update_time}.
nlohmann::json chatwork_message(const nlohmann::json& message, std::string_view author_name,
                                const rest_images& images);

/// Chatwork's `GET /me` object from the `me` reply. hibiki has no organization ids, URLs or mail
/// addresses (0 and ""); the avatar is the default one.
nlohmann::json chatwork_me(const nlohmann::json& me, const rest_images& images);

/// Chatwork's contact object {account_id, room_id, name, chatwork_id, organization_id,
/// organization_name, department, avatar_image_url} from a `contacts` entry or the
/// `accept_contact` reply.
nlohmann::json chatwork_contact(const nlohmann::json& profile, const rest_images& images);

/// Chatwork's contact request object from an `incoming_requests` entry.
nlohmann::json chatwork_request(const nlohmann::json& request, const rest_images& images);

/// Chatwork's room object from a `list_rooms` entry (with `details`): icon_path is the picture of
/// its icon preset; `sticky` is always false (Chatwork's API cannot pin a room either).
nlohmann::json chatwork_room(const nlohmann::json& listing, const rest_images& images);

/// Chatwork's `GET /rooms/{id}` object from the `get_room` reply's room: the `GET /rooms` object
/// with last_update_time and description.
nlohmann::json chatwork_room_details(const nlohmann::json& room, const rest_images& images);

/// Chatwork's member object {account_id, role, name, chatwork_id, organization_id,
/// organization_name, department, avatar_image_url} from a `get_members` entry and the member's
/// `get_profiles` entry (an empty object when there is none).
nlohmann::json chatwork_member(const nlohmann::json& member, const nlohmann::json& profile,
                               const rest_images& images);

/// Chatwork's task object {task_id, account{account_id, name, avatar_image_url},
/// assigned_by_account{…}, message_id, body, limit_time, status, limit_type} from a ws-protocol
/// task object; `with_room` (for `GET /my/tasks`) adds room{room_id, name, icon_path} after
/// task_id. message_id is the task's message as a digit string ("" for tasks made before tasks
/// posted one).
nlohmann::json chatwork_task(const nlohmann::json& task, bool with_room, const rest_images& images);

/// Chatwork's file object {file_id, account{account_id, name, avatar_image_url}, message_id,
/// filename, filesize, upload_time} from a ws-protocol file object and the uploader's name.
nlohmann::json chatwork_file(const nlohmann::json& file, std::string_view uploader_name,
                             const rest_images& images);

}  // namespace hibiki::gateway
