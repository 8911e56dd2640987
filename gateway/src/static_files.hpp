#pragma once
/// Mapping request targets to the web client's files: the safe path under the web root and the
/// Content-Type. file_for_target and mime_type are pure, so the rules are tested without a
/// socket; find_static_file adds what only the file system can tell (symlinks, directories).

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

/// Whether any segment of the target's path starts with '.' (dotfiles and dot-directories such as
/// /.git/config are never served).
bool has_dot_segment(std::string_view target);

/// What a GET of `target` serves from `web_root`.
struct static_lookup {
  enum class outcome {
    file,         ///< `path` is a regular file inside the web root (symlinks resolved)
    bad_request,  ///< not a plain absolute path (file_for_target refused it)
    not_found,    ///< missing, a directory, a dotfile, or a symlink that leaves the web root
  };
  outcome result = outcome::not_found;
  std::string path;
};

/// file_for_target, then: no dot segments; only "/" maps to a directory's index.html (any other
/// target ending in "/" is a directory: not found); the path is resolved (symlinks followed) and
/// must be a regular file whose resolved path lies inside the resolved web root.
static_lookup find_static_file(std::string_view web_root, std::string_view target);

}  // namespace hibiki::gateway
