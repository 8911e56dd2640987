#include "session_actor.hpp"

#include <algorithm>
#include <chrono>
#include <functional>
#include <list>
#include <optional>
#include <string>
#include <unordered_map>

#include "entity_traits.hpp"
#include "file_reads.hpp"
#include "hibiki/core/log.hpp"
#include "hibiki/core/protocol.hpp"
#include "hibiki/metrics/registry.hpp"
#include "hibiki/persistence/webhooks.hpp"
#include "messages.hpp"
#include "people.hpp"
#include "people_reads.hpp"
#include "reads.hpp"
#include "search_reads.hpp"
#include "token.hpp"

namespace hibiki::actors {

namespace {

using continuation = std::function<void(command_reply&)>;

/// How long a read waits for the local index to catch up with the other nodes' writes.
constexpr std::chrono::milliseconds read_barrier_timeout{2000};

/// Syncs one connection may have running or waiting; more are refused with rate_limited. A
/// client has no reason to pipeline syncs, and each waiting one holds its parsed rooms.
constexpr std::size_t max_queued_syncs = 4;

class session_actor : public caf::event_based_actor {
 public:
  session_actor(caf::actor_config& cfg, std::shared_ptr<node_context> ctx,
                std::shared_ptr<client_link> link, std::uint64_t id)
      : caf::event_based_actor(cfg),
        ctx_(std::move(ctx)),
        link_(std::move(link)),
        id_(id),
        tokens_(std::max(ctx_->options.rate_burst, 1.0)) {}

  caf::behavior make_behavior() override {
    last_refill_ = clock().now();
    return {
        [this](client_text& t) { on_text(std::move(t.frame)); },
        [this](tagged_reply& r) { on_reply(r); },
        [this](closed_atom) { on_closed(); },
        [this](sync_drained_atom) { sync_step(); },
        // The account was renamed (here, through another connection, on another node, or by the
        // operator): the messages this connection sends from now on carry the new name.
        [this](renamed_atom, const std::string& name) { name_ = name; },
    };
  }

 private:
  // ---- frames in ------------------------------------------------------------------------------

  void on_text(std::string frame) {
    if (closed_) return;
    if (auth_pending_) {
      // Pipelined behind an auth: hold it until we know who the client is.
      queued_.push_back(std::move(frame));
      return;
    }
    handle_frame(frame);
  }

  void handle_frame(const std::string& frame) {
    auto parsed = protocol::parse_request(frame);
    const char* limited = nullptr;
    if (!take_token())
      limited = "too many requests on this connection";
    else if (account_ && !ctx_->accounts->take_token(account_, clock().now()))
      limited = "too many requests from this account (all its connections together)";
    if (limited != nullptr) {
      std::optional<std::int64_t> id;
      if (auto* r = std::get_if<protocol::request>(&parsed)) {
        id = r->id;
        count_request(r->body.index(), errc::rate_limited);
      } else {
        id = std::get<protocol::parse_failure>(parsed).id;
        count_request(invalid_op, errc::rate_limited);
      }
      send_frame(protocol::encode_error(id, {errc::rate_limited, limited}));
      return;
    }
    if (auto* f = std::get_if<protocol::parse_failure>(&parsed)) {
      count_request(invalid_op, f->error.code);
      send_frame(protocol::encode_error(f->id, f->error));
      return;
    }
    auto& req = std::get<protocol::request>(parsed);
    if (!account_ && !protocol::allowed_before_auth(req.body)) {
      count_request(req.body.index(), errc::unauthenticated);
      send_frame(protocol::encode_error(req.id, {errc::unauthenticated, "authenticate first"}));
      link_->close(protocol::close_policy, "unauthenticated");
      closed_ = true;
      return;
    }
    if (ctx_->options.metrics)
      running_.emplace(req.id, running_request{req.body.index(), std::chrono::steady_clock::now()});
    std::visit([&](auto& body) { handle(req.id, body); }, req.body);
  }

  void drain_queued() {
    while (!queued_.empty() && !auth_pending_ && !closed_) {
      auto frame = std::move(queued_.front());
      queued_.pop_front();
      handle_frame(frame);
    }
  }

  /// Token bucket: `rate_per_second` sustained, `rate_burst` at once.
  bool take_token() {
    auto now = clock().now();
    double elapsed = std::chrono::duration<double>(now - last_refill_).count();
    last_refill_ = now;
    tokens_ = std::min(ctx_->options.rate_burst, tokens_ + elapsed * ctx_->options.rate_per_second);
    if (tokens_ < 1.0) return false;
    tokens_ -= 1.0;
    return true;
  }

  // ---- metrics --------------------------------------------------------------------------------

  /// The op index of a frame that did not parse (metrics::registry::request counts it "invalid").
  static constexpr std::size_t invalid_op = std::variant_size_v<protocol::request_body>;
  static inline const std::size_t send_message_op =
      protocol::request_body(std::in_place_type<protocol::send_message_req>).index();

  void count_request(std::size_t op, errc result) {
    if (ctx_->options.metrics) ctx_->options.metrics->request(op, result);
  }

  // ---- replies out ----------------------------------------------------------------------------

  void send_frame(std::string frame) {
    link_->send(std::make_shared<const std::string>(std::move(frame)));
  }

  void answer(std::int64_t id, const command_reply& r) {
    auto copy = r;
    answer(id, std::move(copy));
  }

