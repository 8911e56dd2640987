#pragma once
/// The shard region of one entity kind: entity id → live entity actor. It activates an entity on
/// its first command, passivates it after `passivate_after` without commands, and passivates the
/// least recently used entity when more than `max_live_entities` are live. Commands for an entity
/// that is passivating are buffered and start a new incarnation once the old one has stopped, so
/// none is lost. Owned by the node; touched only by itself.

#include <cstdint>
#include <list>
#include <memory>
#include <unordered_map>
#include <variant>
#include <vector>

#include <atomic>

#include <caf/all.hpp>

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

template <class Traits>
class region_actor : public caf::event_based_actor {
 public:
  using command_msg = entity_command<typename Traits::command>;
  using query_msg = state_query<typename Traits::state>;

  region_actor(caf::actor_config& cfg, std::shared_ptr<node_context> ctx,
               std::shared_ptr<region_stats> stats)
      : caf::event_based_actor(cfg), ctx_(std::move(ctx)), stats_(std::move(stats)) {}

  caf::behavior make_behavior() override {
    set_down_handler([this](caf::down_msg& d) { on_down(d); });
    set_exit_handler([this](caf::exit_msg& x) {
      for (auto& [id, e] : entries_) send_exit(e.actor, x.reason);
      quit(x.reason);
    });
    return {
        [this](command_msg& m) { route(std::move(m)); },
        [this](query_msg& q) { route(std::move(q)); },
        [this](idle_atom, const entity_id& id, std::uint64_t generation) {
          on_idle(id, generation);
        },
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

  template <class Msg>
  void route(Msg m) {
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
    for (auto& m : buffered) std::visit([this](auto& msg) { route(std::move(msg)); }, m);
  }

  std::shared_ptr<node_context> ctx_;
  std::shared_ptr<region_stats> stats_;
  entry_map entries_;
  std::unordered_map<caf::actor_addr, entity_id> by_addr_;
  std::list<entity_id> lru_;  ///< live (not passivating) entities, most recently used first
  std::uint64_t generation_ = 0;
};

}  // namespace hibiki::actors
