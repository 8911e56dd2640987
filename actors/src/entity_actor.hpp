#pragma once
/// The event-sourced entity actor, generic over the entity kind (entity_traits.hpp).
///
/// Life of an entity: it asks the node's recovery gate for a permit, recovers its state on the
/// io executor (latest snapshot + the events after it) while stashing commands, then serves.
/// A command is decided on the current, optimistic state (which includes appends still in
/// flight), its events are appended asynchronously, and its reply and pushes go out strictly in
/// order once the journal has acknowledged that append and every one before it. A failed append
/// fails that command and every later one still in flight, and the entity recovers again from
/// the journal before it takes new commands. A failed recovery fails the commands it held back and
/// leaves the entity alive but `failed`: the next command tries the recovery again. (It must not
/// quit: its region would keep forwarding commands to it until it saw the actor go down, and
/// those would be dropped unanswered.) Owned by its shard region; touched only by itself.
///
/// Handoff (its shard moved to another node): the entity stops at once. Commands it stashed or
/// has not decided yet are answered `moved` (they were not applied; the sender re-routes them to
/// the new owner), appends already handed to the journal keep their real outcome, then it quits.

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include <caf/all.hpp>

#include "audience.hpp"
#include "context.hpp"
#include "entity_traits.hpp"
#include "hibiki/core/log.hpp"
#include "messages.hpp"

namespace hibiki::actors {

/// An entity whose state holds n entries (Traits::snapshot_size) is snapshotted at most every
/// n / snapshot_size_ratio events (and never more often than node_options::snapshot_every).
inline constexpr std::size_t snapshot_size_ratio = 4;

/// The outcome of a recovery run on the io executor.
template <class State>
struct recovered_msg {
  std::optional<recovery<State>> value;
  hibiki::error err;
};

/// Runs `fn` on an entity's current (optimistic) state inside the entity, once it has recovered.
/// For tests and diagnostics; `fn` must not block.
template <class State>
struct state_query {
  entity_id entity;
  std::function<void(const State&)> fn;
};

}  // namespace hibiki::actors

namespace caf {
template <class State>
struct allowed_unsafe_message_type<hibiki::actors::recovered_msg<State>> : std::true_type {};
template <class State>
struct allowed_unsafe_message_type<hibiki::actors::state_query<State>> : std::true_type {};
}  // namespace caf

namespace hibiki::actors {

template <class Traits>
class entity_actor : public caf::event_based_actor {
 public:
  using state_type = typename Traits::state;
  using command_type = typename Traits::command;
  using event_type = typename Traits::event;
  using command_msg = entity_command<command_type>;
  using query_msg = state_query<state_type>;

  entity_actor(caf::actor_config& cfg, std::shared_ptr<node_context> ctx, entity_id id)
      : caf::event_based_actor(cfg),
        ctx_(std::move(ctx)),
        id_(std::move(id)),
        state_(Traits::initial(id_)) {}

  caf::behavior make_behavior() override {
    request_recovery();
    return {
        [this](command_msg& m) { on_command(std::move(m)); },
        [this](query_msg& q) {
          if (phase_ == phase::ready && !needs_recovery_) {
            q.fn(state_);
            return;
          }
          queries_.push_back(std::move(q));
          if (phase_ == phase::failed) request_recovery();
        },
        [this](granted_atom) { start_recovery(); },
        [this](recovered_msg<state_type>& m) { on_recovered(std::move(m)); },
        [this](append_done& d) { on_append_done(d); },
        [this](passivate_atom) {
          stopping_ = true;
          maybe_quit();
        },
        [this](handoff_atom) { on_handoff(); },
    };
  }

 private:
  /// failed: the last recovery failed; the next command starts another.
  enum class phase { waiting_permit, recovering, ready, failed };

  /// A command whose reply waits for its append (or for the appends before it).
  struct pending {
    std::uint64_t append_id = 0;  ///< 0: nothing appended for this command
    bool resolved = false;
    command_reply outcome;
    reply_fn reply;
    std::vector<push_msg> pushes;
    std::vector<audit_entry> audit;  ///< written with the pushes, once durable
  };

