/// The user aggregate's rules: registration once, renames and profile edits by the owner only,
/// the operator's commands (disable, enable, revoke, issue a token) on registered accounts only,
/// one `my` room per account, and the contact requests of the pairs this account owns.

#include <algorithm>

#include "hibiki/core/user.hpp"
#include "utf8.hpp"

namespace hibiki::user {

namespace {

bool is_control(char32_t cp) {
  return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F);
}

/// Whitespace a name may contain but not consist of (ASCII, NBSP, the Unicode spaces, U+3000).
bool is_space(char32_t cp) {
  return cp == U' ' || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200B) ||
         cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000 ||
         cp == 0xFEFF;
}

bool is_token_hash(std::string_view h) {
  return h.size() == 64 && std::all_of(h.begin(), h.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
         });
}

/// Text of at most `max` code points, valid UTF-8, without control characters (newlines and tabs
/// too when `multiline`).
status validate_text(std::string_view text, std::string_view field, std::size_t max,
                     bool multiline) {
  std::size_t count = 0;
  bool control = false;
  const bool valid = detail::for_each_code_point(text, [&](char32_t cp) {
    ++count;
    if (multiline && (cp == U'\n' || cp == U'\t')) return;
    control = control || is_control(cp);
  });
  if (!valid) return {errc::bad_request, std::string(field) + " must be valid UTF-8"};
  if (count > max) {
    return {errc::bad_request,
            std::string(field) + " must be at most " + std::to_string(max) + " characters"};
  }
  if (control) {
    return {errc::bad_request, std::string(field) + " must not contain control characters"};
  }
  return {};
}

bool is_chatwork_id_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == '-';
}

hibiki::error no_request_from(account_id requester) {
  return {errc::not_found, "no contact request from account " + std::to_string(requester.value)};
}

/// Pair commands reach the owner of the pair only; anything else is a routing bug.
std::optional<hibiki::error> check_pair(const state& s, account_id a, account_id b) {
  if (!a || !b || a.value > max_wire_id || b.value > max_wire_id)
    return hibiki::error{errc::bad_request, "account_id must be a positive integer"};
  if (a == b) return hibiki::error{errc::bad_request, "a contact request needs another account"};
  if (pair_owner(a, b) != s.id)
    return hibiki::error{errc::bad_request, "this account does not own that pair"};
  return std::nullopt;
}

result<std::vector<event>> decide_update(const state& s, const update_profile& c) {
  if (c.actor != s.id) return hibiki::error{errc::forbidden, "only the owner may edit a profile"};
  if (auto st = validate_profile(c); !st) return st.error();
  std::vector<event> out;
  if (c.name && *c.name != s.name) out.push_back(account_renamed{*c.name});
  profile p = s.profile;
  if (c.chatwork_id) p.chatwork_id = *c.chatwork_id;
  if (c.organization) p.organization = *c.organization;
  if (c.department) p.department = *c.department;
  if (c.title) p.title = *c.title;
  if (c.introduction) p.introduction = *c.introduction;
  if (p != s.profile) out.push_back(profile_updated{std::move(p)});
  return out;
}

result<std::vector<event>> decide_request(const state& s, const request_contact& c) {
  if (auto err = check_pair(s, c.from, c.to)) return *err;
  if (auto st = validate_text(c.message, "message", max_request_message_chars, true); !st)
    return st.error();
  if (const auto* p = find_pair(s, c.from == s.id ? c.to : c.from)) {
    if (p->contacts) return hibiki::error{errc::conflict, "already contacts"};
    if (p->requester == c.from)
      return hibiki::error{errc::conflict, "a contact request to that account is already waiting"};
    return hibiki::error{errc::conflict, "account " + std::to_string(c.to.value) +
                                             " already sent you a contact request: accept it"};
  }
  return std::vector<event>{contact_requested{c.from, c.to, c.message, c.now}};
}

