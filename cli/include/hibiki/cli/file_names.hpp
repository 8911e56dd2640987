#pragma once
/// The pure parts of `hibiki upload` and `hibiki download`: which file a FILE argument names,
/// the content type an upload announces, and the local name a download is saved under.

#include <cstdint>
#include <string>
#include <string_view>

#include "hibiki/core/result.hpp"

namespace hibiki::cli {

/// A file as `hibiki download` names it. File ids count from 1 in each room, so a file is only
/// known for sure with its room.
struct file_ref {
  std::uint64_t room_id = 0;  ///< 0: not given (the caller's rooms are searched)
  std::uint64_t file_id = 0;
};

/// `ROOM_ID/FILE_ID` (what `hibiki upload` prints) or a bare `FILE_ID`. Errors: bad_request
/// saying what was expected.
result<file_ref> parse_file_ref(std::string_view text);

/// The content type for a file named `filename`, from its extension (case-insensitive) in a small
/// table of common types; application/octet-stream for anything else. (A type given with
/// --content-type is checked by core's room::check_content_type, the server's own rule.)
std::string guess_content_type(std::string_view filename);

/// `filename` (from the server; UTF-8, possibly hostile) as a name to create in a local
/// directory: `/`, `\`, control characters (C0, DEL, C1), bidirectional overrides and bytes that
/// are not UTF-8 become `_`; a leading `.` or `-` becomes `_` (no hidden file, no option-looking
/// name); cut to 255 bytes on a character boundary; an empty result is `download`.
std::string safe_local_name(std::string_view filename);

}  // namespace hibiki::cli