  /// Answers with `r`, whose fields move to the link (a large reply is not copied).
  void answer(std::int64_t id, command_reply&& r) {
    if (auto it = running_.find(id); it != running_.end()) {
      // The reply is about to be handed to the connection: count it, and time an acknowledged
      // send_message.
      const auto op = it->second.op;
      count_request(op, r.err ? r.err->code : errc::ok);
      if (op == send_message_op && !r.err)
        ctx_->options.metrics->send_ack(std::chrono::steady_clock::now() - it->second.started);
      running_.erase(it);
    }
    if (r.err) {
      send_frame(protocol::encode_error(id, *r.err));
      return;
    }
    link_->send_ok(id, std::move(r.fields));
    for (auto& f : r.then) send_frame(std::move(f));
  }

  /// A reply_fn that brings the outcome back into this actor and runs `cont` with it.
  reply_fn make_reply(continuation cont) {
    auto tag = next_tag_++;
    pending_.emplace(tag, std::move(cont));
    return [self = caf::actor_cast<caf::actor>(this), tag](command_reply r) {
      caf::anon_send(self, tagged_reply{tag, std::move(r)});
    };
  }

  reply_fn reply_to_client(std::int64_t id) {
    return make_reply([this, id](command_reply& r) { answer(id, std::move(r)); });
  }

  void on_reply(tagged_reply& r) {
    auto it = pending_.find(r.tag);
    if (it == pending_.end()) return;
    auto cont = std::move(it->second);
    pending_.erase(it);
    cont(r.reply);
  }

  // ---- routing --------------------------------------------------------------------------------

  bool refuse_if_stopping(std::int64_t id) {
    if (!ctx_->stopping) return false;
    answer(id, command_reply::fail(errc::unavailable, "the node is shutting down"));
    return true;
  }

  void to_room(room_id room, room::command cmd, reply_fn reply) {
    send(ctx_->rooms,
         entity_command<room::command>{entity_of(room), std::move(cmd), std::move(reply), id_});
  }

  void to_user(account_id account, user::command cmd, reply_fn reply) {
    send(ctx_->users,
         entity_command<user::command>{entity_of(account), std::move(cmd), std::move(reply), id_});
  }

  /// The shards a read must see indexed first (empty = all of them).
  using barrier = std::vector<std::int32_t>;

  /// For reads that return message objects: every shard. A message names its author as named
  /// now, from the `accounts` read model, which the author's user entity writes on its own shard;
  /// waiting for the room's shard alone let a rename acknowledged through one node show the old
  /// name in history read through another.
  barrier message_barrier() const { return {}; }

  /// The shards of these accounts' user entities, where their names and profiles are written
  /// (none given: every shard).
  barrier names_barrier(const std::vector<account_id>& accounts) const {
    barrier out;
    for (const auto account : accounts)
      out.push_back(ctx_->deps.shards->partition_of(entity_of(account)));
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
  }

  /// Runs a blocking read on the io executor and answers with its result.
  void read(std::int64_t id, barrier shards,
            std::function<command_reply(persistence::read_store&)> fn) {
    read_then(std::move(shards), std::move(fn),
              [this, id](command_reply& r) { answer(id, std::move(r)); });
  }

  /// Clustered, the read first waits until the local index holds everything committed to
  /// `shards` (other nodes write them), so a client that moved nodes reads its own writes.
  /// Without `shards` it does not wait (a later step of a read that already waited).
  void read_then(std::optional<barrier> shards,
                 std::function<command_reply(persistence::read_store&)> fn, continuation cont) {
    auto reply = make_reply(std::move(cont));
    auto ctx = ctx_;
    ctx_->deps.io->post(
        [ctx, shards = std::move(shards), fn = std::move(fn), reply = std::move(reply)] {
          command_reply r;
          try {
            if (auto* control = ctx->deps.shard_control; control && shards) {
              auto st = control->await_indexed(*shards, read_barrier_timeout);
              if (!st) {
                reply(command_reply::fail(errc::unavailable, st.error().message));
                return;
              }
            }
            r = fn(*ctx->deps.reads);
          } catch (const std::exception& ex) {
            r = command_reply::fail(errc::internal, ex.what());
          }
          reply(std::move(r));
        });
  }

  /// Checks that every account in `accounts` exists (id <= the highest allocated), then `next`.
  void with_existing_accounts(std::int64_t id, std::vector<account_id> accounts,
                              std::function<void()> next) {
    if (accounts.empty()) {
      next();
      return;
    }
    auto reply = make_reply([this, id, accounts = std::move(accounts),
                             next = std::move(next)](command_reply& r) {
      if (r.err) return answer(id, r);
      auto highest = r.fields.value("highest", std::uint64_t{0});
      for (auto a : accounts)
        if (a.value == 0 || a.value > highest)
          return answer(
              id, command_reply::fail(errc::not_found, "no account " + std::to_string(a.value)));
      next();
    });
    send(ctx_->ids, entity_command<id_command>{account_ids_entity, peek_ids{}, std::move(reply)});
  }

  // ---- ops ------------------------------------------------------------------------------------

  void handle(std::int64_t id, protocol::ping_req&) { answer(id, command_reply::ok()); }

  void handle(std::int64_t id, protocol::auth_req& req) {
    auth_pending_ = true;
    read_then(
        barrier{},
        [token = std::move(req.token)](persistence::read_store& reads) {
          return read_auth(reads, token);
        },
        [this, id](command_reply& r) {
          auth_pending_ = false;
          if (!r.err) {
            account_id account{r.fields.value("account_id", std::uint64_t{0})};
            if (account_ != account) {
              if (!ctx_->accounts->try_connect(account, clock().now())) {
                refuse_connection(id, account);
                return;
              }
              if (account_) leave_account();
              send(ctx_->hub, hub_register{account, id_, link_, caf::actor_cast<caf::actor>(this)});
              account_ = account;
            }
            name_ = r.fields.value("name", "");
            link_->authenticated(account);
            log::audit("auth", {{"account", account.value}, {"peer", link_->peer()}});
          } else {
            // The token itself is never logged, not even in part.
            log::audit("auth_failed",
                       {{"peer", link_->peer()}, {"reason", wire_name(r.err->code)}});
          }
          answer(id, r);
          drain_queued();
        });
  }

