#include "people.hpp"

#include "entity_traits.hpp"
#include "hibiki/core/room.hpp"
#include "hibiki/core/user.hpp"

namespace hibiki::actors {

namespace {

/// A room that is already created answers `conflict`: for these flows that is success (the id
/// came from the allocator for this room alone, so nobody else created it).
void create_room_once(const std::shared_ptr<node_context>& ctx, room::create_room cmd,
                      std::function<void(command_reply)> done) {
  const auto room = cmd.room;
  caf::anon_send(ctx->rooms,
                 entity_command<room::command>{entity_of(room), std::move(cmd),
                                               [done = std::move(done)](command_reply r) {
                                                 if (r.err && r.err->code == errc::conflict)
                                                   r.err.reset();
                                                 done(std::move(r));
                                               }});
}

void to_user(const std::shared_ptr<node_context>& ctx, account_id account, user::command cmd,
             std::function<void(command_reply)> done) {
  caf::anon_send(ctx->users, entity_command<user::command>{entity_of(account), std::move(cmd),
                                                           std::move(done)});
}

/// The account knows its `my` room (in `me`): create it, then answer with `me`.
void create_my_room(const std::shared_ptr<node_context>& ctx, account_id account, command_reply me,
                    std::function<void(command_reply)> done) {
  room_id room{me.fields.value("room_id", std::uint64_t{0})};
  room::create_room cmd{account, room, "", "", {}, ctx->now()};
  cmd.type = room::room_type::my;
  create_room_once(ctx, std::move(cmd),
                   [me = std::move(me), done = std::move(done)](command_reply r) mutable {
                     if (r.err) return done(std::move(r));
                     done(std::move(me));
                   });
}

}  // namespace

void ensure_my_room(const std::shared_ptr<node_context>& ctx, account_id account,
                    std::function<void(command_reply)> done) {
  to_user(ctx, account, user::get_profile{account},
          [ctx, account, done = std::move(done)](command_reply me) mutable {
            if (me.err) return done(std::move(me));
            if (me.fields.value("room_id", std::uint64_t{0}) != 0)
              return create_my_room(ctx, account, std::move(me), std::move(done));
            // None yet (an account older than `my` rooms, or a sign-up cut short): take a room
            // id and offer it; the account keeps the first one it is offered.
            auto allocated = [ctx, account, done = std::move(done)](command_reply id) mutable {
              if (id.err) return done(std::move(id));
              room_id room{id.fields.value("id", std::uint64_t{0})};
              to_user(ctx, account, user::assign_my_room{room},
                      [ctx, account, done = std::move(done)](command_reply me2) mutable {
                        if (me2.err) return done(std::move(me2));
                        create_my_room(ctx, account, std::move(me2), std::move(done));
                      });
            };
            caf::anon_send(ctx->ids, entity_command<id_command>{room_ids_entity, allocate_id{},
                                                                std::move(allocated)});
          });
}

void ensure_direct_room(const std::shared_ptr<node_context>& ctx, account_id requester,
                        account_id accepter, room_id room,
                        std::function<void(command_reply)> done) {
  // Always the same command for a pair: the requester creates it with the accepter in it (both
  // become admins of a direct room).
  room::create_room cmd{requester, room, "", "", {accepter}, ctx->now()};
  cmd.type = room::room_type::direct;
  create_room_once(ctx, std::move(cmd), std::move(done));
}

}  // namespace hibiki::actors
