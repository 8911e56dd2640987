#include "hibiki/cli/client_options.hpp"

#include <cctype>
#include <cstdlib>

#include "hibiki/cli/file_names.hpp"
#include "hibiki/core/ids.hpp"
#include "hibiki/core/room_file.hpp"
#include "number_parse.hpp"

namespace hibiki::cli {
namespace {

result<client_options> usage_error(std::string message) {
  return result<client_options>(errc::bad_request, std::move(message));
}

status check_id(std::string_view text, std::string_view what);

/// The value of the option at args[k], `--key=value` (eq is the position of its `=`) or
/// `--key value` (k then moves past the value).
result<std::string> option_value(const std::vector<std::string>& args, std::size_t& k,
                                 std::string_view::size_type eq, const std::string& key) {
  if (eq != std::string_view::npos) return args[k].substr(eq + 1);
  if (k + 1 >= args.size()) {
    return result<std::string>(errc::bad_request, "option --" + key + " needs a value");
  }
  return args[++k];
}

/// The options an operator command takes after its words (--url, --admin-url,
/// --admin-token-file, --ca-file, --insecure, --json); the other arguments are kept in order.
status parse_operator_args(client_options& o, const std::string& usage) {
  // The command's words come first ("status", "disable-account 7"), then its options.
  if (o.args.empty() || o.args[0].rfind("--", 0) == 0) return status(errc::bad_request, usage);
  std::vector<std::string> words;
  for (std::size_t k = 0; k < o.args.size(); ++k) {
    std::string_view a = o.args[k];
    if (a == "--json") {
      o.json = true;
      continue;
    }
    if (a == "--insecure") {
      o.tls.insecure = true;
      continue;
    }
    if (a.rfind("--", 0) != 0 || a.size() == 2) {
      words.push_back(std::string(a));
      continue;
    }
    auto eq = a.find('=');
    const std::string key(a.substr(2, eq == std::string_view::npos ? a.npos : eq - 2));
    if (key != "url" && key != "admin-url" && key != "admin-token-file" && key != "ca-file")
      return status(errc::bad_request, "unexpected argument '" + std::string(a) + "'; " + usage);
    auto value_or = option_value(o.args, k, eq, key);
    if (!value_or) return value_or.error();
    const std::string value = std::move(*value_or);
    if (key == "admin-token-file" || key == "ca-file") {
      if (value.empty()) return status(errc::bad_request, "option --" + key + " needs a value");
      (key == "ca-file" ? o.tls.ca_file : o.admin_token_file) = value;
      continue;
    }
    if (auto u = parse_server_url(value); !u) return u.error();
    (key == "url" ? o.server : o.admin_url) = value;
  }
  o.args = std::move(words);
  return status::success();
}

/// The options `upload` and `download` take among their arguments (--content-type TYPE; --room
/// ROOM, --force); `--` ends them, so a file may be named like an option.
status parse_file_args(client_options& o) {
  const bool upload = o.command == "upload";
  std::vector<std::string> words;
  bool options_done = false;
  for (std::size_t k = 0; k < o.args.size(); ++k) {
    std::string_view a = o.args[k];
    if (options_done || a.size() < 2 || a.substr(0, 2) != "--") {
      words.push_back(std::string(a));
      continue;
    }
    if (a == "--") {
      options_done = true;
      continue;
    }
    if (!upload && a == "--force") {
      o.force = true;
      continue;
    }
    const auto eq = a.find('=');
    const std::string key(a.substr(2, eq == std::string_view::npos ? a.npos : eq - 2));
    if (key != (upload ? "content-type" : "room")) {
      return status(errc::bad_request, "unknown option " + std::string(a) + " for " + o.command);
    }
    auto value_or = option_value(o.args, k, eq, key);
    if (!value_or) return value_or.error();
    const std::string value = std::move(*value_or);
    if (upload) {
      if (auto st = room::check_content_type(value); !st)
        return status(errc::bad_request, "--content-type '" + value + "': " + st.error().message);
      o.content_type = value;
    } else {
      auto room = parse_id(value, "room id");
      if (!room) return room.error();
      o.room = *room;
    }
  }
  o.args = std::move(words);
  return status::success();
}

}  // namespace

bool is_admin_action(std::string_view action) {
  for (std::string_view a : {"create-account", "disable-account", "enable-account", "revoke-tokens",
                             "create-token", "rename"})
    if (a == action) return true;
  return false;
}

bool is_profile_field(std::string_view field) {
  for (std::string_view f :
       {"name", "chatwork_id", "organization_name", "department", "title", "introduction"})
    if (f == field) return true;
  return false;
}

std::string operator_url(const client_options& o) {
  return o.admin_url.empty() ? o.server : o.admin_url;
}

result<std::uint64_t> parse_id(std::string_view text, std::string_view what) {
  auto n = parse_unsigned(text, max_wire_id);
  if (!n || *n == 0) {
    return result<std::uint64_t>(errc::bad_request, "invalid " + std::string(what) + " '" +
                                                        std::string(text) +
                                                        "': expected a positive integer");
  }
  return *n;
}

result<std::vector<std::uint64_t>> parse_id_list(std::string_view text, std::string_view what) {
  std::vector<std::uint64_t> out;
  if (text.empty()) return out;
  std::size_t start = 0;
  for (;;) {
    auto comma = text.find(',', start);
    auto id = parse_id(
        text.substr(start, comma == std::string_view::npos ? text.npos : comma - start), what);
    if (!id) return id.error();
    out.push_back(*id);
    if (comma == std::string_view::npos) return out;
    start = comma + 1;
  }
}

namespace {
status check_id(std::string_view text, std::string_view what) {
  auto id = parse_id(text, what);
  if (!id) return id.error();
  return status::success();
}
}  // namespace

result<client_options> parse_client_options(const std::vector<std::string>& args) {
  client_options o;
  std::size_t i = 0;
  for (; i < args.size(); ++i) {
    std::string_view a = args[i];
    if (a == "--help" || a == "-h") {
      o.help = true;
      return o;
    }
    if (a == "--version") {
      o.version = true;
      return o;
    }
    if (a.substr(0, 2) != "--") break;
    if (a == "--insecure") {
      o.tls.insecure = true;
      continue;
    }
    a.remove_prefix(2);
    auto eq = a.find('=');
    std::string key(a.substr(0, eq));
    std::string value;
    if (eq != std::string_view::npos) {
      value = std::string(a.substr(eq + 1));
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      return usage_error("option --" + key + " needs a value");
    }
    if (key == "server") {
      if (auto u = parse_server_url(value); !u) return u.error();
      o.server = value;
    } else if (key == "token") {
      if (value.empty()) return usage_error("option --token needs a value");
      o.token = value;
    } else if (key == "admin-url") {
      if (auto u = parse_server_url(value); !u) return u.error();
      o.admin_url = value;
    } else if (key == "admin-token-file") {
      if (value.empty()) return usage_error("option --admin-token-file needs a value");
      o.admin_token_file = value;
    } else if (key == "ca-file") {
      if (value.empty()) return usage_error("option --ca-file needs a value");
      o.tls.ca_file = value;
    } else {
      return usage_error("unknown option --" + key);
    }
  }
  if (i == args.size()) return usage_error("missing command");
  o.command = args[i++];
  o.args.assign(args.begin() + static_cast<std::ptrdiff_t>(i), args.end());

  auto arity = [&](std::size_t min, std::size_t max, std::string_view usage) -> status {
    if (o.args.size() < min || o.args.size() > max)
      return status(errc::bad_request, "usage: hibiki " + std::string(usage));
    return status::success();
  };
  status st;
  if (o.command == "signup") {
    st = arity(1, 1, "signup NAME");
  } else if (o.command == "send") {
    st = arity(2, 2, "send ROOM TEXT");
    if (st) st = check_id(o.args[0], "room id");
    if (st && o.args[1].empty()) st = status(errc::bad_request, "the message text is empty");
  } else if (o.command == "tail") {
    st = arity(1, 1, "tail ROOM");
    if (st) st = check_id(o.args[0], "room id");
  } else if (o.command == "rooms") {
    st = arity(0, 0, "rooms");
  } else if (o.command == "create-room") {
    st = arity(1, static_cast<std::size_t>(-1), "create-room NAME [MEMBER_ID...]");
    for (std::size_t k = 1; st && k < o.args.size(); ++k) st = check_id(o.args[k], "member id");
  } else if (o.command == "journal" || o.command == "cluster") {
    // Operator commands: `journal status` and `cluster status`, each an HTTP GET.
    const std::string usage = "usage: hibiki " + o.command +
                              " status [--url URL] [--admin-url URL] [--admin-token-file FILE] "
                              "[--ca-file FILE] [--insecure] [--json]";
    if (auto p = parse_operator_args(o, usage); !p) return p.error();
    if (o.args.size() != 1 || o.args[0] != "status") return usage_error(usage);
  } else if (o.command == "admin") {
    const std::string usage =
        "usage: hibiki admin create-account NAME | disable-account ID | enable-account ID | "
        "revoke-tokens ID | create-token ID | rename ID NEW_NAME | projections | rebuild "
        "PROJECTION [--admin-url URL] [--admin-token-file FILE] [--ca-file FILE] [--insecure] "
        "[--json]";
    if (auto p = parse_operator_args(o, usage); !p) return p.error();
    const bool projection_action =
        !o.args.empty() && (o.args[0] == "projections" || o.args[0] == "rebuild");
    if (o.args.empty() || (!is_admin_action(o.args[0]) && !projection_action))
      return usage_error(usage);
    const auto& action = o.args[0];
    if (action == "projections") {
      st = arity(1, 1, "admin projections");
    } else if (action == "rebuild") {
      st = arity(2, 2, "admin rebuild PROJECTION");
      if (st && (o.args[1].empty() || o.args[1].find('/') != std::string::npos))
        st = status(errc::bad_request, "admin rebuild: a projection name such as search");
    } else if (action == "create-account") {
      st = arity(2, 2, "admin create-account NAME");
    } else if (action == "rename") {
      st = arity(3, 3, "admin rename ID NEW_NAME");
      if (st) st = check_id(o.args[1], "account id");
    } else {
      st = arity(2, 2, "admin " + action + " ID");
      if (st) st = check_id(o.args[1], "account id");
    }
  } else if (o.command == "me" || o.command == "contacts" || o.command == "requests") {
    st = arity(0, 0, o.command);
  } else if (o.command == "profile") {
    st = arity(1, static_cast<std::size_t>(-1), "profile FIELD=VALUE...");
    for (std::size_t k = 0; st && k < o.args.size(); ++k) {
      const auto& a = o.args[k];
      const auto field = a.substr(0, a.find('='));
      if (a.find('=') == std::string::npos || !is_profile_field(field))
        st = status(errc::bad_request,
                    "profile takes FIELD=VALUE with FIELD one of name, chatwork_id, "
                    "organization_name, department, title, introduction; got '" +
                        a + "'");
    }
  } else if (o.command == "contact-request") {
    st = arity(1, 2, "contact-request ACCOUNT_ID [MESSAGE]");
    if (st) st = check_id(o.args[0], "account id");
  } else if (o.command == "accept" || o.command == "reject") {
    st = arity(1, 1, o.command + " ACCOUNT_ID");
    if (st) st = check_id(o.args[0], "account id");
  } else if (o.command == "dm") {
    st = arity(2, 2, "dm ACCOUNT_ID TEXT");
    if (st) st = check_id(o.args[0], "account id");
    if (st && o.args[1].empty()) st = status(errc::bad_request, "the message text is empty");
  } else if (o.command == "add-member") {
    st = arity(2, 2, "add-member ROOM ACCOUNT_ID");
    if (st) st = check_id(o.args[0], "room id");
    if (st) st = check_id(o.args[1], "account id");
  } else if (o.command == "members" || o.command == "tasks") {
    st = arity(1, 1, o.command + " ROOM");
    if (st) st = check_id(o.args[0], "room id");
  } else if (o.command == "set-members") {
    st = arity(2, 4, "set-members ROOM ADMIN_IDS [MEMBER_IDS [READONLY_IDS]]  (comma-separated)");
    if (st) st = check_id(o.args[0], "room id");
    for (std::size_t k = 1; st && k < o.args.size(); ++k) {
      auto ids = parse_id_list(o.args[k], "account id");
      if (!ids) st = ids.error();
    }
    if (st && o.args[1].empty()) st = status(errc::bad_request, "a room needs at least one admin");
  } else if (o.command == "add-task") {
    st = arity(3, static_cast<std::size_t>(-1), "add-task ROOM TEXT ACCOUNT_ID...");
    if (st) st = check_id(o.args[0], "room id");
    if (st && o.args[1].empty()) st = status(errc::bad_request, "the task text is empty");
    for (std::size_t k = 2; st && k < o.args.size(); ++k) st = check_id(o.args[k], "account id");
  } else if (o.command == "done" || o.command == "reopen") {
    st = arity(2, 2, o.command + " ROOM TASK_ID");
    if (st) st = check_id(o.args[0], "room id");
    if (st) st = check_id(o.args[1], "task id");
  } else if (o.command == "upload") {
    if (auto p = parse_file_args(o); !p) return p.error();
    st = arity(2, 2, "upload ROOM PATH [--content-type TYPE]");
    if (st) st = check_id(o.args[0], "room id");
    if (st && o.args[1].empty()) st = status(errc::bad_request, "the file path is empty");
  } else if (o.command == "download") {
    if (auto p = parse_file_args(o); !p) return p.error();
    st = arity(1, 2, "download ROOM_ID/FILE_ID [PATH] | FILE_ID [PATH] [--room ROOM] [--force]");
    if (st) {
      auto ref = parse_file_ref(o.args[0]);
      if (!ref) {
        st = ref.error();
      } else if (o.room != 0 && ref->room_id != 0 && o.room != ref->room_id) {
        st = status(errc::bad_request, "--room " + std::to_string(o.room) + " and '" + o.args[0] +
                                           "' name different rooms");
      }
    }
    if (st && o.args.size() > 1 && o.args[1].empty())
      st = status(errc::bad_request, "the download path is empty");
  } else if (o.command == "my-tasks") {
    st = arity(0, 0, "my-tasks");
  } else {
    return usage_error("unknown command '" + o.command + "'");
  }
  if (!st) return st.error();
  return o;
}

result<server_url> parse_server_url(std::string_view url) {
  server_url u;
  std::string_view rest;
  for (std::string_view scheme : {"ws://", "http://", "wss://", "https://"}) {
    if (url.substr(0, scheme.size()) == scheme) {
      rest = url.substr(scheme.size());
      u.tls = scheme == "wss://" || scheme == "https://";
      break;
    }
  }
  if (rest.empty()) {
    return result<server_url>(errc::bad_request,
                              "invalid server URL '" + std::string(url) +
                                  "': expected ws://HOST:PORT, wss://, http:// or https://");
  }
  auto slash = rest.find('/');
  auto authority = rest.substr(0, slash);
  u.path = slash == std::string_view::npos ? "" : std::string(rest.substr(slash));
  if (u.path.empty() || u.path == "/") u.path = "/ws";
  std::string_view host = authority, port = u.tls ? "443" : "80";
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos)
      return result<server_url>(errc::bad_request, "invalid server URL");
    host = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':')
        return result<server_url>(errc::bad_request, "invalid server URL");
      port = authority.substr(close + 2);
    }
  } else if (auto colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty() || !parse_unsigned(port, 65535) || port == "0") {
    return result<server_url>(errc::bad_request, "invalid server URL '" + std::string(url) + "'");
  }
  u.host = std::string(host);
  u.port = std::string(port);
  return u;
}