  /// The account already has its most connections on this node: say so, then close 1008.
  void refuse_connection(std::int64_t id, account_id account) {
    answer(id,
           command_reply::fail(errc::rate_limited,
                               "account " + std::to_string(account.value) + " already has " +
                                   std::to_string(ctx_->options.max_connections_per_account) +
                                   " connections on this node, the most allowed; close one first"));
    link_->close(protocol::close_policy, "too many connections for this account");
    if (account_) leave_account();
    closed_ = true;
    queued_.clear();
  }

  /// Unregisters from the hub and gives back the account's connection slot.
  void leave_account() {
    send(ctx_->hub, hub_unregister{account_, id_});
    ctx_->accounts->disconnect(account_, clock().now());
    account_ = account_id{};
  }

  void handle(std::int64_t id, protocol::create_room_req& req) {
    if (refuse_if_stopping(id)) return;
    auto members = req.members;
    with_existing_accounts(id, std::move(members), [this, id, req = std::move(req)]() mutable {
      auto reply = make_reply([this, id, req = std::move(req)](command_reply& r) mutable {
        if (r.err) return answer(id, r);
        room_id room{r.fields.value("id", std::uint64_t{0})};
        room::create_room cmd{account_,
                              room,
                              std::move(req.name),
                              std::move(req.description),
                              std::move(req.members),
                              ctx_->now()};
        to_room(room, std::move(cmd), reply_to_client(id));
      });
      send(ctx_->ids, entity_command<id_command>{room_ids_entity, allocate_id{}, std::move(reply)});
    });
  }

  void handle(std::int64_t id, protocol::add_members_req& req) {
    if (refuse_if_stopping(id)) return;
    auto accounts = req.accounts;
    with_existing_accounts(id, std::move(accounts), [this, id, req = std::move(req)]() mutable {
      to_room(req.room, room::add_members{account_, std::move(req.accounts), req.role},
              reply_to_client(id));
    });
  }

  void handle(std::int64_t id, protocol::remove_member_req& req) {
    if (refuse_if_stopping(id)) return;
    to_room(req.room, room::remove_member{account_, req.account}, reply_to_client(id));
  }

  void handle(std::int64_t id, protocol::leave_room_req& req) {
    if (refuse_if_stopping(id)) return;
    to_room(req.room, room::leave_room{account_}, reply_to_client(id));
  }

  void handle(std::int64_t id, protocol::list_rooms_req& req) {
    read(id, {}, [account = account_, details = req.details](persistence::read_store& reads) {
      return read_list_rooms(reads, account, details);
    });
  }

  void handle(std::int64_t id, protocol::send_message_req& req) {
    if (refuse_if_stopping(id)) return;
    to_room(req.room,
            room::send_message{account_, std::move(req.body), std::move(req.client_msg_id),
                               ctx_->now(), req.self_unread, name_},
            reply_to_client(id));
  }

  void handle(std::int64_t id, protocol::edit_message_req& req) {
    if (refuse_if_stopping(id)) return;
    to_room(req.room,
            room::edit_message{account_, req.message, std::move(req.body), ctx_->now(), name_},
            reply_to_client(id));
  }

  void handle(std::int64_t id, protocol::delete_message_req& req) {
    if (refuse_if_stopping(id)) return;
    to_room(req.room, room::delete_message{account_, req.message, ctx_->now()},
            reply_to_client(id));
  }

  void handle(std::int64_t id, protocol::history_req& req) {
    read(id, message_barrier(), [account = account_, req](persistence::read_store& reads) {
      return read_history(reads, account, req);
    });
  }

  void handle(std::int64_t id, protocol::mark_read_req& req) {
    if (refuse_if_stopping(id)) return;
    move_cursor(id, req.room, req.message, room::mark_read{account_, req.message});
  }

  void handle(std::int64_t id, protocol::mark_unread_req& req) {
    if (refuse_if_stopping(id)) return;
    move_cursor(id, req.room, req.message, room::mark_unread{account_, req.message});
  }

  void handle(std::int64_t id, protocol::get_message_req& req) {
    read(id, message_barrier(), [account = account_, req](persistence::read_store& reads) {
      return read_message(reads, account, req.room, req.message);
    });
  }

  /// mark_read / mark_unread: the reply has the new counts, and the reader's other connections
  /// get them in a `read` event.
  void move_cursor(std::int64_t id, room_id room, message_id message, room::command cmd) {
    to_room(
        room, std::move(cmd), make_reply([this, id, room, message](command_reply& r) {
          answer(id, r);
          if (r.err) return;
          // The reader's other connections learn the new counts.
          nlohmann::json fields = {{"room_id", room.value},
                                   {"message_id", protocol::to_wire(message)},
                                   {"unread_num", r.fields.value("unread_num", 0)},
                                   {"mention_num", r.fields.value("mention_num", 0)}};
          send(ctx_->hub,
               push_msg{std::make_shared<const std::string>(protocol::encode_event("read", fields)),
                        {account_},
                        id_});
        }));
  }

  // ---- sync: one at a time per connection, streamed in batches paced by the client ---------
  //
  // A sync first plans (after the read barrier): which rooms are behind, each with its current
  // seq, or a gap. Then `{"re":N,"ok":true}`, and room by room: read one batch of events on the
  // io executor, send it, and read the next only when the connection's unsent output is back
  // under a batch (client_link::when_drained). A room's first read also measures its missing
  // events against sync_max_room_bytes: over it, the room gets its `gap` and none of them. Then
  // `synced`, and the next queued sync starts. At any time a connection holds at most one batch
  // in flight plus one batch unsent, and queued syncs hold only their parsed rooms.