  void request_recovery() {
    phase_ = phase::waiting_permit;
    send(ctx_->gate, acquire_atom::value, caf::actor_cast<caf::actor>(this));
  }

  void start_recovery() {
    if (handing_off_ || (stopping_ && stash_.empty() && inflight_.empty())) {
      // Passivated before it ever served: give the permit back and go.
      send(ctx_->gate, release_atom::value);
      quit();
      return;
    }
    phase_ = phase::recovering;
    auto self = caf::actor_cast<caf::actor>(this);
    auto ctx = ctx_;
    auto id = id_;
    ctx_->deps.io->post([self, ctx, id] {
      recovered_msg<state_type> msg;
      try {
        auto r = Traits::recover(*ctx, id);
        if (r)
          msg.value = std::move(*r);
        else
          msg.err = r.error();
      } catch (const std::exception& ex) {
        msg.err = hibiki::error{errc::internal, ex.what()};
      }
      caf::anon_send(self, std::move(msg));
    });
  }

  void on_recovered(recovered_msg<state_type> m) {
    send(ctx_->gate, release_atom::value);
    if (handing_off_) {
      // The state is the new owner's to recover now.
      phase_ = phase::failed;
      maybe_quit();
      return;
    }
    if (!m.value) {
      // Storage cannot give us our state: fail what waits, and try again on the next command.
      auto err = m.err;
      if (err.code == errc::internal || err.code == errc::ok) err.code = errc::unavailable;
      phase_ = phase::failed;
      auto stashed = std::move(stash_);
      stash_.clear();
      for (auto& c : stashed)
        if (c.reply) c.reply(command_reply::fail(err));
      maybe_quit();
      return;
    }
    state_ = std::move(m.value->state);
    journal_seq_ = m.value->journal_seq;
    snapshot_seq_ = m.value->snapshot_seq;
    snapshot_.reset();
    needs_recovery_ = false;
    phase_ = phase::ready;
    auto stashed = std::move(stash_);
    stash_.clear();
    for (auto& c : stashed) on_command(std::move(c));
    auto queries = std::move(queries_);
    queries_.clear();
    for (auto& q : queries) q.fn(state_);
    maybe_quit();
  }

  void on_command(command_msg m) {
    if (handing_off_) {
      if (m.reply) m.reply(moved_reply());
      return;
    }
    if (phase_ == phase::failed) {
      stash_.push_back(std::move(m));
      request_recovery();
      return;
    }
    if (phase_ != phase::ready || needs_recovery_) {
      stash_.push_back(std::move(m));
      return;
    }
    pending p;
    p.reply = std::move(m.reply);
    try {
      decide_and_append(m.cmd, p);
      for (auto& push : p.pushes) {
        if (push.to_origin) continue;
        push.exclude = m.origin;
        push.exclude_node = m.origin_node;
      }
    } catch (const std::exception& ex) {
      p.append_id = 0;
      p.resolved = true;
      p.pushes.clear();
      p.audit.clear();
      p.outcome = command_reply::fail(errc::internal, ex.what());
    }
    inflight_.push_back(std::move(p));
    flush();
    maybe_recover_again();
  }

