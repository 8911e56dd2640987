#pragma once
/// The shard region of one entity kind: entity id → live entity actor. It activates an entity on
/// its first command, passivates it after `passivate_after` without commands, and passivates the
/// least recently used entity when more than `max_live_entities` are live. Commands for an entity
/// that is passivating are buffered and start a new incarnation once the old one has stopped, so
/// none is lost. Owned by the node; touched only by itself.
///
/// Clustered (the shard table is not `single`), every command is routed by its entity's shard
/// (cluster-design.md): served here, held back while the shard is acquiring here or has no
/// reachable owner, or forwarded to the owner's cluster port. A command that comes back `moved`
/// (the owner changed under it) and did not come from another node is re-routed after a short
/// delay, until `route_wait` since it arrived is used up (then `unavailable`). A command forwarded
/// by another node is served here or answered `moved`, never forwarded again. On a table change
/// the entities of shards no longer served here are handed off and held commands re-routed.

#include <cstdint>
#include <list>
#include <memory>
#include <unordered_map>
#include <variant>
#include <vector>

#include <atomic>

#include <caf/all.hpp>

#include "cluster_port.hpp"
#include "cluster_wire.hpp"
#include "context.hpp"
#include "entity_actor.hpp"
#include "messages.hpp"

namespace hibiki::actors {

/// Counters a region publishes for tests and metrics (written by the region only).
struct region_stats {
  std::atomic<std::size_t> live{0};
  std::atomic<std::uint64_t> activations{0};
  std::atomic<std::uint64_t> passivations{0};
};

/// A command the region routes again (after `moved` or an unreachable owner), with the time it
/// gives up.
template <class Command>
struct rerouted_command {
  entity_command<Command> msg;
  caf::actor_clock::time_point deadline;
};

/// How often held-back commands are routed again while no table change arrives.
inline constexpr std::chrono::milliseconds reroute_interval{150};

}  // namespace hibiki::actors

namespace caf {
template <class Command>
struct allowed_unsafe_message_type<hibiki::actors::rerouted_command<Command>> : std::true_type {};
}  // namespace caf

namespace hibiki::actors {

template <class Traits>
class region_actor : public caf::event_based_actor {
 public:
  using command_msg = entity_command<typename Traits::command>;
  using query_msg = state_query<typename Traits::state>;
  using rerouted_msg = rerouted_command<typename Traits::command>;

  region_actor(caf::actor_config& cfg, std::shared_ptr<node_context> ctx,
               std::shared_ptr<region_stats> stats)
      : caf::event_based_actor(cfg),
        ctx_(std::move(ctx)),
        stats_(std::move(stats)),
        shards_(ctx_->deps.shards),
        clustered_(shards_ && shards_->is_clustered()) {}

  caf::behavior make_behavior() override {
    set_down_handler([this](caf::down_msg& d) { on_down(d); });
    set_exit_handler([this](caf::exit_msg& x) {
      for (auto& [id, e] : entries_) send_exit(e.actor, x.reason);
      quit(x.reason);
    });
    return {
        [this](command_msg& m) {
          if (!clustered_) {
            deliver(std::move(m));
            return;
          }
          route(std::move(m), clock().now() + route_wait());
        },
        [this](query_msg& q) { route_query(std::move(q)); },
        [this](idle_atom, const entity_id& id, std::uint64_t generation) {
          on_idle(id, generation);
        },
        [this](rerouted_msg& r) { retry_later(std::move(r.msg), r.deadline); },
        [this](retry_atom) {
          timer_armed_ = false;
          reroute_held();
        },
        [this](shards_atom) { on_shards_changed(); },
    };
  }

 private:
  struct entry {
    caf::actor actor;
    bool stopping = false;
    std::uint64_t generation = 0;
    std::list<entity_id>::iterator lru;
    caf::actor_clock::time_point last_used;
    std::vector<std::variant<command_msg, query_msg>> buffer;
  };
  using entry_map = std::unordered_map<entity_id, entry>;

  caf::actor_clock::duration_type route_wait() const {
    return std::chrono::duration_cast<caf::actor_clock::duration_type>(ctx_->options.route_wait);
  }

