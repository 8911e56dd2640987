#include "object_common.hpp"

namespace hibiki::persistence::objects {

result<base_url> split_base_url(std::string_view url) {
  base_url out;
  if (url.substr(0, 7) == "http://") {
    out.scheme = "http";
    url.remove_prefix(7);
  } else if (url.substr(0, 8) == "https://") {
    out.scheme = "https";
    url.remove_prefix(8);
  } else {
    return error{errc::bad_request, "a URL must start with http:// or https://"};
  }
  if (!url.empty() && url.back() == '/') url.remove_suffix(1);
  if (url.empty() || url.find_first_of("/?#@ \\") != std::string_view::npos) {
    return error{errc::bad_request, "a base URL is scheme://host[:port], without a path"};
  }
  out.authority = std::string(url);
  std::string_view host = url, port;
  if (url.front() == '[') {
    const auto close = url.find(']');
    if (close == std::string_view::npos) return error{errc::bad_request, "malformed IPv6 host"};
    host = url.substr(0, close + 1);
    if (close + 1 < url.size()) {
      if (url[close + 1] != ':') return error{errc::bad_request, "malformed host:port"};
      port = url.substr(close + 2);
    }
  } else if (const auto colon = url.rfind(':'); colon != std::string_view::npos) {
    host = url.substr(0, colon);
    port = url.substr(colon + 1);
    if (port.empty()) return error{errc::bad_request, "malformed host:port"};
  }
  if (host.empty()) return error{errc::bad_request, "a base URL needs a host"};
  if (!port.empty()) {
    if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string_view::npos ||
        std::stoul(std::string(port)) == 0 || std::stoul(std::string(port)) > 65535) {
      return error{errc::bad_request, "malformed port"};
    }
  }
  out.host = std::string(host);
  out.port = port.empty() ? (out.scheme == "https" ? "443" : "80") : std::string(port);
  return out;
}

bool valid_content_type(std::string_view type) {
  if (type.empty() || type.size() > 255) return false;
  for (unsigned char c : type) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

std::int64_t unix_seconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

}  // namespace hibiki::persistence::objects
