#pragma once
/// The options of the load generator's XMPP mode (`--protocol xmpp`): the same scenario driven
/// over XMPP MUC on WebSocket (RFC 7395), for a side-by-side run with an XMPP server.

#include <string>
#include <string_view>

namespace hibiki::bench {

struct xmpp_options {
  /// `--protocol xmpp`: speak XMPP instead of hibiki's protocol. Default: false (hibiki)
  bool enabled = false;
  /// The XMPP domain the accounts live on (`--xmpp-domain`). Default: localhost
  std::string domain = "localhost";
  /// The MUC service's domain (`--xmpp-muc-domain`). Default: conference.<domain>
  std::string muc_domain;
  /// The password of every load account (`--xmpp-password`). Default: lg-password
  std::string password = "lg-password";
  /// Register each account in band (XEP-0077) before authenticating; an account that already
  /// exists is used as it is (`--xmpp-register true|false`). Default: true
  bool register_accounts = true;
  /// Account names are this prefix and the connection's index (`--xmpp-user-prefix`).
  /// Default: lg<pid>-
  std::string user_prefix;
};

/// The lines of `--help` for the options above.
extern const char* const xmpp_usage_text;

/// When `arg` is one of the XMPP options (`--protocol` included): sets `ok` to whether `value`
/// is valid, stores it and returns true. Returns false for any other option.
bool parse_xmpp_option(std::string_view arg, std::string_view value, xmpp_options& o, bool& ok);

}  // namespace hibiki::bench
