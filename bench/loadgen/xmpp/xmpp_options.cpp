#include "xmpp_options.hpp"

namespace hibiki::bench {

const char* const xmpp_usage_text =
    "  --protocol hibiki|xmpp      the protocol spoken (hibiki); xmpp: MUC over WebSocket\n"
    "                              (RFC 7395): accounts register in band, rooms are MUC\n"
    "                              rooms, a sender's reflected message is its ack\n"
    "  --xmpp-domain D             XMPP domain of the accounts (localhost)\n"
    "  --xmpp-muc-domain D         MUC service (conference.<domain>)\n"
    "  --xmpp-password P           password of every load account (lg-password)\n"
    "  --xmpp-register true|false  register accounts in band first (true)\n"
    "  --xmpp-user-prefix P        account names P<index> (lg<pid>-)\n";

bool parse_xmpp_option(std::string_view arg, std::string_view value, xmpp_options& o, bool& ok) {
  if (arg == "--protocol") {
    ok = value == "hibiki" || value == "xmpp";
    o.enabled = value == "xmpp";
  } else if (arg == "--xmpp-domain") {
    o.domain = std::string(value);
    ok = !value.empty();
  } else if (arg == "--xmpp-muc-domain") {
    o.muc_domain = std::string(value);
    ok = !value.empty();
  } else if (arg == "--xmpp-password") {
    o.password = std::string(value);
    ok = !value.empty();
  } else if (arg == "--xmpp-register") {
    ok = value == "true" || value == "false";
    o.register_accounts = value == "true";
  } else if (arg == "--xmpp-user-prefix") {
    o.user_prefix = std::string(value);
    ok = !value.empty() && value.find_first_of("@/ ") == std::string_view::npos;
  } else {
    return false;
  }
  return true;
}

}  // namespace hibiki::bench