  void handle(std::int64_t id, protocol::sync_req& req) {
    if (req.since.size() > ctx_->options.sync_max_rooms) {
      answer(id, command_reply::fail(
                     errc::too_large,
                     "sync names " + std::to_string(req.since.size()) + " rooms; at most " +
                         std::to_string(ctx_->options.sync_max_rooms) + " per request"));
      return;
    }
    if (syncs_.size() >= max_queued_syncs) {
      answer(id,
             command_reply::fail(errc::rate_limited, "too many syncs on this connection: at most " +
                                                         std::to_string(max_queued_syncs) +
                                                         " at a time; wait for `synced`"));
      return;
    }
    syncs_.push_back(sync_job{id, std::move(req.since)});
    if (syncs_.size() == 1) start_sync();
  }

  void start_sync() {
    auto& job = syncs_.front();
    auto plan = std::make_shared<std::vector<sync_room>>();
    protocol::sync_req req{std::move(job.since)};
    read_then(
        barrier{},
        [account = account_, req = std::move(req), plan](persistence::read_store& reads) {
          auto planned = plan_sync(reads, account, req);
          if (!planned) return command_reply::fail(planned.error());
          *plan = std::move(*planned);
          return command_reply::ok();
        },
        [this, plan](command_reply& r) {
          auto id = syncs_.front().id;
          if (r.err) {
            answer(id, r);
            finish_sync(false);
            return;
          }
          answer(id, command_reply::ok());
          sync_plan_ = std::move(*plan);
          sync_room_ = 0;
          sync_step();
        });
  }

  /// Sends the gaps up to the next room to replay and reads its next batch; or ends the sync.
  void sync_step() {
    if (closed_ || syncs_.empty()) return;
    while (sync_room_ < sync_plan_.size() && sync_plan_[sync_room_].gap) {
      send_gap(sync_plan_[sync_room_]);
      ++sync_room_;
    }
    if (sync_room_ == sync_plan_.size()) {
      finish_sync(true);
      return;
    }
    const auto& room = sync_plan_[sync_room_];
    const bool first = sync_next_ == 0;
    const auto from = first ? room.since + 1 : sync_next_;
    const auto batch_bytes = std::max<std::size_t>(ctx_->options.sync_batch_bytes, 1);
    const auto cap = first ? std::max<std::size_t>(ctx_->options.sync_max_room_bytes, 1) : 0;
    auto batch = std::make_shared<sync_batch>();
    read_then(
        std::nullopt,
        [target = room.room, from, current = room.current, batch_bytes, cap,
         batch](persistence::read_store& reads) {
          auto got = read_sync_batch(reads, target, from, current, batch_bytes, cap);
          if (!got) return command_reply::fail(got.error());
          *batch = std::move(*got);
          return command_reply::ok();
        },
        [this, batch, batch_bytes](command_reply& r) {
          auto& room = sync_plan_[sync_room_];
          if (r.err || batch->over_cap) {
            // Past the ok reply an error cannot be answered; the gap tells the client to reload
            // the room with `history`, which reports any error itself.
            send_gap(room);
            next_sync_room();
            sync_step();
            return;
          }
          for (auto& f : batch->frames) send_frame(std::move(f));
          if (batch->done)
            next_sync_room();
          else
            sync_next_ = batch->next;
          link_->when_drained(batch_bytes, [self = caf::actor_cast<caf::actor>(this)] {
            caf::anon_send(self, sync_drained_atom::value);
          });
        });
  }

  void next_sync_room() {
    ++sync_room_;
    sync_next_ = 0;
  }

  void send_gap(const sync_room& room) {
    send_frame(
        protocol::encode_event("gap", {{"room_id", room.room.value}, {"seq", room.current}}));
  }

  void finish_sync(bool synced) {
    if (synced) send_frame(protocol::encode_event("synced", nlohmann::json::object()));
    sync_plan_.clear();
    sync_room_ = 0;
    sync_next_ = 0;
    syncs_.pop_front();
    if (!syncs_.empty()) start_sync();
  }

  void handle(std::int64_t id, protocol::get_accounts_req& req) {
    read(id, {},
         [account = account_, accounts = std::move(req.accounts)](persistence::read_store& reads) {
           return read_accounts(reads, account, accounts);
         });
  }

  // ---- people: profiles, contacts ------------------------------------------------------------

  void handle(std::int64_t id, protocol::me_req&) {
    if (refuse_if_stopping(id)) return;
    // `me` also completes the account's `my` room when it has none yet (older accounts).
    ensure_my_room(ctx_, account_, make_reply([this, id](command_reply& r) { answer(id, r); }));
  }

  void handle(std::int64_t id, protocol::update_profile_req& req) {
    if (refuse_if_stopping(id)) return;
    user::update_profile cmd{account_,
                             std::move(req.name),
                             std::move(req.chatwork_id),
                             std::move(req.organization_name),
                             std::move(req.department),
                             std::move(req.title),
                             std::move(req.introduction)};
    to_user(account_, std::move(cmd), make_reply([this, id](command_reply& r) {
              // Messages this connection sends from now on carry the new name.
              if (r.err) return answer(id, r);
              name_ = r.fields.value("name", name_);
              // The reply is `me`, with the `my` room (made now if the account has none yet).
              ensure_my_room(ctx_, account_,
                             make_reply([this, id](command_reply& me) { answer(id, me); }));
            }));
  }

  void handle(std::int64_t id, protocol::get_profiles_req& req) {
    read(id, {},
         [account = account_, accounts = std::move(req.accounts)](persistence::read_store& reads) {
           return read_profiles(reads, account, accounts);
         });
  }

