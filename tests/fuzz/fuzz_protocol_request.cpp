// Fuzz target: one WebSocket text frame through the request parser (core/src/protocol_parse.cpp).
// Beyond not crashing, every parsed request must carry what the layers behind the gateway rely
// on (ids in range, a valid history window, sync keys in range), and every failure must turn
// into a well-formed error reply.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include <nlohmann/json.hpp>

#include "fuzz_check.hpp"
#include "hibiki/core/protocol.hpp"

namespace {

using namespace hibiki;
using namespace hibiki::protocol;

template <class Id>
void check_wire_id(Id id) {
  FUZZ_CHECK(id.value >= 1 && id.value <= max_wire_id);
}

void check_message_id(message_id id) {
  FUZZ_CHECK(id.value >= 1);
  FUZZ_CHECK(message_id_from_wire(to_wire(id)) == id);
}

void check_accounts(const std::vector<account_id>& accounts) {
  for (const auto a : accounts) check_wire_id(a);
}

struct body_checker {
  void operator()(const ping_req&) const {}
  void operator()(const list_rooms_req&) const {}
  void operator()(const auth_req& r) const { FUZZ_CHECK(!r.token.empty()); }
  void operator()(const create_room_req& r) const { check_accounts(r.members); }
  void operator()(const add_members_req& r) const {
    check_wire_id(r.room);
    check_accounts(r.accounts);
  }
  void operator()(const remove_member_req& r) const {
    check_wire_id(r.room);
    check_wire_id(r.account);
  }
  void operator()(const leave_room_req& r) const { check_wire_id(r.room); }
  void operator()(const get_room_req& r) const { check_wire_id(r.room); }
  void operator()(const add_task_req& r) const {
    check_wire_id(r.room);
    FUZZ_CHECK(!r.to_ids.empty() && r.limit >= 0);
    check_accounts(r.to_ids);
  }
  void operator()(const set_task_status_req& r) const {
    check_wire_id(r.room);
    check_wire_id(r.task);
    FUZZ_CHECK(r.status == "open" || r.status == "done");
  }
  void operator()(const get_task_req& r) const {
    check_wire_id(r.room);
    check_wire_id(r.task);
  }
  void operator()(const list_tasks_req& r) const { check_wire_id(r.room); }
  void operator()(const my_tasks_req&) const {}
  void operator()(const my_status_req&) const {}
  void operator()(const get_message_req& r) const {
    check_wire_id(r.room);
    check_message_id(r.message);
  }
  void operator()(const mark_unread_req& r) const {
    check_wire_id(r.room);
    check_message_id(r.message);
  }
  void operator()(const delete_room_req& r) const { check_wire_id(r.room); }
  void operator()(const get_members_req& r) const { check_wire_id(r.room); }
  void operator()(const update_room_req& r) const {
    check_wire_id(r.room);
    FUZZ_CHECK(r.name || r.description || r.icon_preset);
  }
  void operator()(const set_members_req& r) const {
    check_wire_id(r.room);
    FUZZ_CHECK(!r.admins.empty());
    check_accounts(r.admins);
    check_accounts(r.members);
    check_accounts(r.readonly);
  }
  void operator()(const send_message_req& r) const { check_wire_id(r.room); }
  void operator()(const edit_message_req& r) const {
    check_wire_id(r.room);
    check_message_id(r.message);
  }
  void operator()(const delete_message_req& r) const {
    check_wire_id(r.room);
    check_message_id(r.message);
  }
  void operator()(const history_req& r) const {
    check_wire_id(r.room);
    FUZZ_CHECK(!(r.before && r.after));
    if (r.before) check_message_id(*r.before);
    // after "0" (from the start) is the one message id 0 the parser lets through.
    if (r.after && r.after->value != 0) check_message_id(*r.after);
    FUZZ_CHECK(r.limit >= 1 && r.limit <= 100);
  }
  void operator()(const mark_read_req& r) const {
    check_wire_id(r.room);
    check_message_id(r.message);
  }
  /// An op added later without its own case here still builds; the account ids it carries, if
  /// any, are checked.
  template <class Other>
  void operator()(const Other& r) const {
    if constexpr (requires { r.accounts; }) check_accounts(r.accounts);
  }
  void operator()(const sync_req& r) const {
    for (const auto& [room, seq] : r.since) check_wire_id(room);
    // Each room at most once, in id order (the replay relies on both).
    for (std::size_t i = 1; i < r.since.size(); ++i) {
      FUZZ_CHECK(r.since[i - 1].first < r.since[i].first);
    }
  }
};

/// A reply must be one JSON object whose "re" is the request id (or null when none was read).
void check_reply(const std::string& text, std::optional<std::int64_t> id, bool ok) {
  const auto reply = nlohmann::json::parse(text, nullptr, false);
  FUZZ_CHECK(reply.is_object() && reply.contains("ok") && reply.contains("re"));
  FUZZ_CHECK(reply["ok"] == ok);
  if (id) {
    FUZZ_CHECK(reply["re"] == *id);
  } else {
    FUZZ_CHECK(reply["re"].is_null());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto parsed = parse_request(text);
  if (const auto* failure = std::get_if<parse_failure>(&parsed)) {
    FUZZ_CHECK(failure->error.code == errc::bad_request);
    FUZZ_CHECK(!failure->error.message.empty());
    check_reply(encode_error(failure->id, failure->error), failure->id, false);
    return 0;
  }
  const auto& req = std::get<request>(parsed);
  std::visit(body_checker{}, req.body);
  FUZZ_CHECK(!op_name(req.body).empty());
  check_reply(encode_ok(req.id), req.id, true);
  return 0;
}