  // ---- cluster routing ------------------------------------------------------------------------

  struct held_command {
    command_msg msg;
    caf::actor_clock::time_point deadline;
  };

  void route(command_msg m, caf::actor_clock::time_point deadline) {
    const auto partition = shards_->partition_of(m.entity);
    auto r = shards_->route(partition);
    switch (r.kind) {
      case shard_route::serving:
        deliver(watch(std::move(m), deadline));
        return;
      case shard_route::acquiring:
        hold(std::move(m), deadline);
        return;
      case shard_route::remote:
        if (m.forwarded) return answer_moved(m);
        forward(std::move(m), deadline, r.endpoint);
        return;
      case shard_route::unowned:
        if (m.forwarded) return answer_moved(m);
        hold(std::move(m), deadline);
        return;
    }
  }

  static void answer_moved(command_msg& m) {
    if (m.reply) m.reply(command_reply::fail(errc::moved, "this node does not serve the shard"));
  }

  void hold(command_msg m, caf::actor_clock::time_point deadline) {
    if (clock().now() >= deadline) {
      if (m.reply)
        m.reply(command_reply::fail(errc::unavailable, "no node serves the entity's shard"));
      return;
    }
    held_.push_back(held_command{std::move(m), deadline});
    arm_timer();
  }

  void arm_timer() {
    if (timer_armed_) return;
    timer_armed_ = true;
    delayed_send(this, reroute_interval, retry_atom::value);
  }

  /// After `moved` or an unreachable owner: looks the owners up again and routes the command
  /// once more after a short delay (or on the next table change).
  void retry_later(command_msg m, caf::actor_clock::time_point deadline) {
    if (ctx_->deps.refresh_owners) ctx_->deps.refresh_owners();
    ++m.attempts;
    hold(std::move(m), deadline);
  }

  void reroute_held() {
    auto held = std::move(held_);
    held_.clear();
    for (auto& h : held) route(std::move(h.msg), h.deadline);
  }

  /// A command served here that did not come from another node: if the entity answers `moved`
  /// (handed off, or its append refused), it comes back to this region to be routed again.
  command_msg watch(command_msg m, caf::actor_clock::time_point deadline) {
    if (m.forwarded || !m.reply) return m;
    auto self = caf::actor_cast<caf::actor>(this);
    auto copy = std::make_shared<const command_msg>(
        command_msg{m.entity, m.cmd, m.reply, m.origin, m.origin_node, false, m.attempts});
    m.reply = [self, copy, deadline](command_reply r) {
      if (r.err && r.err->code == errc::moved) {
        caf::anon_send(self, rerouted_msg{*copy, deadline});
        return;
      }
      copy->reply(std::move(r));
    };
    return m;
  }

  void forward(command_msg m, caf::actor_clock::time_point deadline, const caf::actor& owner) {
    remote_command<typename Traits::command> wire{
        m.entity, m.cmd, m.origin_node.empty() ? shards_->self() : m.origin_node, m.origin};
    auto pending = std::make_shared<command_msg>(std::move(m));
    auto left = std::max(deadline - clock().now(), caf::actor_clock::duration_type{1});
    request(owner, left, std::move(wire))
        .then(
            [this, pending, deadline](const remote_reply& reply) {
              auto r = from_wire(reply);
              if (r.err && r.err->code == errc::moved) {
                retry_later(std::move(*pending), deadline);
                return;
              }
              if (pending->reply) pending->reply(std::move(r));
            },
            [this, pending, deadline](caf::error&) {
              // Timeout, or the owner went away: like `moved`, since the owner map may be stale.
              retry_later(std::move(*pending), deadline);
            });
  }

  void on_shards_changed() {
    if (!clustered_) return;
    // Hand off the entities of shards that are no longer served here (copy the ids first:
    // handing off edits the LRU list).
    std::vector<entity_id> lost;
    for (const auto& [id, e] : entries_)
      if (!e.stopping && !shards_->serving(shards_->partition_of(id))) lost.push_back(id);
    for (const auto& id : lost) {
      auto& e = entries_.at(id);
      e.stopping = true;
      lru_.erase(e.lru);
      send(e.actor, handoff_atom::value);
    }
    stats_->live = lru_.size();
    reroute_held();
  }