  void handle(std::int64_t id, protocol::request_contact_req& req) {
    if (refuse_if_stopping(id)) return;
    if (req.account == account_) {
      answer(id, command_reply::fail(errc::bad_request,
                                     "a contact request needs another account than your own"));
      return;
    }
    with_existing_accounts(id, {req.account}, [this, id, req = std::move(req)]() mutable {
      to_user(user::pair_owner(account_, req.account),
              user::request_contact{account_, req.account, std::move(req.message), ctx_->now()},
              reply_to_client(id));
    });
  }

  void handle(std::int64_t id, protocol::incoming_requests_req&) {
    read(id, {}, [account = account_](persistence::read_store& reads) {
      return read_incoming_requests(reads, account);
    });
  }

  void handle(std::int64_t id, protocol::accept_contact_req& req) {
    if (refuse_if_stopping(id)) return;
    const auto requester = req.requester;
    if (requester == account_) {
      answer(id, command_reply::fail(errc::not_found, "no contact request from account " +
                                                          std::to_string(requester.value)));
      return;
    }
    // A fresh room id first: the pair's owner keeps it only if the pair has no room yet, so
    // accepting twice (or from two connections at once) still makes one direct room.
    auto allocated = make_reply([this, id, requester](command_reply& r) {
      if (r.err) return answer(id, r);
      room_id offered{r.fields.value("id", std::uint64_t{0})};
      to_user(user::pair_owner(account_, requester),
              user::accept_contact{account_, requester, offered},
              make_reply([this, id, requester](command_reply& accepted) {
                if (accepted.err) return answer(id, accepted);
                finish_accept(id, requester,
                              room_id{accepted.fields.value("room_id", std::uint64_t{0})});
              }));
    });
    send(ctx_->ids,
         entity_command<id_command>{room_ids_entity, allocate_id{}, std::move(allocated)});
  }

  /// The pair are contacts with direct room `room`: make sure it exists, then answer like
  /// Chatwork (the new contact's profile with its room).
  void finish_accept(std::int64_t id, account_id requester, room_id room) {
    ensure_direct_room(
        ctx_, requester, account_, room, make_reply([this, id, requester, room](command_reply& r) {
          if (r.err) return answer(id, r);
          // The profile is written on the requester's own shard (a rename through another node
          // shows at once).
          read_then(
              names_barrier({requester}),
              [requester, room](persistence::read_store& reads) {
                auto profile = read_profile(reads, requester);
                if (!profile) return command_reply::fail(profile.error());
                nlohmann::json fields =
                    profile->value_or(nlohmann::json{{"account_id", requester.value}});
                fields["room_id"] = room.value;
                return command_reply::ok(std::move(fields));
              },
              [this, id](command_reply& done) { answer(id, done); });
        }));
  }

  void handle(std::int64_t id, protocol::reject_contact_req& req) {
    if (refuse_if_stopping(id)) return;
    if (req.requester == account_) {
      answer(id, command_reply::fail(errc::not_found, "no contact request from account " +
                                                          std::to_string(req.requester.value)));
      return;
    }
    to_user(user::pair_owner(account_, req.requester),
            user::reject_contact{account_, req.requester}, reply_to_client(id));
  }

  void handle(std::int64_t id, protocol::list_contacts_req&) {
    read(id, {}, [account = account_](persistence::read_store& reads) {
      return read_contacts(reads, account);
    });
  }

  // ---- room management (answered by the room entity; names from the accounts read model) ------

  void handle(std::int64_t id, protocol::get_room_req& req) {
    to_room(req.room, room::get_room{account_}, reply_to_client(id));
  }

  void handle(std::int64_t id, protocol::get_members_req& req) {
    to_room(req.room, room::get_members{account_}, make_reply([this, id](command_reply& r) {
              if (r.err) return answer(id, r);
              auto members = std::make_shared<nlohmann::json>(std::move(r.fields["members"]));
              // The room answered from its own state; the names come from the members' shards.
              std::vector<account_id> accounts;
              for (const auto& m : *members)
                accounts.push_back(account_id{m.value("account_id", std::uint64_t{0})});
              read_then(
                  names_barrier(accounts),
                  [members](persistence::read_store& reads) {
                    return with_member_names(reads, *members);
                  },
                  [this, id](command_reply& named) { answer(id, named); });
            }));
  }

  void handle(std::int64_t id, protocol::update_room_req& req) {
    if (refuse_if_stopping(id)) return;
    to_room(req.room,
            room::update_room{account_, std::move(req.name), std::move(req.description),
                              std::move(req.icon_preset), ctx_->now()},
            reply_to_client(id));
  }

  void handle(std::int64_t id, protocol::delete_room_req& req) {
    if (refuse_if_stopping(id)) return;
    to_room(req.room, room::delete_room{account_, ctx_->now()}, reply_to_client(id));
  }

  void handle(std::int64_t id, protocol::set_members_req& req) {
    if (refuse_if_stopping(id)) return;
    std::vector<account_id> all = req.admins;
    all.insert(all.end(), req.members.begin(), req.members.end());
    all.insert(all.end(), req.readonly.begin(), req.readonly.end());
    with_existing_accounts(id, std::move(all), [this, id, req = std::move(req)]() mutable {
      to_room(req.room,
              room::set_members{account_, std::move(req.admins), std::move(req.members),
                                std::move(req.readonly)},
              reply_to_client(id));
    });
  }

  // ---- tasks ----------------------------------------------------------------------------------

