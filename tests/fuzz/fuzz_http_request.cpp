// Fuzz target: the gateway's pure HTTP request parsing (gateway/src/request_parsing.cpp and
// static_files.cpp). The same bytes are a request target (split into path and query, mapped to a
// file under the web root) and a sign-up body. A mapped file must stay under the web root, and a
// sign-up name must be valid UTF-8 (the user aggregate counts its code points next).

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_check.hpp"
#include "hibiki/core/room.hpp"
#include "request_parsing.hpp"
#include "static_files.hpp"

namespace {

using namespace hibiki;

constexpr std::string_view web_root = "/srv/hibiki/web";

void check_split(std::string_view target) {
  const auto parts = gateway::split_target(target);
  FUZZ_CHECK(parts.path.data() == target.data());
  FUZZ_CHECK(parts.path.find_first_of("?#") == std::string_view::npos);
  FUZZ_CHECK(parts.query.find('#') == std::string_view::npos);
  if (parts.path.size() < target.size() && target[parts.path.size()] == '?') {
    FUZZ_CHECK(parts.query.data() == target.data() + parts.path.size() + 1);
  } else {
    FUZZ_CHECK(parts.query.empty());
  }
}

void check_file(std::string_view target) {
  const auto file = gateway::file_for_target(web_root, target);
  if (!file) return;
  const std::string_view path(*file);
  FUZZ_CHECK(path.starts_with(web_root) && path.size() > web_root.size() &&
             path[web_root.size()] == '/');
  const auto rest = path.substr(web_root.size());
  FUZZ_CHECK(rest.find("..") == std::string_view::npos);
  FUZZ_CHECK(rest.find("//") == std::string_view::npos);
  FUZZ_CHECK(rest.find_first_of(std::string_view("\\%\0", 3)) == std::string_view::npos);
  // The file is the target's path, or its index.html when the path names a directory.
  const auto target_path = gateway::split_target(target).path;
  FUZZ_CHECK(rest == target_path ||
             (target_path.ends_with('/') && rest.substr(0, target_path.size()) == target_path &&
              rest.substr(target_path.size()) == "index.html"));
  FUZZ_CHECK(!gateway::mime_type(path).empty());
}

void check_signup(std::string_view body) {
  const auto name = gateway::parse_signup_body(body);
  if (!name) {
    FUZZ_CHECK(name.error().code == errc::bad_request);
    FUZZ_CHECK(!name.error().message.empty());
    return;
  }
  FUZZ_CHECK(room::utf8_length(*name).has_value());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  check_split(input);
  check_file(input);
  check_signup(input);
  return 0;
}