  void decide_and_append(const command_type& cmd, pending& p) {
    auto decided = Traits::decide(state_, cmd);
    if (!decided) {
      p.resolved = true;
      p.outcome = command_reply::fail(decided.error());
      return;
    }
    if (decided->events.empty()) {
      p.resolved = true;
      p.outcome = decided->immediate ? std::move(*decided->immediate)
                                     : command_reply::ok(Traits::reply_fields(cmd, {}, state_));
      return;
    }
    persistence::append_request req;
    req.entity = id_;
    seq_nr seq = journal_seq_;
    try {
      for (const auto& e : decided->events) {
        // Projections need the state before the event too: the traits give what they read of
        // it, without copying the whole state (room_prior.hpp).
        const auto before = Traits::projection_base(state_, e);
        if constexpr (requires(std::vector<audit_entry> & out) {
                        Traits::audit_entries(before, e, out);
                      }) {
          if (log::enabled(log::channel::audit)) Traits::audit_entries(before, e, p.audit);
        }
        state_ = Traits::apply(std::move(state_), e);
        Traits::effects(before, e, state_, req.rows, p.pushes);
        req.events.push_back(
            persistence::persisted_event{id_, ++seq, ctx_->deps.writer_id, Traits::encode(e)});
      }
      p.outcome = command_reply::ok(Traits::reply_fields(cmd, decided->events, state_));
    } catch (const std::exception& ex) {
      // The state may be half-updated: nothing was appended, so rebuild it from the journal.
      needs_recovery_ = true;
      p.resolved = true;
      p.pushes.clear();
      p.audit.clear();
      p.outcome = command_reply::fail(errc::internal, ex.what());
      return;
    }
    journal_seq_ = seq;
    p.append_id = next_append_id_++;
    maybe_capture_snapshot(p.append_id);
    ++outstanding_;
    ++ctx_->inflight;
    auto self = caf::actor_cast<caf::actor>(this);
    auto append_id = p.append_id;
    // The callback runs on the journal's writer thread: it only sends a message back.
    ctx_->deps.journal->async_append(std::move(req), [self, append_id](hibiki::status st) {
      caf::anon_send(self, append_done{append_id, std::move(st)});
    });
  }

  void on_append_done(append_done& d) {
    if (outstanding_ > 0) --outstanding_;
    auto it = inflight_.begin();
    while (it != inflight_.end() && it->append_id != d.id) ++it;
    if (it != inflight_.end() && !it->resolved) {
      if (d.st.ok()) {
        it->resolved = true;
      } else {
        // Everything decided after this append assumed it succeeded: fail them all, and rebuild
        // the state from what the journal really holds before serving again.
        hibiki::error err = d.st.error();
        // `moved`: the shard is no longer written here and the append was not applied, so the
        // sender may retry it at the new owner. Anything else, a journal `conflict` included,
        // is `unavailable` to the sender: the command was not applied and a retry is safe. (A
        // conflict means this entity's state was behind the journal, e.g. an append that timed
        // out during a broker outage and was committed after all; the recovery below catches up.)
        if (err.code != errc::moved) err.code = errc::unavailable;
        for (; it != inflight_.end(); ++it) {
          it->resolved = true;
          it->pushes.clear();
          it->audit.clear();
          it->outcome = command_reply::fail(err);
        }
        needs_recovery_ = true;
      }
    }
    flush();
    maybe_recover_again();
  }

  /// After a failure, recovers once the last in-flight append has its outcome.
  void maybe_recover_again() {
    if (handing_off_) return;
    if (needs_recovery_ && outstanding_ == 0 && phase_ == phase::ready) request_recovery();
  }

  static command_reply moved_reply() {
    return command_reply::fail(errc::moved, "the entity's shard moved to another node");
  }

  void on_handoff() {
    if (handing_off_) return;
    handing_off_ = true;
    stopping_ = true;
    auto stashed = std::move(stash_);
    stash_.clear();
    for (auto& c : stashed)
      if (c.reply) c.reply(moved_reply());
    // Queries are diagnostics without a reply channel: the new owner answers them.
    queries_.clear();
    maybe_quit();
  }

  /// Sends the replies and pushes of the resolved commands at the front, in order.
  void flush() {
    while (!inflight_.empty() && inflight_.front().resolved) {
      pending p = std::move(inflight_.front());
      inflight_.pop_front();
      if (snapshot_ && p.append_id != 0 && p.append_id == snapshot_->append_id)
        save_snapshot(!p.outcome.err);
      if (!p.outcome.err) {
        for (auto& push : p.pushes) {
          if (push.audience_of)
            send_to_audience(ctx_, std::move(push));
          else
            send(ctx_->hub, std::move(push));
        }
        for (const auto& a : p.audit) write_audit(a);
      }
      if (p.reply) p.reply(std::move(p.outcome));
      if (p.append_id != 0) --ctx_->inflight;
    }
    maybe_quit();
  }