  void handle(std::int64_t id, protocol::add_task_req& req) {
    if (refuse_if_stopping(id)) return;
    // With a limit and no limit_type the limit is a moment, as in Chatwork.
    auto type = req.limit_type ? room::parse_limit_type(*req.limit_type)
                               : (req.limit != 0 ? room::limit_type::time : room::limit_type::none);
    auto task = std::make_shared<room::add_task>(
        room::add_task{account_, std::move(req.to_ids), std::move(req.body), req.limit,
                       type.value_or(room::limit_type::none), ctx_->now(), name_});
    // The pushes name the assignees: their names are read here, where the read model is, so
    // the room entity needs no one else's data. Only names the actor may know are read (as
    // get_accounts gives them); a missing one stays "" (the room refuses accounts that are not
    // members, and members are known to each other).
    const auto room = req.room;
    read_then(
        names_barrier(task->assignees),
        [task, account = account_](persistence::read_store& reads) {
          if (task->assignees.size() > room::max_task_assignees) return command_reply::ok({});
          return read_accounts(reads, account, task->assignees);
        },
        [this, id, room, task](command_reply& r) {
          if (r.err) return answer(id, r);
          if (auto it = r.fields.find("accounts"); it != r.fields.end() && it->is_array()) {
            for (const auto& a : *it)
              task->names[account_id{a.value("account_id", std::uint64_t{0})}] =
                  a.value("name", std::string());
          }
          to_room(room, std::move(*task), reply_to_client(id));
        });
  }

  void handle(std::int64_t id, protocol::set_task_status_req& req) {
    if (refuse_if_stopping(id)) return;
    auto status = room::parse_task_status(req.status).value_or(room::task_status::done);
    to_room(req.room, room::set_task_status{account_, req.task, status, ctx_->now()},
            reply_to_client(id));
  }

  void handle(std::int64_t id, protocol::get_task_req& req) {
    to_room(req.room, room::get_task{account_, req.task}, with_task_names(id, "task"));
  }

  void handle(std::int64_t id, protocol::list_tasks_req& req) {
    std::optional<room::task_status> status;
    if (req.status) status = room::parse_task_status(*req.status);
    to_room(req.room, room::list_tasks{account_, req.account, req.assigned_by, status},
            with_task_names(id, "tasks"));
  }

  /// Answers a room's task reply with the names of the task objects in `field` (the room entity
  /// knows ids only; names come from the accounts read model, as for messages).
  reply_fn with_task_names(std::int64_t id, std::string field) {
    return make_reply([this, id, field = std::move(field)](command_reply& r) {
      if (r.err) return answer(id, r);
      auto tasks = std::make_shared<nlohmann::json>(std::move(r.fields[field]));
      read_then(
          std::nullopt,
          [tasks, field](persistence::read_store& reads) {
            name_task_accounts(reads, *tasks);
            return command_reply::ok({{field, std::move(*tasks)}});
          },
          [this, id](command_reply& named) { answer(id, named); });
    });
  }

  void handle(std::int64_t id, protocol::my_tasks_req& req) {
    read(id, {}, [account = account_, req](persistence::read_store& reads) {
      return read_my_tasks(reads, account, req.assigned_by, req.status);
    });
  }

  /// Runs on the io executor like the other reads: a query reads the index and the read model.
  void handle(std::int64_t id, protocol::search_req& req) {
    read(id, message_barrier(),
         [account = account_, req = std::move(req),
          index = ctx_->options.search](persistence::read_store& reads) {
           return read_search(reads, index.get(), account, req);
         });
  }

  void handle(std::int64_t id, protocol::my_status_req&) {
    read(id, {}, [account = account_](persistence::read_store& reads) {
      return read_my_status(reads, account);
    });
  }

  // ---- fetch_messages: the REST API's "new since my last call", kept on the user entity -----
  //
  // The position is the account's (an event on its user entity, so it survives a restart and is
  // the same on every node): peek it, read the messages after it (or the latest with force),
  // move it to the last one read, and answer once that move is durable. Two fetches of the same
  // room at once may both see the same messages; the position still only moves forward.

  void handle(std::int64_t id, protocol::fetch_messages_req& req) {
    if (refuse_if_stopping(id)) return;
    const auto room = req.room;
    // With force the latest messages are read whatever the position: no need to peek it.
    if (req.force) return fetch_after(id, room, std::nullopt);
    to_user(account_, user::peek_fetch_cursor{room}, make_reply([this, id, room](command_reply& r) {
              if (r.err) return answer(id, r);
              fetch_after(id, room, message_id{r.fields.value("fetched_up_to", std::uint64_t{0})});
            }));
  }

  /// Reads the messages of `room` after `after` (the latest without it), then moves the position.
  void fetch_after(std::int64_t id, room_id room, std::optional<message_id> after) {
    protocol::history_req history{room, std::nullopt, std::nullopt, protocol::max_fetch_messages};
    history.after = after;
    read_then(
        message_barrier(),
        [account = account_, history](persistence::read_store& reads) {
          return read_history(reads, account, history);
        },
        [this, id, room](command_reply& read) { fetched(id, room, read); });
  }

  void fetched(std::int64_t id, room_id room, command_reply& read) {
    if (read.err) return answer(id, read);
    const auto& messages = read.fields["messages"];
    if (messages.empty()) return answer(id, read);
    auto last = protocol::message_id_from_wire(messages.back().value("message_id", ""));
    if (!last) return answer(id, command_reply::fail(errc::internal, "bad message id in history"));
    auto reply = std::make_shared<command_reply>(std::move(read));
    to_user(account_, user::move_fetch_cursor{room, *last},
            make_reply([this, id, reply](command_reply& moved) {
              if (moved.err) return answer(id, moved);
              answer(id, std::move(*reply));
            }));
  }