result<std::vector<event>> decide_accept(const state& s, const accept_contact& c) {
  if (auto err = check_pair(s, c.actor, c.requester)) return *err;
  const auto* p = find_pair(s, c.actor == s.id ? c.requester : c.actor);
  if (p == nullptr) return no_request_from(c.requester);
  // Accepted before (a retry, or two connections at once): nothing changes, and the reply
  // names the room the pair already has.
  if (p->contacts) return std::vector<event>{};
  if (p->requester != c.requester) return no_request_from(c.requester);
  if (!c.room) return hibiki::error{errc::bad_request, "room_id must be a positive integer"};
  return std::vector<event>{contact_accepted{c.requester, c.actor, c.room}};
}

result<std::vector<event>> decide_reject(const state& s, const reject_contact& c) {
  if (auto err = check_pair(s, c.actor, c.requester)) return *err;
  const auto* p = find_pair(s, c.actor == s.id ? c.requester : c.actor);
  if (p == nullptr || p->contacts || p->requester != c.requester)
    return no_request_from(c.requester);
  return std::vector<event>{contact_request_rejected{c.requester, c.actor}};
}

}  // namespace

const pair_state* find_pair(const state& s, account_id other) {
  auto it = s.pairs.find(other);
  return it == s.pairs.end() ? nullptr : &it->second;
}

status validate_profile(const update_profile& u) {
  if (u.name) {
    if (auto st = validate_name(*u.name); !st) return st;
  }
  if (u.chatwork_id) {
    const auto& id = *u.chatwork_id;
    if (id.size() > max_chatwork_id_chars) {
      return {errc::bad_request, "chatwork_id must be at most " +
                                     std::to_string(max_chatwork_id_chars) + " characters"};
    }
    if (!std::all_of(id.begin(), id.end(), is_chatwork_id_char)) {
      return {errc::bad_request, "chatwork_id may contain only letters, digits, '_', '.' and '-'"};
    }
  }
  const std::pair<const std::optional<std::string>*, std::string_view> lines[] = {
      {&u.organization, "organization_name"}, {&u.department, "department"}, {&u.title, "title"}};
  for (const auto& [value, field] : lines) {
    if (!*value) continue;
    if (auto st = validate_text(**value, field, max_profile_line_chars, false); !st) return st;
  }
  if (u.introduction) {
    if (auto st = validate_text(*u.introduction, "introduction", max_introduction_chars, true); !st)
      return st;
  }
  return {};
}

status validate_name(std::string_view name) {
  std::size_t count = 0;
  bool control = false;
  bool only_space = true;
  const bool valid = detail::for_each_code_point(name, [&](char32_t cp) {
    ++count;
    control = control || is_control(cp);
    only_space = only_space && is_space(cp);
  });
  if (!valid) return {errc::bad_request, "name must be valid UTF-8"};
  if (count == 0) return {errc::bad_request, "name must not be empty"};
  if (count > max_name_chars) {
    return {errc::bad_request,
            "name must be at most " + std::to_string(max_name_chars) + " characters"};
  }
  if (control) return {errc::bad_request, "name must not contain control characters"};
  if (only_space) return {errc::bad_request, "name must not be only whitespace"};
  return {};
}

