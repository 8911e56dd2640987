#include "cluster_wire.hpp"

namespace hibiki::actors {

void add_cluster_message_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<remote_room_command>("hibiki.remote_room_command.v1");
  cfg.add_message_type<remote_user_command>("hibiki.remote_user_command.v1");
  cfg.add_message_type<remote_ids_command>("hibiki.remote_ids_command.v1");
  cfg.add_message_type<remote_reply>("hibiki.remote_reply.v1");
  cfg.add_message_type<remote_push>("hibiki.remote_push.v1");
  cfg.add_message_type<remote_rename>("hibiki.remote_rename.v1");
  cfg.add_message_type<remote_close>("hibiki.remote_close.v1");
  cfg.add_message_type<presence_full>("hibiki.presence_full.v1");
}

remote_reply to_wire(const command_reply& r) {
  remote_reply out;
  if (r.err) {
    out.code = static_cast<std::uint8_t>(r.err->code);
    out.message = r.err->message;
    return out;
  }
  if (!r.fields.is_null()) out.fields = nlohmann::json::to_msgpack(r.fields);
  out.then = r.then;
  return out;
}

command_reply from_wire(const remote_reply& r) {
  auto bad = [] { return command_reply::fail(errc::internal, "undecodable reply from a peer"); };
  if (r.code != 0) {
    if (r.code > static_cast<std::uint8_t>(errc::moved)) return bad();
    return command_reply::fail(static_cast<errc>(r.code), r.message);
  }
  if (!r.message.empty()) return bad();
  command_reply out = command_reply::ok();
  if (!r.fields.empty()) {
    auto fields = nlohmann::json::from_msgpack(r.fields, true, false);
    if (fields.is_discarded() || !(fields.is_object() || fields.is_null())) return bad();
    out.fields = std::move(fields);
  }
  out.then = r.then;
  return out;
}

}  // namespace hibiki::actors