  // ---- files: the node signs URLs and checks the store; the bytes never come here -------------
  //
  // request_upload: the room records the pending upload under a random object key, then the
  // session signs a PUT for exactly that size and type. complete_upload: the room checks the
  // upload is the caller's and still pending and gives its key; the store's HEAD (io thread) must
  // show an object of the size asked for; then the room completes it (message + file_uploaded).
  // get_file / list_files read the room_files read model (members only).

  /// The object store, or null after answering `unavailable`.
  persistence::object_store* store_or_refuse(std::int64_t id) {
    if (auto* store = ctx_->objects.get()) return store;
    answer(id, command_reply::fail(
                   errc::unavailable,
                   "files are not enabled on this server (a cluster needs an S3-compatible store: "
                   "--s3-endpoint)"));
    return nullptr;
  }

  std::chrono::system_clock::time_point wall_now() const {
    return std::chrono::system_clock::time_point{std::chrono::seconds{ctx_->now()}};
  }

  void handle(std::int64_t id, protocol::request_upload_req& req) {
    if (refuse_if_stopping(id)) return;
    if (store_or_refuse(id) == nullptr) return;
    // Checked here too, so that a name that is not UTF-8 never reaches the command codec.
    if (auto st = room::check_filename(req.filename); !st) {
      return answer(id, command_reply::fail(st.error()));
    }
    room::request_upload cmd{account_,
                             std::move(req.filename),
                             req.size,
                             std::move(req.content_type),
                             ctx_->options.max_file_size,
                             random_object_key(req.room.value),
                             ctx_->now(),
                             static_cast<unix_time>(ctx_->options.upload_window.count()),
                             ctx_->options.max_pending_uploads};
    const auto now = cmd.now;
    to_room(req.room, std::move(cmd), make_reply([this, id, now](command_reply& r) {
              if (r.err) return answer(id, r);
              const auto expires_at = r.fields.value("expires_at", std::int64_t{0});
              auto url = ctx_->objects->presign_put(
                  r.fields.value("object_key", ""), r.fields.value("size", std::uint64_t{0}),
                  r.fields.value("content_type", ""), std::chrono::seconds{expires_at - now},
                  std::chrono::system_clock::time_point{std::chrono::seconds{now}});
              if (!url) return answer(id, command_reply::fail(url.error()));
              auto reply = command_reply::ok({{"file_id", r.fields.value("file_id", 0)},
                                              {"upload_url", url->url},
                                              {"expires_at", expires_at}});
              if (link_->stores_uploads()) {
                reply.fields["object_key"] = r.fields.value("object_key", "");
              }
              answer(id, std::move(reply));
            }));
  }

  void handle(std::int64_t id, protocol::complete_upload_req& req) {
    if (refuse_if_stopping(id)) return;
    if (store_or_refuse(id) == nullptr) return;
    const auto room = req.room;
    const auto file = req.file;
    to_room(room, room::check_upload{account_, file, ctx_->now()},
            make_reply([this, id, room, file, message = std::move(req.message)](command_reply& r) {
              if (r.err) return answer(id, r);
              stored_then_complete(id, room, file, r.fields.value("object_key", ""),
                                   r.fields.value("size", std::uint64_t{0}), message);
            }));
  }

  /// HEADs the object on an io thread; completes the upload when it is there with `size` bytes.
  void stored_then_complete(std::int64_t id, room_id room, file_id file, std::string key,
                            std::uint64_t size, std::string message) {
    auto reply = make_reply([this, id, room, file, message = std::move(message)](command_reply& r) {
      if (r.err) return answer(id, r);
      to_room(room,
              room::complete_upload{account_, file, r.fields.value("size", std::uint64_t{0}),
                                    ctx_->now(), name_, message},
              reply_to_client(id));
    });
    ctx_->deps.io->post([store = ctx_->objects, key = std::move(key), size, reply] {
      command_reply r;
      try {
        auto info = store->head(key);
        if (info) {
          r = command_reply::ok({{"size", info->size}});
        } else if (info.error().code == errc::not_found) {
          r = command_reply::fail(errc::bad_request,
                                  "nothing was uploaded for this file yet: PUT its " +
                                      std::to_string(size) +
                                      " bytes to upload_url first, then complete_upload");
        } else {
          r = command_reply::fail(errc::unavailable, info.error().message);
        }
      } catch (const std::exception& ex) {
        r = command_reply::fail(errc::unavailable, ex.what());
      }
      reply(std::move(r));
    });
  }

  /// The shard a room's rows are written on (its read barrier).
  barrier room_barrier(room_id room) const {
    return {ctx_->deps.shards->partition_of(entity_of(room))};
  }

  void handle(std::int64_t id, protocol::get_file_req& req) {
    if (req.download_url && store_or_refuse(id) == nullptr) return;
    read(id, room_barrier(req.room),
         [account = account_, req, store = ctx_->objects,
          now = wall_now()](persistence::read_store& reads) {
           auto row = read_file_row(reads, account, req.room, req.file);
           if (!row) return command_reply::fail(row.error());
           nlohmann::json fields;
           if (req.download_url) {
             // Chatwork's download links last 30 seconds.
             auto url = store->presign_get(row->value("object_key", ""), row->value("filename", ""),
                                           std::chrono::seconds{30}, now);
             if (!url) return command_reply::fail(url.error());
             fields["download_url"] = url->url;
           }
           fields["file"] = file_object_of(std::move(*row));
           return command_reply::ok(std::move(fields));
         });
  }

  void handle(std::int64_t id, protocol::list_files_req& req) {
    read(id, room_barrier(req.room), [account = account_, req](persistence::read_store& reads) {
      return read_file_list(reads, account, req.room, req.account);
    });
  }

