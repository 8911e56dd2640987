#include "request_parsing.hpp"

#include <nlohmann/json.hpp>

namespace hibiki::gateway {

target_parts split_target(std::string_view target) {
  const auto end = target.find_first_of("?#");
  target_parts parts{target.substr(0, end), {}};
  if (end != std::string_view::npos && target[end] == '?') {
    const auto query = target.substr(end + 1);
    parts.query = query.substr(0, query.find('#'));
  }
  return parts;
}

result<std::string> parse_signup_body(std::string_view body) {
  // Without exceptions: a malformed body comes back discarded.
  const auto doc = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return hibiki::error{errc::bad_request, "the body must be a JSON object"};
  }
  const auto name = doc.find("name");
  if (name == doc.end() || !name->is_string()) {
    return hibiki::error{errc::bad_request, "missing string field \"name\""};
  }
  return name->get<std::string>();
}

}  // namespace hibiki::gateway
