#include "runtime.hpp"

#include <chrono>

#include "breaker_object_store.hpp"
#include "entity_traits.hpp"
#include "file_sweeper.hpp"
#include "hibiki/core/log.hpp"
#include "hibiki/core/user.hpp"
#include "people.hpp"
#include "token.hpp"

namespace hibiki::actors {

runtime start_runtime(caf::actor_system& sys, runtime_deps deps, const node_options& options) {
  runtime rt;
  if (!deps.now) {
    deps.now = [] {
      return std::chrono::duration_cast<std::chrono::seconds>(
                 std::chrono::system_clock::now().time_since_epoch())
          .count();
    };
  }
  if (deps.writer_id.empty()) deps.writer_id = random_writer_id();
  // Not clustered: one shard, served here for good.
  if (!deps.shards) deps.shards = shard_table::single(1, "local");
  rt.ctx = std::make_shared<node_context>();
  rt.ctx->deps = std::move(deps);
  rt.ctx->options = options;
  rt.ctx->accounts = std::make_shared<account_limits>(
      account_limit_options{options.account_rate_per_second, options.account_rate_burst,
                            options.max_connections_per_account});
  rt.ctx->hub = spawn_hub(sys, rt.ctx->deps.shards, rt.hub);
  rt.ctx->gate = spawn_recovery_gate(sys, options.max_concurrent_recoveries, rt.gate);
  rt.ctx->rooms = sys.spawn<region_actor<room_traits>>(rt.ctx, rt.room_stats);
  rt.ctx->users = sys.spawn<region_actor<user_traits>>(rt.ctx, rt.user_stats);
  rt.ctx->ids = sys.spawn<region_actor<id_traits>>(rt.ctx, rt.id_stats);
  rt.ctx->port = spawn_cluster_port(sys, rt.ctx, rt.port);
  if (options.objects) {
    rt.ctx->objects = std::make_shared<breaker_object_store>(options.objects, options.breaker,
                                                             rt.ctx->deps.object_breaker_now);
    rt.ctx->sweeper = spawn_file_sweeper(sys, rt.ctx, rt.sweeper);
  }
  return rt;
}

void stop_runtime(runtime& rt) {
  if (!rt.ctx) return;
  rt.ctx->stopping = true;
  for (auto* a : {&rt.ctx->sweeper, &rt.ctx->port, &rt.ctx->rooms, &rt.ctx->users, &rt.ctx->ids,
                  &rt.ctx->hub, &rt.ctx->gate})
    if (*a) caf::anon_send_exit(*a, caf::exit_reason::user_shutdown);
}

void release_runtime(runtime& rt) {
  if (!rt.ctx) return;
  rt.ctx->rooms = rt.ctx->users = rt.ctx->ids = rt.ctx->hub = rt.ctx->gate = rt.ctx->port =
      rt.ctx->sweeper = caf::actor{};
}

void signup(const std::shared_ptr<node_context>& ctx, std::string name,
            std::function<void(result<signup_result>)> done) {
  if (auto st = user::validate_name(name); !st) return done(st.error());
  if (ctx->stopping) return done(hibiki::error{errc::unavailable, "the node is shutting down"});
  std::string token;
  try {
    token = random_token();
  } catch (const std::exception& ex) {
    return done(hibiki::error{errc::internal, ex.what()});
  }
  auto hash = sha256_hex(token);
  auto allocated = [ctx, name = std::move(name), token = std::move(token), hash = std::move(hash),
                    done = std::move(done)](command_reply r) mutable {
    if (r.err) return done(*r.err);
    account_id account{r.fields.value("id", std::uint64_t{0})};
    auto registered = [ctx, account, name, token = std::move(token),
                       done = std::move(done)](command_reply r2) mutable {
      if (r2.err) return done(*r2.err);
      // The account comes with its `my` room, made before the token is handed out so that the
      // first `list_rooms` shows it. The account is durable already: if the room cannot be made
      // now, the sign-up still succeeds (its token would be lost otherwise) and the account's
      // first `me` or `update_profile` makes the room, as for accounts older than `my` rooms.
      ensure_my_room(ctx, account,
                     [account, name = std::move(name), token = std::move(token),
                      done = std::move(done)](command_reply me) mutable {
                       if (me.err) {
                         log::warn("node") << "account " << account.value
                                           << " signed up without its my room (made at its first "
                                              "me): "
                                           << me.err->message;
                       }
                       done(signup_result{account, std::move(name), std::move(token)});
                     });
    };
    caf::anon_send(ctx->users,
                   entity_command<user::command>{
                       entity_of(account), user::register_account{account, name, hash, ctx->now()},
                       std::move(registered)});
  };
  caf::anon_send(ctx->ids, entity_command<id_command>{account_ids_entity, allocate_id{},
                                                      std::move(allocated)});
}

void admin(const std::shared_ptr<node_context>& ctx, admin_request request,
           std::function<void(result<admin_result>)> done) {
  if (ctx->stopping) return done(hibiki::error{errc::unavailable, "the node is shutting down"});
  const account_id account = request.account;
  if (!account || account.value > max_wire_id)
    return done(hibiki::error{errc::bad_request, "account_id must be a positive integer"});
  user::command cmd;
  std::string token;
  switch (request.action) {
    case admin_action::disable_account:
      cmd = user::disable_account{};
      break;
    case admin_action::enable_account:
      cmd = user::enable_account{};
      break;
    case admin_action::revoke_tokens:
      cmd = user::revoke_tokens{};
      break;
    case admin_action::issue_token:
      try {
        token = random_token();
      } catch (const std::exception& ex) {
        return done(hibiki::error{errc::internal, ex.what()});
      }
      cmd = user::issue_token{sha256_hex(token)};
      break;
    case admin_action::rename_account:
      // The operator renames on the account's behalf: the owner rule of the aggregate holds.
      cmd = user::rename_account{account, std::move(request.name)};
      break;
  }
  auto answered = [done = std::move(done), token = std::move(token)](command_reply r) mutable {
    if (r.err) return done(*r.err);
    done(admin_result{account_id{r.fields.value("account_id", std::uint64_t{0})},
                      r.fields.value("name", ""), r.fields.value("disabled", false),
                      std::move(token)});
  };
  caf::anon_send(ctx->users, entity_command<user::command>{entity_of(account), std::move(cmd),
                                                           std::move(answered)});
}

}  // namespace hibiki::actors
