// The S3 credentials of hibikid: a file (--s3-credentials-file, the owner's alone) or two
// environment variables. Never a flag (it would show in `ps`), never logged.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "hibiki/cli/daemon_options.hpp"
#include "owner_only_file.hpp"

namespace hibiki::cli {
namespace {

std::string_view trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

result<persistence::sigv4::credentials> from_file(const std::string& path) {
  auto bad = [&](const std::string& why) {
    return result<persistence::sigv4::credentials>(errc::bad_request,
                                                   "--s3-credentials-file " + path + ": " + why);
  };
  auto read = read_owner_only_file(path, "--s3-credentials-file");
  if (!read) return read.error();
  const std::string& text = *read;
  persistence::sigv4::credentials creds;
  std::string_view rest = text;
  int line_number = 0;
  while (!rest.empty()) {
    const auto nl = rest.find('\n');
    const auto line = trimmed(rest.substr(0, nl));
    rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
    ++line_number;
    if (line.empty() || line.front() == '#') continue;
    const auto eq = line.find('=');
    const auto key = eq == std::string_view::npos ? line : trimmed(line.substr(0, eq));
    const auto value =
        eq == std::string_view::npos ? std::string_view{} : trimmed(line.substr(eq + 1));
    // The line number only: the line itself may hold the secret.
    if (key == "access_key")
      creds.access_key = std::string(value);
    else if (key == "secret_key")
      creds.secret_key = std::string(value);
    else
      return bad("line " + std::to_string(line_number) +
                 ": expected `access_key = ...` or `secret_key = ...`");
  }
  if (creds.access_key.empty() || creds.secret_key.empty()) {
    return bad("needs both `access_key = ...` and `secret_key = ...`");
  }
  return creds;
}

}  // namespace

result<persistence::sigv4::credentials> load_s3_credentials(const daemon_options& options,
                                                            const environment& env) {
  if (options.s3_endpoint.empty()) return persistence::sigv4::credentials{};
  if (!options.s3_credentials_file.empty()) return from_file(options.s3_credentials_file);
  persistence::sigv4::credentials creds;
  if (auto it = env.find("HIBIKI_S3_ACCESS_KEY"); it != env.end()) creds.access_key = it->second;
  if (auto it = env.find("HIBIKI_S3_SECRET_KEY"); it != env.end()) creds.secret_key = it->second;
  if (creds.access_key.empty() || creds.secret_key.empty()) {
    return result<persistence::sigv4::credentials>(
        errc::bad_request,
        "--s3-endpoint needs credentials: HIBIKI_S3_ACCESS_KEY and HIBIKI_S3_SECRET_KEY, or "
        "--s3-credentials-file");
  }
  return creds;
}

}  // namespace hibiki::cli
