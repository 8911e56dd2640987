#pragma once
/// Small pieces both object stores share: base URLs, content types, time.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "hibiki/core/result.hpp"

namespace hibiki::persistence::objects {

/// `http(s)://host[:port]` split into its scheme and authority (host and port as given).
struct base_url {
  std::string scheme;     ///< "http" or "https"
  std::string authority;  ///< "127.0.0.1:9000", "s3.eu-west-3.amazonaws.com"
  std::string host;       ///< the host alone (brackets kept for IPv6)
  std::string port;       ///< the port, or the scheme's default ("80", "443")
};
/// Errors: bad_request (another scheme, a path, a user part, an empty or malformed host/port).
result<base_url> split_base_url(std::string_view url);

/// A Content-Type a signed URL can bind: 1 to 255 printable ASCII characters.
bool valid_content_type(std::string_view type);

std::int64_t unix_seconds(std::chrono::system_clock::time_point t);

}  // namespace hibiki::persistence::objects
