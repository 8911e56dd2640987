/// The user aggregate's rules: registration once, renames by the owner only, and the operator's
/// commands (disable, enable, revoke, issue a token) on registered accounts only.

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

}  // namespace

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
  } else if (const auto* f = std::get_if<fetch_cursor_moved>(&e)) {
    s.fetch_cursors[f->room] = f->up_to;
  } else {
    s.token_hash = std::get<token_issued>(e).token_hash;
  }
  return s;
}

}  // namespace hibiki::user
