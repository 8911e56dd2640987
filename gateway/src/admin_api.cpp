#include "admin_api.hpp"
#include "hibiki/core/log.hpp"

#include <nlohmann/json.hpp>

namespace hibiki::gateway {
namespace {

using json = nlohmann::json;

struct action_entry {
  std::string_view name;
  bool create;
  actors::admin_action action;
  bool needs_name;
};

constexpr action_entry actions[] = {
    {"create-account", true, actors::admin_action::disable_account, true},
    {"disable-account", false, actors::admin_action::disable_account, false},
    {"enable-account", false, actors::admin_action::enable_account, false},
    {"revoke-tokens", false, actors::admin_action::revoke_tokens, false},
    {"create-token", false, actors::admin_action::issue_token, false},
    {"rename", false, actors::admin_action::rename_account, true},
};

hibiki::error bad(std::string message) {
  return hibiki::error{errc::bad_request, std::move(message)};
}

}  // namespace

result<admin_call> parse_admin_call(std::string_view path, std::string_view body) {
  constexpr std::string_view prefix = "/api/admin/";
  const action_entry* entry = nullptr;
  if (path.substr(0, prefix.size()) == prefix) {
    const auto name = path.substr(prefix.size());
    for (const auto& a : actions)
      if (a.name == name) entry = &a;
  }
  if (entry == nullptr) {
    return hibiki::error{errc::not_found,
                         "no such admin action; expected /api/admin/ one of create-account, "
                         "disable-account, enable-account, revoke-tokens, create-token, rename"};
  }
  auto j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return bad("the body must be a JSON object");
  admin_call call;
  call.action = std::string(entry->name);
  call.create = entry->create;
  call.request.action = entry->action;
  std::size_t known = 0;
  if (!entry->create) {
    auto id = j.find("account_id");
    if (id == j.end()) return bad("missing field \"account_id\"");
    if (!id->is_number_unsigned() || id->get<std::uint64_t>() == 0 ||
        id->get<std::uint64_t>() > max_wire_id)
      return bad("account_id must be a positive integer below 2^53");
    call.request.account = account_id{id->get<std::uint64_t>()};
    ++known;
  }
  if (entry->needs_name) {
    auto name = j.find("name");
    if (name == j.end() || !name->is_string()) return bad("missing string field \"name\"");
    (entry->create ? call.create_name : call.request.name) = name->get<std::string>();
    ++known;
  }
  if (j.size() != known) return bad("unknown field in the body of " + call.action);
  return call;
}

std::string admin_answer(const actors::admin_result& r) {
  json out{{"account_id", r.account.value}, {"name", r.name}, {"disabled", r.disabled}};
  if (!r.token.empty()) out["token"] = r.token;
  return out.dump();
}

std::string admin_answer(const actors::signup_result& r) {
  return json{{"account_id", r.account.value}, {"name", r.name}, {"token", r.token}}.dump();
}

void audit_admin_action(std::string_view peer, std::string_view action, std::uint64_t account,
                        std::string_view outcome) {
  log::audit("admin",
             {{"action", action}, {"account", account}, {"peer", peer}, {"outcome", outcome}});
  // Operators watching the app log see them too.
  log::info("admin") << "audit: admin " << action << " account=" << account << " peer=" << peer
                     << " outcome=" << outcome;
}

}  // namespace hibiki::gateway