std::string trim_spaces(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  std::size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}

std::string token_file_path() {
  if (const char* p = std::getenv("HIBIKI_CONFIG"); p != nullptr && *p != '\0') return p;
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0')
    return std::string(home) + "/.config/hibiki/token";
  return {};
}

std::string client_usage() {
  return R"(usage: hibiki [--server URL] [--token TOKEN] [--admin-url URL] [--admin-token-file FILE]
              [--ca-file FILE] [--insecure] COMMAND [ARGS...]
       hibiki --version

Commands:
  signup NAME                       create an account; prints its id and token and stores the token
  send ROOM TEXT                    post a message; prints its message_id and seq
  tail ROOM                         print the last 20 messages, then new events, until Ctrl-C
  rooms                             list your rooms
  create-room NAME [MEMBER_ID...]   create a room; prints its id
  add-member ROOM ACCOUNT_ID        add an account to a room
  members ROOM                      the room's members with their roles and names
  set-members ROOM ADMIN_IDS [MEMBER_IDS [READONLY_IDS]]
                                    replace the member lists at once (ids comma-separated, e.g.
                                    1,2; members left out are removed; at least one admin)
  add-task ROOM TEXT ACCOUNT_ID...  a task for each account; prints the task ids
  tasks ROOM                        the room's tasks
  my-tasks                          the tasks assigned to you, in every room
  done ROOM TASK_ID                 mark a task done (its assignee or creator)
  reopen ROOM TASK_ID               mark a task open again
  me                                your profile and the id of your `my` room
  profile FIELD=VALUE...            change your profile: name, chatwork_id, organization_name,
                                    department, title, introduction (VALUE may be empty)
  contacts                          your contacts with their direct room
  contact-request ACCOUNT_ID [MESSAGE]
                                    ask an account to become a contact
  requests                          the contact requests waiting for you
  accept ACCOUNT_ID                 accept that account's request; prints the direct room
  reject ACCOUNT_ID                 turn that account's request down
  dm ACCOUNT_ID TEXT                post to the direct room you share with a contact
  upload ROOM PATH [--content-type TYPE]
                                    share a file in a room: its bytes go straight to the
                                    server's object store; prints the file as ROOM_ID/FILE_ID
                                    (the type is guessed from the extension unless given)
  download ROOM_ID/FILE_ID [PATH] [--force]
  download FILE_ID [PATH] [--room ROOM] [--force]
                                    save a shared file as PATH (default: its own name here;
                                    inside PATH if a directory; - for stdout); an existing file
                                    is kept unless --force. File ids count from 1 in each room:
                                    a bare FILE_ID is looked for in all your rooms and refused
                                    when several have it
  journal status [--url URL] [--json]
                                    the server's journal: kind, topic, breaker state, and per
                                    partition the indexed offset, end offset and lag (GET
                                    /api/journal, an operator endpoint); --json prints the raw JSON
  cluster status [--url URL] [--json]
                                    the cluster as the server sees it: its nodes with their
                                    endpoint, reachability, shards and lag, and the shards
                                    nobody owns (GET /api/cluster, an operator endpoint)
  admin create-account NAME         an account even when sign-up is closed; prints its id and
                                    its token (shown once)
  admin disable-account ID          the account can no longer authenticate; its connections close
  admin enable-account ID           undoes disable-account
  admin revoke-tokens ID            its token stops working; its connections close
  admin create-token ID             a new token for the account (shown once); the old one stops
  admin rename ID NEW_NAME          a new display name
  admin projections                 the read-side projections: state, lag, events applied
  admin rebuild PROJECTION          rebuilds one (e.g. search) from the start of the journal,
                                    printing progress until done, then its events/s

Operator commands (journal, cluster, admin) send the admin token (--admin-token-file FILE, else
$HIBIKI_ADMIN_TOKEN) and go to --admin-url when given (hibikid's --admin-http listener), else to
--url / --server.

Options:
  --server URL    ws://HOST:PORT or http://HOST:PORT; wss:// or https:// for a server with TLS
                  (default ws://127.0.0.1:8080)
  --token TOKEN   the account's token (default: $HIBIKI_TOKEN, then the stored token)
  --admin-url URL           where operator commands go (default: --url / --server)
  --admin-token-file FILE   the admin token for operator commands (default: $HIBIKI_ADMIN_TOKEN)
  --ca-file FILE  trust the CA certificates in FILE (PEM) besides the system's, for a server
                  whose certificate a private CA signed
  --insecure      do not check the server's certificate or host name (said on stderr; for tests
                  only: anyone on the path could read and change the connection)
  --version       print the version

Over TLS the server's certificate must be signed by a trusted CA and name the URL's host.

The token is stored in $HIBIKI_CONFIG, or ~/.config/hibiki/token when it is unset.
Exit codes: 0 success, 1 error, 2 usage error.
)";
}

}  // namespace hibiki::cli
