#pragma once
/// Shared files of a room: the commands, events and state the room aggregate (room.hpp) keeps
/// for them. The bytes never pass through here: a member asks to upload (`request_upload`), gets
/// a pre-signed PUT URL from the node, PUTs the bytes to the object store, then completes
/// (`complete_upload`), which posts a message carrying `[download:FILE_ID]`. The rules only see
/// names, sizes, object keys and times; the node signs URLs and checks the store.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "hibiki/core/ids.hpp"
#include "hibiki/core/result.hpp"

namespace hibiki::room {

// ---- limits -----------------------------------------------------------------------------------

/// A filename is 1 to 255 bytes of UTF-8 (the limit of most file systems).
inline constexpr std::size_t max_filename_bytes = 255;
/// A content type is 3 to 255 bytes of printable ASCII: `type/subtype[; parameters]`.
inline constexpr std::size_t max_content_type_bytes = 255;
/// How long a pending upload (and its pre-signed PUT URL) lasts unless the node says otherwise
/// (--upload-window). 15 minutes.
inline constexpr unix_time default_upload_window_seconds = 15 * 60;
/// The longest upload window: a SigV4 pre-signed URL is valid at most 7 days.
inline constexpr unix_time max_upload_window_seconds = 7 * 24 * 3600;
/// How many uploads one account may have pending (asked for, not completed, not expired) in one
/// room unless the node says otherwise (--max-pending-uploads). Each one reserves an object key
/// and up to --max-file-size bytes in the store until it expires; a client uploading a folder
/// asks for its files one after the other and completes them as their PUTs end, so 100 leaves
/// room for any honest batch while bounding what one account can hold open.
inline constexpr std::uint32_t default_max_pending_uploads = 100;

/// Refuses filenames that could be taken for a path or garble a header or a log: not valid
/// UTF-8, empty, over max_filename_bytes, containing `/`, `\`, `..`, or a control character
/// (C0, DEL, C1). Errors: bad_request, too_large (over the limit).
status check_filename(std::string_view name);
/// Refuses a content type that is not `type/subtype` of token characters, optionally followed by
/// `;` parameters of printable ASCII, at most max_content_type_bytes. Errors: bad_request.
status check_content_type(std::string_view type);

// ---- commands -------------------------------------------------------------------------------

/// Records a pending upload of `size` bytes (1..max_size) under `object_key`, which the node
/// chose at random (the rules never see randomness), expiring `window` seconds after `now`.
/// Members that are not read-only only, with fewer than `max_pending` uploads of theirs pending
/// in the room (rate_limited otherwise).
struct request_upload {
  account_id actor;
  std::string filename;
  std::uint64_t size = 0;
  std::string content_type;
  /// The node's --max-file-size.
  std::uint64_t max_size = 0;
  std::string object_key;
  unix_time now = 0;
  /// The node's --upload-window, in seconds.
  unix_time window = default_upload_window_seconds;
  /// The node's --max-pending-uploads.
  std::uint32_t max_pending = default_max_pending_uploads;
};
/// Asks for the object key and size of the actor's own pending upload, so the node can check the
/// store before completing. A query: nothing is recorded.
struct check_upload {
  account_id actor;
  file_id file;
  unix_time now = 0;
};
/// Completes the actor's pending upload once the node has seen the object in the store with
/// `stored_size` bytes: a message carrying `[download:ID]` is posted (after `message`, when the
/// REST API gives one) and the file becomes visible. Completing again answers the first result.
struct complete_upload {
  account_id actor;
  file_id file;
  std::uint64_t stored_size = 0;
  unix_time now = 0;
  std::string author_name{};
  std::string message{};
};
/// The sweeper's first step for one file (no actor): a pending upload past its expiry expires
/// now; a hidden file whose grace period (`grace` seconds after it was hidden) is over is ready.
/// The reply says whether its object may be removed, and its key (a file the room has forgotten
/// already: not removed, nothing recorded).
struct retire_file {
  account_id actor{};  ///< always none: the node asks, not a member
  file_id file;
  unix_time now = 0;
  unix_time grace = 0;
};
/// The sweeper's last step (no actor): the object of a retired file is gone from the store, so
/// the room forgets the file.
struct forget_file {
  account_id actor{};
  file_id file;
};

// ---- events ---------------------------------------------------------------------------------

/// Not a room event of the protocol (no seq): only the uploader learns of it, in its reply.
struct upload_requested {
  file_id id;
  account_id account;
  std::string filename;
  std::uint64_t size = 0;
  std::string content_type;
  std::string object_key;
  unix_time time = 0;
  unix_time expires_at = 0;
};
/// The upload completed; `message` is the message carrying it (posted just before, in the same
/// append). A room event: pushed as `file_uploaded`.
struct file_uploaded {
  file_id id;
  message_id message;
  unix_time time = 0;
};
/// A pending upload was never completed. No seq.
struct upload_expired {
  file_id id;
  unix_time time = 0;
};
/// The object of a hidden or expired file was removed from the store. No seq.
struct file_removed {
  file_id id;
};

// ---- state ----------------------------------------------------------------------------------

/// pending: requested, not completed; uploaded: visible; hidden: its message or room was
/// deleted (its object goes after a grace period); expired: never completed (its object goes at
/// once). Hidden and expired files wait for the sweeper to remove their object.
enum class file_status : std::uint8_t { pending, uploaded, hidden, expired };
std::string_view to_string(file_status s);
std::optional<file_status> parse_file_status(std::string_view text);

struct shared_file {
  account_id account;
  std::string filename;
  std::uint64_t size = 0;
  std::string content_type;
  std::string object_key;
  unix_time requested_at = 0;
  unix_time expires_at = 0;
  file_status status = file_status::pending;
  message_id message;         ///< set once uploaded
  unix_time upload_time = 0;  ///< set once uploaded
  seq_nr upload_seq = 0;      ///< the seq of its file_uploaded event (a repeated complete's reply)
  unix_time hidden_at = 0;    ///< set once hidden

  friend bool operator==(const shared_file&, const shared_file&) = default;
};

/// True once the object of `f` may be removed from the store: it expired pending (at once), or
/// it was hidden at least `grace` seconds before `now`.
bool removable(const shared_file& f, unix_time now, unix_time grace);

/// The body of the message that carries file `id`: `message`, a newline when it is not empty,
/// then `[download:ID]FILENAME[/download]`.
std::string file_message_body(file_id id, std::string_view filename, std::string_view message);

}  // namespace hibiki::room
