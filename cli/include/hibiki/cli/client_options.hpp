#pragma once
/// The `hibiki` client's command line: global options, the command and its arguments, the server
/// URL, and where the token is stored. Pure parsing, unit-tested.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "hibiki/cli/client_tls.hpp"
#include "hibiki/core/result.hpp"

namespace hibiki::cli {

struct client_options {
  /// --server URL. Default: ws://127.0.0.1:8080
  std::string server = "ws://127.0.0.1:8080";
  /// --token TOKEN. Default: empty ($HIBIKI_TOKEN, then the stored token file)
  std::string token;
  /// --admin-url URL: where the operator commands (journal, cluster, admin) go, e.g. hibikid's
  /// --admin-http listener. Default: empty = --url / --server
  std::string admin_url;
  /// --admin-token-file FILE: the admin token the operator commands send. Default: empty =
  /// $HIBIKI_ADMIN_TOKEN, else none
  std::string admin_token_file;
  /// --ca-file FILE and --insecure: how a wss:// or https:// server is trusted.
  client_tls_options tls;
  /// `upload --content-type TYPE`: the type the file is announced with. Default: empty (guessed
  /// from the file's extension, file_names.hpp)
  std::string content_type;
  /// `download --room ROOM`: the room of a bare FILE_ID. Default: 0 (the room in ROOM/FILE_ID,
  /// else the caller's rooms are searched)
  std::uint64_t room = 0;
  /// `download --force`: replace an existing file. Default: false
  bool force = false;
  /// signup, send, tail, rooms, create-room, add-member, me, profile, contacts,
  /// contact-request, requests, accept, reject, dm, upload, download, journal, cluster, admin
  std::string command;
  std::vector<std::string> args;
  /// `journal status --json`, `cluster status --json`: print the server's JSON as it came.
  /// Default: a readable summary
  bool json = false;
  bool help = false;
  /// --version: print the version and exit.
  bool version = false;
};

/// The admin subcommands (`hibiki admin ACTION ...`) and their arguments: create-account NAME,
/// disable-account ID, enable-account ID, revoke-tokens ID, create-token ID, rename ID NAME.
bool is_admin_action(std::string_view action);

/// The fields `hibiki profile FIELD=VALUE` may set (the update_profile op's fields).
bool is_profile_field(std::string_view field);

/// Parses the arguments (without the program name) and checks the command's arity and numeric
/// arguments. `journal status`, `cluster status` and `admin ACTION ...` also take `--url URL`
/// (the same as --server), `--admin-url URL`, `--admin-token-file FILE`, `--ca-file FILE`,
/// `--insecure` and `--json` after them;
/// their args are then just {"status"} or {ACTION, ARGS...}. Errors: bad_request with a usage
/// message.
result<client_options> parse_client_options(const std::vector<std::string>& args);

struct server_url {
  std::string host;
  std::string port;
  std::string path;  ///< the WebSocket path; /ws unless the URL names one
  bool tls = false;  ///< wss:// or https:// (the same server either way)
};

/// ws://HOST[:PORT][/PATH] or http://... (same host and port; port 80 by default), wss:// or
/// https:// over TLS (port 443 by default). Errors: bad_request.
result<server_url> parse_server_url(std::string_view url);

/// Where `hibiki signup` stores the token: $HIBIKI_CONFIG when set, else
/// $HOME/.config/hibiki/token. Empty when neither variable is set.
std::string token_file_path();

/// `s` without surrounding whitespace (tokens read from files and variables).
std::string trim_spaces(std::string s);

/// The --help text.
std::string client_usage();

/// The URL the operator commands use: --admin-url when given, else --url / --server.
std::string operator_url(const client_options& o);

/// Parses a positive decimal id below 2^53. Errors: bad_request naming `what`.
result<std::uint64_t> parse_id(std::string_view text, std::string_view what);
/// Comma-separated ids ("1,2,3"; "" is none). Errors: bad_request naming `what`.
result<std::vector<std::uint64_t>> parse_id_list(std::string_view text, std::string_view what);

}  // namespace hibiki::cli