  /// Takes a snapshot of the state as this append leaves it, once enough events have passed since
  /// the last one. The copy waits for the append (and, the replies going out in order, every one
  /// before it) to be durable before it is saved, so a room that never stops receiving messages
  /// still snapshots, and a snapshot never holds an event the journal does not.
  void maybe_capture_snapshot(std::uint64_t append_id) {
    if constexpr (Traits::snapshots) {
      if (snapshot_ || ctx_->options.snapshot_every == 0) return;
      // A snapshot costs the size of the state, so a large state is saved less often: at most
      // every size / snapshot_size_ratio events, which bounds its cost per event, while a
      // recovery still replays no more events than a fraction of what the snapshot holds.
      seq_nr every = ctx_->options.snapshot_every;
      if constexpr (requires(const state_type& st) { Traits::snapshot_size(st); })
        every = std::max<seq_nr>(every, Traits::snapshot_size(state_) / snapshot_size_ratio);
      if (journal_seq_ - snapshot_seq_ < every) return;
      held_snapshot h;
      h.append_id = append_id;
      h.snap.meta.entity = id_;
      h.snap.meta.seq = journal_seq_;
      h.state = state_;
      snapshot_ = std::move(h);
      snapshot_seq_ = journal_seq_;
    } else {
      (void)append_id;
    }
  }

  /// The held snapshot's append has its outcome: saves it if the append is durable, else drops it
  /// (the entity recovers from the journal, which also tells it its last snapshot).
  void save_snapshot(bool durable) {
    if constexpr (Traits::snapshots) {
      held_snapshot h = std::move(*snapshot_);
      snapshot_.reset();
      if (!durable) return;
      h.snap.meta.timestamp_ms = ctx_->now() * 1000;
      auto ctx = ctx_;
      // Encoded and saved on an io thread, so a large state does not hold up the entity's next
      // commands. A lost snapshot only costs a longer recovery (the events stay in the journal),
      // so its status is logged, not waited for.
      ctx_->deps.io->post([ctx, h = std::move(h)]() mutable {
        h.snap.data = Traits::encode_snapshot(h.state);
        auto st = ctx->deps.snapshots->save(h.snap);
        if (!st)
          log::warn("entity") << h.snap.meta.entity << ": snapshot at seq " << h.snap.meta.seq
                              << " not saved: " << st.error().message;
      });
    } else {
      (void)durable;
    }
  }

  void maybe_quit() {
    if (handing_off_) {
      // A permit asked for or a recovery running must come back first (the gate counts it).
      if (inflight_.empty() && outstanding_ == 0 && phase_ != phase::waiting_permit &&
          phase_ != phase::recovering)
        quit();
      return;
    }
    if (!stopping_) return;
    if (!inflight_.empty() || outstanding_ != 0 || !stash_.empty()) return;
    // A failed entity has nothing to lose; a recovering one finishes first.
    if (phase_ == phase::failed || (phase_ == phase::ready && !needs_recovery_)) quit();
  }

  std::shared_ptr<node_context> ctx_;
  entity_id id_;
  state_type state_;
  phase phase_ = phase::waiting_permit;
  seq_nr journal_seq_ = 0;
  seq_nr snapshot_seq_ = 0;
  bool stopping_ = false;
  bool handing_off_ = false;
  bool needs_recovery_ = false;
  std::vector<command_msg> stash_;
  std::vector<query_msg> queries_;
  std::deque<pending> inflight_;
  std::uint64_t next_append_id_ = 1;
  std::size_t outstanding_ = 0;
  /// A snapshot taken when an append was decided, saved once that append is durable.
  struct held_snapshot {
    std::uint64_t append_id = 0;
    persistence::snapshot snap;
    state_type state;
  };
  std::optional<held_snapshot> snapshot_;
};

}  // namespace hibiki::actors
