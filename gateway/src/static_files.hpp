#pragma once
/// Mapping request targets to the web client's files: the safe path under the web root and the
/// Content-Type. Pure functions, so the rules are tested without a socket.

#include <optional>
#include <string>
#include <string_view>

namespace hibiki::gateway {

/// The Content-Type for a file name (by extension); application/octet-stream when unknown.
std::string_view mime_type(std::string_view path);

/// The file path for a request target under `web_root`, or nothing when the target is not a
/// plain absolute path (no "..", backslash, NUL or percent-escapes of them). "/" and targets
/// ending in "/" map to index.html; the query string is ignored.
std::optional<std::string> file_for_target(std::string_view web_root, std::string_view target);

}  // namespace hibiki::gateway
