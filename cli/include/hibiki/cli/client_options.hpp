#pragma once
/// The `hibiki` client's command line: global options, the command and its arguments, the server
/// URL, and where the token is stored. Pure parsing, unit-tested.

#include <string>
#include <string_view>
#include <vector>

#include "hibiki/core/result.hpp"

namespace hibiki::cli {

struct client_options {
  /// --server URL. Default: ws://127.0.0.1:8080
  std::string server = "ws://127.0.0.1:8080";
  /// --token TOKEN. Default: empty ($HIBIKI_TOKEN, then the stored token file)
  std::string token;
  /// signup, send, tail, rooms, create-room, add-member, journal, cluster
  std::string command;
  std::vector<std::string> args;
  /// `journal status --json`, `cluster status --json`: print the server's JSON as it came.
  /// Default: a readable summary
  bool json = false;
  bool help = false;
};

/// Parses the arguments (without the program name) and checks the command's arity and numeric
/// arguments. `journal status` and `cluster status` also take `--url URL` (the same as --server)
/// and `--json` after them; their args are then just {"status"}. Errors: bad_request with a usage
/// message.
result<client_options> parse_client_options(const std::vector<std::string>& args);

struct server_url {
  std::string host;
  std::string port;
  std::string path;  ///< the WebSocket path; /ws unless the URL names one
};

/// ws://HOST[:PORT][/PATH] or http://... (same host and port). Errors: bad_request.
result<server_url> parse_server_url(std::string_view url);

/// Where `hibiki signup` stores the token: $HIBIKI_CONFIG when set, else
/// $HOME/.config/hibiki/token. Empty when neither variable is set.
std::string token_file_path();

/// The --help text.
std::string client_usage();

/// Parses a positive decimal id below 2^53. Errors: bad_request naming `what`.
result<std::uint64_t> parse_id(std::string_view text, std::string_view what);

}  // namespace hibiki::cli