  /// Queries are local diagnostics (their callback cannot cross nodes): answered by a local
  /// entity of a served shard, dropped otherwise.
  void route_query(query_msg q) {
    if (clustered_ && !shards_->serving(shards_->partition_of(q.entity))) return;
    deliver(std::move(q));
  }

  // ---- local entities -------------------------------------------------------------------------

  template <class Msg>
  void deliver(Msg m) {
    auto it = entries_.find(m.entity);
    if (it == entries_.end()) it = activate(m.entity);
    auto& e = it->second;
    if (e.stopping) {
      e.buffer.push_back(std::move(m));
      return;
    }
    lru_.splice(lru_.begin(), lru_, e.lru);
    e.last_used = clock().now();
    send(e.actor, std::move(m));
  }

  typename entry_map::iterator activate(const entity_id& id) {
    auto actor = spawn<entity_actor<Traits>>(ctx_, id);
    monitor(actor);
    entry e;
    e.actor = actor;
    e.generation = ++generation_;
    lru_.push_front(id);
    e.lru = lru_.begin();
    e.last_used = clock().now();
    by_addr_.emplace(actor.address(), id);
    auto it = entries_.emplace(id, std::move(e)).first;
    ++stats_->activations;
    delayed_send(this, ctx_->options.passivate_after, idle_atom::value, id, it->second.generation);
    // Keep at least the entity being activated, whatever the cap says.
    auto cap = std::max<std::size_t>(ctx_->options.max_live_entities, 1);
    while (lru_.size() > cap) passivate(lru_.back());
    stats_->live = lru_.size();
    return it;
  }

  void on_idle(const entity_id& id, std::uint64_t generation) {
    auto it = entries_.find(id);
    if (it == entries_.end() || it->second.stopping || it->second.generation != generation) return;
    auto idle = clock().now() - it->second.last_used;
    auto limit =
        std::chrono::duration_cast<caf::actor_clock::duration_type>(ctx_->options.passivate_after);
    if (idle >= limit) {
      passivate(id);
    } else {
      delayed_send(this, limit - idle, idle_atom::value, id, generation);
    }
  }

  void passivate(const entity_id& id) {
    auto& e = entries_.at(id);
    if (e.stopping) return;
    e.stopping = true;
    lru_.erase(e.lru);
    stats_->live = lru_.size();
    ++stats_->passivations;
    send(e.actor, passivate_atom::value);
  }

  void on_down(const caf::down_msg& d) {
    auto a = by_addr_.find(d.source);
    if (a == by_addr_.end()) return;
    auto id = a->second;
    by_addr_.erase(a);
    auto it = entries_.find(id);
    if (it == entries_.end()) return;
    if (!it->second.stopping) lru_.erase(it->second.lru);
    auto buffered = std::move(it->second.buffer);
    entries_.erase(it);
    stats_->live = lru_.size();
    for (auto& m : buffered) std::visit([this](auto& msg) { redeliver(std::move(msg)); }, m);
  }

  /// A message buffered while its entity stopped: routed again, since a handoff may have
  /// stopped it.
  void redeliver(command_msg m) {
    if (!clustered_) return deliver(std::move(m));
    route(std::move(m), clock().now() + route_wait());
  }
  void redeliver(query_msg q) { route_query(std::move(q)); }

  std::shared_ptr<node_context> ctx_;
  std::shared_ptr<region_stats> stats_;
  std::shared_ptr<shard_table> shards_;
  const bool clustered_;
  std::vector<held_command> held_;  ///< waiting for their shard to get a (reachable) owner
  bool timer_armed_ = false;
  entry_map entries_;
  std::unordered_map<caf::actor_addr, entity_id> by_addr_;
  std::list<entity_id> lru_;  ///< live (not passivating) entities, most recently used first
  std::uint64_t generation_ = 0;
};

}  // namespace hibiki::actors
