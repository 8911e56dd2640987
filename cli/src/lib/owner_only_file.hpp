#pragma once
/// Reading a secret file that must be its owner's alone (the admin token, the S3 credentials):
/// one place for the checks, so every secret file is refused for the same reasons.

#include <string>

#include "hibiki/core/result.hpp"

namespace hibiki::cli {

/// The whole text of `path`, at most 64 KiB. Errors (bad_request, each message starting with
/// "FLAG PATH: "): cannot open or read, not a regular file, readable or writable by group or
/// others, too large.
result<std::string> read_owner_only_file(const std::string& path, const std::string& flag);

}  // namespace hibiki::cli
