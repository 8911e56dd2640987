/// The rules of a room's shared files: what may be uploaded, by whom, and how a file goes from
/// pending to visible to hidden to forgotten. Pure, like the rest of the room's rules.

#include <string>

#include "hibiki/core/room.hpp"
#include "room_file_rules.hpp"
#include "utf8.hpp"

namespace hibiki::room {

namespace {

hibiki::error fail(errc code, std::string message) {
  return {code, std::move(message)};
}

bool is_control(char32_t c) {
  return c < 0x20 || c == 0x7F || (c >= 0x80 && c <= 0x9F);
}

/// Unicode's bidirectional marks, embeddings, overrides and isolates: in a name they can show
/// "report\u202Efdp.exe" as "reportexe.pdf", disguising what a file is.
bool is_bidi_control(char32_t c) {
  return c == 0x061C || c == 0x200E || c == 0x200F || (c >= 0x202A && c <= 0x202E) ||
         (c >= 0x2066 && c <= 0x2069);
}

/// RFC 7230's token characters (the type and subtype of a media type).
bool is_token_char(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

}  // namespace

status check_filename(std::string_view name) {
  if (name.empty()) return {errc::bad_request, "filename must not be empty"};
  if (name.size() > max_filename_bytes) {
    return {errc::too_large,
            "filename must be at most " + std::to_string(max_filename_bytes) + " bytes of UTF-8"};
  }
  bool control = false;
  bool bidi = false;
  if (!hibiki::detail::for_each_code_point(name, [&](char32_t c) {
        control |= is_control(c);
        bidi |= is_bidi_control(c);
      })) {
    return {errc::bad_request, "filename must be valid UTF-8"};
  }
  if (control) return {errc::bad_request, "filename must not contain control characters"};
  if (bidi) {
    return {errc::bad_request,
            "filename must not contain bidirectional control characters (U+200E, U+202A-U+202E, "
            "U+2066-U+2069...)"};
  }
  if (name.find('/') != std::string_view::npos || name.find('\\') != std::string_view::npos) {
    return {errc::bad_request, "filename must not contain / or \\ (a name, not a path)"};
  }
  if (name.find("..") != std::string_view::npos) {
    return {errc::bad_request, "filename must not contain .."};
  }
  return {};
}

status check_content_type(std::string_view type) {
  const hibiki::error bad{errc::bad_request,
                          "content_type must be a media type such as text/plain or "
                          "application/octet-stream (type/subtype[; parameters], printable ASCII, "
                          "at most " +
                              std::to_string(max_content_type_bytes) + " bytes)"};
  if (type.size() < 3 || type.size() > max_content_type_bytes) return bad;
  for (const char c : type)
    if (c < 0x20 || c > 0x7E) return bad;
  const auto params = type.find(';');
  const auto essence = type.substr(0, params);
  const auto slash = essence.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == essence.size()) return bad;
  for (std::size_t i = 0; i < essence.size(); ++i)
    if (i != slash && !is_token_char(essence[i])) return bad;
  return {};
}

std::string_view to_string(file_status s) {
  switch (s) {
    case file_status::pending:
      return "pending";
    case file_status::uploaded:
      return "uploaded";
    case file_status::hidden:
      return "hidden";
    case file_status::expired:
      return "expired";
  }
  return "pending";
}

std::optional<file_status> parse_file_status(std::string_view text) {
  for (auto s :
       {file_status::pending, file_status::uploaded, file_status::hidden, file_status::expired})
    if (to_string(s) == text) return s;
  return std::nullopt;
}

std::string file_message_body(file_id id, std::string_view filename, std::string_view message) {
  std::string body(message);
  if (!body.empty()) body += '\n';
  body += "[download:" + std::to_string(id.value) + "]";
  body += filename;
  body += "[/download]";
  return body;
}

bool removable(const shared_file& f, unix_time now, unix_time grace) {
  if (f.status == file_status::expired) return true;
  return f.status == file_status::hidden && now >= f.hidden_at + grace;
}

std::size_t file_num(const state& s) {
  std::size_t n = 0;
  for (const auto& [id, f] : s.files)
    if (f.status == file_status::uploaded) ++n;
  return n;
}

namespace detail {

namespace {

/// The actor's own file, pending or uploaded: what check_upload and complete_upload act on.
result<const shared_file*> own_upload(const state& s, const member_state& actor,
                                      account_id actor_id, file_id id, unix_time now) {
  auto it = s.files.find(id);
  if (it == s.files.end()) return fail(errc::not_found, "no such file in this room");
  const auto& f = it->second;
  if (f.account != actor_id) {
    return fail(errc::forbidden, "only the account that asked for the upload may complete it");
  }
  if (actor.role == role::readonly) {
    return fail(errc::forbidden, "read-only members cannot upload files");
  }
  switch (f.status) {
    case file_status::uploaded:
      return &f;
    case file_status::hidden:
      return fail(errc::not_found, "the file was deleted");
    case file_status::expired:
      return fail(errc::not_found, "the upload expired; ask for a new one");
    case file_status::pending:
      break;
  }
  if (now >= f.expires_at) return fail(errc::not_found, "the upload expired; ask for a new one");
  return &f;
}

/// The uploads of `account` still pending at `now`, counted up to `most` (one past its expiry but
/// not swept yet does not count: it can no longer complete). Newest first: file ids grow in the
/// order uploads were asked for, and none asked for longer ago than the longest window (plus a
/// day for clocks of other nodes) can still be pending, so a room's old files are not walked.
std::size_t pending_uploads_of(const state& s, account_id account, unix_time now,
                               std::size_t most) {
  constexpr unix_time clock_slack = 24 * 3600;
  std::size_t n = 0;
  for (auto it = s.files.rbegin(); it != s.files.rend() && n < most; ++it) {
    const auto& f = it->second;
    if (f.requested_at + max_upload_window_seconds + clock_slack < now) break;
    if (f.account == account && f.status == file_status::pending && now < f.expires_at) ++n;
  }
  return n;
}

}  // namespace

result<decision> decide_request_upload(const state& s, const member_state& actor,
                                       const request_upload& c) {
  if (actor.role == role::readonly) {
    return fail(errc::forbidden, "read-only members cannot upload files");
  }
  if (auto st = check_filename(c.filename); !st) return st.error();
  if (auto st = check_content_type(c.content_type); !st) return st.error();
  if (c.size == 0) return fail(errc::bad_request, "size must be at least 1 byte");
  if (c.size > c.max_size) {
    return fail(errc::too_large,
                "size must be at most " + std::to_string(c.max_size) + " bytes on this server");
  }
  if (c.object_key.empty()) return fail(errc::internal, "no object key chosen");
  if (c.window <= 0) return fail(errc::internal, "no upload window chosen");
  if (pending_uploads_of(s, c.actor, c.now, c.max_pending) >= c.max_pending) {
    return fail(errc::rate_limited,
                "you already have " + std::to_string(c.max_pending) +
                    " uploads pending in this room, the most allowed: complete them (or wait for "
                    "them to expire) before asking for another");
  }
  upload_requested e;
  e.id = file_id{s.last_file.value + 1};
  e.account = c.actor;
  e.filename = c.filename;
  e.size = c.size;
  e.content_type = c.content_type;
  e.object_key = c.object_key;
  e.time = c.now;
  e.expires_at = c.now + c.window;
  decision d;
  d.events.push_back(std::move(e));
  return d;
}

result<decision> decide_check_upload(const state& s, const member_state& actor,
                                     const check_upload& c) {
  auto f = own_upload(s, actor, c.actor, c.file, c.now);
  if (!f) return f.error();
  return decision{};
}

result<decision> decide_complete_upload(const state& s, const member_state& actor,
                                        const complete_upload& c) {
  auto found = own_upload(s, actor, c.actor, c.file, c.now);
  if (!found) return found.error();
  const auto& f = **found;
  if (f.status == file_status::uploaded) {
    // Completed already (a retry after a lost reply): the first answer again.
    decision d;
    d.duplicate_of = sent_receipt{f.message, f.upload_seq};
    return d;
  }
  if (c.stored_size != f.size) {
    return fail(errc::bad_request, "the stored object has " + std::to_string(c.stored_size) +
                                       " bytes, not the " + std::to_string(f.size) +
                                       " asked for; upload it again");
  }
  auto body = file_message_body(c.file, f.filename, c.message);
  const auto n = utf8_length(body);
  if (!n) return fail(errc::bad_request, "message must be valid UTF-8");
  if (*n > max_body_chars) {
    return fail(errc::too_large,
                "message must be at most " + std::to_string(max_body_chars) + " characters");
  }
  message_posted m;
  m.id = message_id{s.last_message().value + 1};
  m.author = c.actor;
  m.mentions = member_mentions(s, body, c.actor);
  m.body = std::move(body);
  m.time = c.now;
  m.author_name = c.author_name;
  decision d;
  const auto message = m.id;
  d.events.push_back(std::move(m));
  d.events.push_back(file_uploaded{c.file, message, c.now});
  return d;
}

result<decision> decide_retire_file(const state& s, const retire_file& c) {
  auto it = s.files.find(c.file);
  // Forgotten already (another node's sweeper, or a chore row read just before): nothing to do.
  if (it == s.files.end()) return decision{};
  const auto& f = it->second;
  decision d;
  if (f.status == file_status::pending && c.now >= f.expires_at) {
    d.events.push_back(upload_expired{c.file, c.now});
  }
  return d;
}

result<decision> decide_forget_file(const state& s, const forget_file& c) {
  auto it = s.files.find(c.file);
  if (it == s.files.end()) return decision{};  // forgotten already
  if (it->second.status != file_status::hidden && it->second.status != file_status::expired) {
    return fail(errc::conflict, "the file is still in use");
  }
  decision d;
  d.events.push_back(file_removed{c.file});
  return d;
}

void apply_file(state& s, const upload_requested& e) {
  if (e.id <= s.last_file) return;  // ids only grow
  s.last_file = e.id;
  shared_file f;
  f.account = e.account;
  f.filename = e.filename;
  f.size = e.size;
  f.content_type = e.content_type;
  f.object_key = e.object_key;
  f.requested_at = e.time;
  f.expires_at = e.expires_at;
  s.files[e.id] = std::move(f);
}

void apply_file(state& s, const file_uploaded& e) {
  auto it = s.files.find(e.id);
  if (it == s.files.end() || it->second.status != file_status::pending) return;
  it->second.status = file_status::uploaded;
  it->second.message = e.message;
  it->second.upload_time = e.time;
  it->second.upload_seq = s.seq;
}

void apply_file(state& s, const upload_expired& e) {
  auto it = s.files.find(e.id);
  if (it == s.files.end() || it->second.status != file_status::pending) return;
  it->second.status = file_status::expired;
  it->second.hidden_at = e.time;
}

void apply_file(state& s, const file_removed& e) {
  s.files.erase(e.id);
}

void hide_files_of_message(state& s, message_id message, unix_time time) {
  for (auto& [id, f] : s.files) {
    if (f.status == file_status::uploaded && f.message == message) {
      f.status = file_status::hidden;
      f.hidden_at = time;
    }
  }
}

void hide_all_files(state& s, unix_time time) {
  for (auto& [id, f] : s.files) {
    if (f.status == file_status::uploaded || f.status == file_status::pending) {
      f.status = file_status::hidden;
      f.hidden_at = time;
    }
  }
}

}  // namespace detail

}  // namespace hibiki::room