result<std::vector<event>> decide(const state& s, const command& cmd) {
  if (const auto* c = std::get_if<register_account>(&cmd)) {
    if (s.registered) return hibiki::error{errc::conflict, "account already registered"};
    if (!c->id || c->id.value > max_wire_id) {
      return hibiki::error{errc::bad_request, "account_id must be a positive integer"};
    }
    if (auto st = validate_name(c->name); !st) return st.error();
    if (!is_token_hash(c->token_hash)) {
      return hibiki::error{errc::bad_request, "token_hash must be 64 hexadecimal characters"};
    }
    return std::vector<event>{account_registered{c->id, c->name, c->token_hash, c->now}};
  }
  if (!s.registered) return hibiki::error{errc::not_found, "no such account"};
  if (const auto* c = std::get_if<rename_account>(&cmd)) {
    if (c->actor != s.id) return hibiki::error{errc::forbidden, "only the owner may rename"};
    if (auto st = validate_name(c->name); !st) return st.error();
    return std::vector<event>{account_renamed{c->name}};
  }
  if (const auto* c = std::get_if<update_profile>(&cmd)) return decide_update(s, *c);
  if (const auto* c = std::get_if<get_profile>(&cmd)) {
    if (c->actor != s.id) return hibiki::error{errc::forbidden, "only the owner reads this"};
    return std::vector<event>{};
  }
  if (const auto* c = std::get_if<assign_my_room>(&cmd)) {
    if (s.my_room) return std::vector<event>{};
    if (!c->room || c->room.value > max_wire_id)
      return hibiki::error{errc::bad_request, "room_id must be a positive integer"};
    return std::vector<event>{my_room_assigned{c->room}};
  }
  if (const auto* c = std::get_if<request_contact>(&cmd)) return decide_request(s, *c);
  if (const auto* c = std::get_if<accept_contact>(&cmd)) return decide_accept(s, *c);
  if (const auto* c = std::get_if<reject_contact>(&cmd)) return decide_reject(s, *c);
  if (std::holds_alternative<disable_account>(cmd)) {
    if (s.disabled) return std::vector<event>{};
    return std::vector<event>{account_disabled{}};
  }
  if (std::holds_alternative<enable_account>(cmd)) {
    if (!s.disabled) return std::vector<event>{};
    return std::vector<event>{account_enabled{}};
  }
  if (std::holds_alternative<revoke_tokens>(cmd)) {
    if (s.token_hash.empty()) return std::vector<event>{};
    return std::vector<event>{tokens_revoked{}};
  }
  if (const auto* c = std::get_if<move_fetch_cursor>(&cmd)) {
    if (!c->room || !c->up_to) return hibiki::error{errc::bad_request, "room and message required"};
    auto it = s.fetch_cursors.find(c->room);
    if (it != s.fetch_cursors.end() && it->second >= c->up_to) return std::vector<event>{};
    return std::vector<event>{fetch_cursor_moved{c->room, c->up_to}};
  }
  if (std::holds_alternative<peek_fetch_cursor>(cmd)) return std::vector<event>{};
  const auto& c = std::get<issue_token>(cmd);
  if (!is_token_hash(c.token_hash)) {
    return hibiki::error{errc::bad_request, "token_hash must be 64 hexadecimal characters"};
  }
  return std::vector<event>{token_issued{c.token_hash}};
}

state apply(state s, const event& e) {
  if (const auto* r = std::get_if<account_registered>(&e)) {
    s.id = r->id;
    s.registered = true;
    s.name = r->name;
    s.token_hash = r->token_hash;
    s.created_at = r->time;
  } else if (const auto* n = std::get_if<account_renamed>(&e)) {
    s.name = n->name;
  } else if (std::holds_alternative<account_disabled>(e)) {
    s.disabled = true;
  } else if (std::holds_alternative<account_enabled>(e)) {
    s.disabled = false;
  } else if (std::holds_alternative<tokens_revoked>(e)) {
    s.token_hash.clear();
  } else if (const auto* t = std::get_if<token_issued>(&e)) {
    s.token_hash = t->token_hash;
  } else if (const auto* p = std::get_if<profile_updated>(&e)) {
    s.profile = p->value;
  } else if (const auto* m = std::get_if<my_room_assigned>(&e)) {
    s.my_room = m->room;
  } else if (const auto* q = std::get_if<contact_requested>(&e)) {
    s.pairs[q->from == s.id ? q->to : q->from] =
        pair_state{false, q->from, q->message, q->time, room_id{}};
  } else if (const auto* r = std::get_if<contact_request_rejected>(&e)) {
    s.pairs.erase(r->from == s.id ? r->to : r->from);
  } else if (const auto* f = std::get_if<fetch_cursor_moved>(&e)) {
    s.fetch_cursors[f->room] = f->up_to;
  } else {
    const auto& a = std::get<contact_accepted>(e);
    auto& p = s.pairs[a.requester == s.id ? a.by : a.requester];
    p.contacts = true;
    p.requester = a.requester;
    p.room = a.room;
  }
  return s;
}

}  // namespace hibiki::user
