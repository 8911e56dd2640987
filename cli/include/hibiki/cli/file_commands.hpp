#pragma once
/// `hibiki upload` and `hibiki download` (docs/protocol.md, "Files"): the WebSocket ops that
/// sign the transfer, and the transfer itself straight between the file and the object store
/// (url_transfer.hpp): hibikid never carries the bytes.

#include "hibiki/cli/client_options.hpp"
#include "hibiki/core/result.hpp"

namespace hibiki::cli {

/// `upload ROOM PATH [--content-type TYPE]`: checks PATH is a non-empty regular file before
/// connecting, `request_upload` (the path's base name, its size, the type given or
/// guess_content_type's), PUT of the file streamed to upload_url (a new connection; progress on
/// stderr when it is a terminal), then `complete_upload` on a fresh WebSocket (the first one may
/// have been closed as idle during a long PUT). Prints room_id, file_id, message_id and
/// `file: ROOM/FILE`. Errors (each saying what to do): the file missing, a directory, not a
/// regular file, empty; the server's refusals with their code (too_large, forbidden, not_found,
/// unavailable, ...); the store's refusal of the PUT (its HTTP status and S3 error code), the
/// store unreachable.
status upload_file(const client_options& o, const server_url& url);

/// `download FILE [PATH] [--room ROOM] [--force]`, FILE being ROOM/FILE_ID or FILE_ID: with no
/// room (neither in FILE nor --room) the caller's rooms are searched (`list_rooms`, then
/// `get_file` in each) and a file id found in more than one room is refused, naming them. Then
/// `get_file` with a download URL and a GET streamed into a temporary file next to PATH, renamed
/// to PATH once all `size` bytes arrived (PATH: the file's name made safe by safe_local_name in
/// the current directory by default; inside PATH when it is a directory; `-` for stdout, unless
/// stdout is a terminal). An existing PATH is kept unless --force. Prints `saved PATH (N bytes)`
/// (nothing with `-`).
status download_file(const client_options& o, const server_url& url);

}  // namespace hibiki::cli
