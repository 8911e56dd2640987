/// The rules of a room's webhook settings: who may add, list and remove them, which URLs and
/// events are accepted, and how many a room may have. Pure, like the rest of the room's rules.

#include <algorithm>
#include <cctype>
#include <charconv>
#include <string>

#include "hibiki/core/room.hpp"
#include "room_webhook_rules.hpp"

namespace hibiki::room {

namespace {

hibiki::error fail(errc code, std::string message) {
  return {code, std::move(message)};
}

constexpr std::string_view event_names[] = {"message_created", "mention_to_me", "task_created"};

bool is_printable_ascii(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return c > 0x20 && c < 0x7F; });
}

bool starts_with_nocase(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    char c = text[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != prefix[i]) return false;
  }
  return true;
}

/// The characters a registered name or an IPv6 literal may hold (RFC 3986, without
/// percent-encoding: a host name with escapes is refused rather than decoded).
bool is_host_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '-' || c == '_';
}

}  // namespace

std::string_view to_string(webhook_event e) {
  return event_names[static_cast<std::size_t>(e)];
}

std::optional<webhook_event> parse_webhook_event(std::string_view text) {
  for (std::size_t i = 0; i < std::size(event_names); ++i) {
    if (event_names[i] == text) return static_cast<webhook_event>(i);
  }
  return std::nullopt;
}

bool webhook_setting::wants(webhook_event e) const {
  return std::find(events.begin(), events.end(), e) != events.end();
}

result<webhook_url> parse_webhook_url(std::string_view url) {
  if (url.size() > max_webhook_url_bytes) {
    return fail(errc::too_large, "url is over " + std::to_string(max_webhook_url_bytes) + " bytes");
  }
  if (url.empty()) return fail(errc::bad_request, "url is empty");
  if (!is_printable_ascii(url)) {
    return fail(errc::bad_request, "url must be printable ASCII without spaces");
  }
  webhook_url out;
  std::string_view rest;
  if (starts_with_nocase(url, "https://")) {
    out.https = true;
    rest = url.substr(8);
  } else if (starts_with_nocase(url, "http://")) {
    rest = url.substr(7);
  } else {
    return fail(errc::bad_request, "url must start with http:// or https://");
  }
  if (rest.find('#') != std::string_view::npos) {
    return fail(errc::bad_request, "url must not have a fragment (#)");
  }
  const auto authority_end = rest.find_first_of("/?");
  const auto authority = rest.substr(0, authority_end);
  if (authority.find('@') != std::string_view::npos) {
    return fail(errc::bad_request, "url must not carry user information (user@host)");
  }
  std::string target =
      authority_end == std::string_view::npos ? "/" : std::string(rest.substr(authority_end));
  if (target.front() == '?') target.insert(target.begin(), '/');
  out.target = std::move(target);

  std::string_view host = authority;
  std::string_view port;
  if (!host.empty() && host.front() == '[') {
    const auto close = host.find(']');
    if (close == std::string_view::npos) return fail(errc::bad_request, "url has an unclosed [");
    const auto literal = host.substr(1, close - 1);
    const auto after = host.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return fail(errc::bad_request, "url has text after ]");
      port = after.substr(1);
      if (port.empty()) return fail(errc::bad_request, "url has an empty port");
    }
    if (literal.empty() || !std::all_of(literal.begin(), literal.end(), [](char c) {
          return std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.';
        })) {
      return fail(errc::bad_request, "url has a malformed IPv6 address");
    }
    host = literal;
  } else {
    const auto colon = host.rfind(':');
    if (colon != std::string_view::npos) {
      port = host.substr(colon + 1);
      host = host.substr(0, colon);
      if (port.empty()) return fail(errc::bad_request, "url has an empty port");
    }
    if (!std::all_of(host.begin(), host.end(), is_host_char)) {
      return fail(errc::bad_request, "url has a malformed host");
    }
  }
  if (host.empty()) return fail(errc::bad_request, "url has no host");
  out.host = std::string(host);
  out.port = out.https ? 443 : 80;
  if (!port.empty()) {
    unsigned value = 0;
    const auto* end = port.data() + port.size();
    auto [p, ec] = std::from_chars(port.data(), end, value);
    if (ec != std::errc{} || p != end || value == 0 || value > 65535) {
      return fail(errc::bad_request, "url has a port that is not 1 to 65535");
    }
    out.port = static_cast<std::uint16_t>(value);
  }
  return out;
}

namespace detail {

result<decision> decide_create_webhook(const state& s, const member_state& actor,
                                       const create_webhook& c) {
  if (actor.role != role::admin) return fail(errc::forbidden, "only admins manage webhooks");
  if (auto url = parse_webhook_url(c.url); !url) return url.error();
  if (c.events.empty()) {
    return fail(errc::bad_request,
                "events must name at least one of message_created, mention_to_me, task_created");
  }
  std::vector<webhook_event> events;
  for (const auto& name : c.events) {
    auto e = parse_webhook_event(name);
    if (!e) {
      return fail(errc::bad_request, "unknown webhook event \"" + name.substr(0, 64) +
                                         "\" (message_created, mention_to_me, task_created)");
    }
    if (std::find(events.begin(), events.end(), *e) != events.end()) {
      return fail(errc::bad_request, "event \"" + name + "\" is listed twice");
    }
    events.push_back(*e);
  }
  if (s.webhooks.size() >= max_webhooks_per_room) {
    return fail(errc::conflict, "a room has at most " + std::to_string(max_webhooks_per_room) +
                                    " webhooks: delete one first");
  }
  if (c.token.empty()) return fail(errc::internal, "a webhook needs a secret");
  decision d;
  d.events.push_back(webhook_created{webhook_id{s.last_webhook.value + 1}, c.url, std::move(events),
                                     c.token, c.actor, c.now});
  return d;
}

result<decision> decide_list_webhooks(const state&, const member_state& actor) {
  if (actor.role != role::admin) return fail(errc::forbidden, "only admins manage webhooks");
  return decision{};
}

result<decision> decide_delete_webhook(const state& s, const member_state& actor,
                                       const delete_webhook& c) {
  if (actor.role != role::admin) return fail(errc::forbidden, "only admins manage webhooks");
  if (!s.webhooks.contains(c.webhook)) return fail(errc::not_found, "no such webhook in this room");
  decision d;
  d.events.push_back(webhook_deleted{c.webhook, c.actor, c.now});
  return d;
}

void apply_webhook(state& s, const webhook_created& e) {
  if (e.id <= s.last_webhook) return;  // ids only grow
  s.last_webhook = e.id;
  s.webhooks[e.id] = webhook_setting{e.url, e.events, e.token, e.by, e.time};
}

void apply_webhook(state& s, const webhook_deleted& e) {
  s.webhooks.erase(e.id);
}

}  // namespace detail

}  // namespace hibiki::room