  // ---- webhooks: settings are room state; deliveries are this node's outbox ------------------
  //
  // create_webhook: the URL's shape is checked here, then an io thread resolves its host (a
  // private or loopback target is refused unless --webhook-allow-private) and draws the secret;
  // the room records the setting. list_webhooks: the room's settings (never their tokens) with
  // the delivery state this node's outbox keeps for them.

  /// The webhook service, or null after answering `unavailable`.
  persistence::webhook_service* webhooks_or_refuse(std::int64_t id) {
    if (auto* w = ctx_->deps.webhooks.get()) return w;
    answer(id, command_reply::fail(errc::unavailable, "webhooks are not enabled on this server"));
    return nullptr;
  }

  void handle(std::int64_t id, protocol::create_webhook_req& req) {
    if (refuse_if_stopping(id)) return;
    if (webhooks_or_refuse(id) == nullptr) return;
    if (auto url = room::parse_webhook_url(req.url); !url) {
      return answer(id, command_reply::fail(url.error()));
    }
    if (req.events.size() > 16) {
      return answer(id, command_reply::fail(errc::bad_request, "events lists too many names"));
    }
    const auto room = req.room;
    auto checked = make_reply(
        [this, id, room, url = req.url, events = std::move(req.events)](command_reply& r) mutable {
          if (r.err) return answer(id, r);
          to_room(room,
                  room::create_webhook{account_, std::move(url), std::move(events),
                                       r.fields.value("token", ""), ctx_->now()},
                  reply_to_client(id));
        });
    // The room says first whether the caller is its admin (list_webhooks is admins only), so
    // nobody else can use this op to learn where host names resolve.
    to_room(room, room::list_webhooks{account_},
            make_reply([this, id, url = std::move(req.url), checked](command_reply& r) mutable {
              if (r.err) return answer(id, r);
              ctx_->deps.io->post(
                  [url = std::move(url), allow = ctx_->options.webhooks.allow_private, checked] {
                    command_reply c;
                    if (auto st = persistence::check_webhook_target(url, allow); !st) {
                      c = command_reply::fail(st.error());
                    } else if (auto token = persistence::new_webhook_token(); !token) {
                      c = command_reply::fail(token.error());
                    } else {
                      c = command_reply::ok({{"token", *token}});
                    }
                    checked(std::move(c));
                  });
            }));
  }

  void handle(std::int64_t id, protocol::list_webhooks_req& req) {
    if (webhooks_or_refuse(id) == nullptr) return;
    const auto room = req.room;
    to_room(room, room::list_webhooks{account_}, make_reply([this, id, room](command_reply& r) {
              if (r.err) return answer(id, r);
              auto states = ctx_->deps.webhooks->states(room);
              auto list = r.fields.value("webhooks", nlohmann::json::array());
              for (auto& w : list) {
                const webhook_id wid{w.value("webhook_id", std::uint64_t{0})};
                const auto it = states.find(wid);
                const auto s =
                    it == states.end() ? persistence::webhook_delivery_state{} : it->second;
                w["delivery"] = {{"last_status", s.last_status},
                                 {"last_error", s.last_error},
                                 {"last_attempt_time", s.last_attempt},
                                 {"consecutive_failures", s.consecutive_failures},
                                 {"breaker", s.breaker},
                                 {"pending", s.pending},
                                 {"delivered", s.delivered},
                                 {"given_up", s.given_up}};
              }
              answer(id, command_reply::ok({{"webhooks", std::move(list)}}));
            }));
  }

  void handle(std::int64_t id, protocol::delete_webhook_req& req) {
    if (refuse_if_stopping(id)) return;
    if (webhooks_or_refuse(id) == nullptr) return;
    to_room(req.room, room::delete_webhook{account_, req.webhook, ctx_->now()},
            reply_to_client(id));
  }

  void on_closed() {
    if (account_) leave_account();
    closed_ = true;
    quit();
  }

  std::shared_ptr<node_context> ctx_;
  std::shared_ptr<client_link> link_;
  std::uint64_t id_;
  account_id account_;
  /// The account's display name as of its `auth`, then of its latest rename (the hub tells every
  /// session of the account): the messages it sends carry it.
  std::string name_;
  bool auth_pending_ = false;
  bool closed_ = false;
  /// Lists, not deques: libstdc++'s std::deque allocates ~600 bytes when constructed, and most
  /// sessions never queue anything (these two hold frames behind an auth and waiting syncs).
  std::list<std::string> queued_;
  double tokens_;
  caf::actor_clock::time_point last_refill_;
  std::unordered_map<std::uint64_t, continuation> pending_;
  /// Requests handed to their op and not answered yet, by client request id, for the metrics
  /// (empty when metrics are off). A client reusing an id makes a multimap entry per request.
  struct running_request {
    std::size_t op;
    std::chrono::steady_clock::time_point started;
  };
  std::unordered_multimap<std::int64_t, running_request> running_;
  std::uint64_t next_tag_ = 1;

  /// A sync waiting for (or in) its turn: the front one runs.
  struct sync_job {
    std::int64_t id = 0;
    std::vector<std::pair<room_id, seq_nr>> since;
  };
  std::list<sync_job> syncs_;
  std::vector<sync_room> sync_plan_;  ///< the running sync's rooms
  std::size_t sync_room_ = 0;         ///< the room being replayed
  seq_nr sync_next_ = 0;              ///< its next seq to read; 0 = its first batch
};

}  // namespace

caf::actor spawn_session(caf::actor_system& sys, std::shared_ptr<node_context> ctx,
                         std::shared_ptr<client_link> link, std::uint64_t session_id) {
  return sys.spawn<session_actor>(std::move(ctx), std::move(link), session_id);
}

}  // namespace hibiki::actors
