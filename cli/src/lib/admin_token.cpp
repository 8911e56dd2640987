// hibikid's admin token file (--admin-token-file): a secret, so it must be the owner's alone.

#include <string>

#include "hibiki/cli/daemon_options.hpp"
#include "owner_only_file.hpp"

namespace hibiki::cli {

result<std::string> load_admin_token(const std::string& path) {
  auto bad = [&](const std::string& why) {
    return result<std::string>(errc::bad_request, "--admin-token-file " + path + ": " + why);
  };
  auto read = read_owner_only_file(path, "--admin-token-file");
  if (!read) return read.error();
  const std::string& text = *read;
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return bad("is empty");
  const auto last = text.find_last_not_of(" \t\r\n");
  auto token = text.substr(first, last - first + 1);
  if (token.find_first_of(" \t\r\n") != std::string::npos)
    return bad("holds more than one word; it must hold the token alone");
  return token;
}

}  // namespace hibiki::cli
