#include "hub.hpp"

#include <algorithm>
#include <deque>
#include <map>
#include <optional>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "cluster_wire.hpp"
#include "hibiki/core/log.hpp"
#include "messages.hpp"

namespace hibiki::actors {

namespace {

struct connection {
  std::uint64_t session = 0;
  std::shared_ptr<client_link> link;
  caf::actor actor;  ///< the session actor (null for connections registered without one)
};

/// What the hub knows of one peer node: where to reach its port, and which accounts have
/// connections there. A peer may announce itself before the table lists it (endpoint null).
struct peer_presence {
  caf::actor endpoint;
  std::unordered_set<account_id> accounts;
};

struct hub_state {
  std::unordered_map<account_id, std::vector<connection>> by_account;
  std::shared_ptr<shard_table> shards;  ///< null: not clustered
  std::shared_ptr<hub_stats> stats;
  std::string self;
  std::map<std::string, peer_presence> peers;

  void deliver_local(caf::event_based_actor* hub, const push_msg& p) const {
    const bool exclude_here = p.exclude_node.empty() || p.exclude_node == self;
    for (auto account : p.recipients) {
      auto it = by_account.find(account);
      if (it == by_account.end()) continue;
      for (const auto& c : it->second) {
        if (p.close_code != 0) {
          c.link->close(p.close_code, p.close_reason);
          continue;
        }
        // The renamed account's sessions name their next messages with the new name.
        if (p.renamed && account == p.renamed && c.actor)
          hub->send(c.actor, renamed_atom::value, p.new_name);
        if (!exclude_here || c.session != p.exclude) c.link->send(p.frame);
      }
    }
  }

  presence_full local_accounts() const {
    presence_full out{self, {}};
    out.accounts.reserve(by_account.size());
    for (const auto& [account, conns] : by_account) out.accounts.push_back(account.value);
    return out;
  }
};

caf::behavior hub_impl(caf::stateful_actor<hub_state>* self, std::shared_ptr<shard_table> shards,
                       std::shared_ptr<hub_stats> stats) {
  if (shards && shards->is_clustered()) {
    self->state.self = shards->self();
    self->state.shards = std::move(shards);
  }
  self->state.stats = stats ? std::move(stats) : std::make_shared<hub_stats>();
  auto announce = [self](auto atom, account_id account) {
    auto& st = self->state;
    for (const auto& [node, peer] : st.peers)
      if (peer.endpoint) self->send(peer.endpoint, atom, st.self, account.value);
  };
  return {
      [self, announce](hub_register& r) {
        auto& conns = self->state.by_account[r.account];
        const bool first = conns.empty();
        conns.push_back(connection{r.session, std::move(r.link), std::move(r.actor)});
        if (first && self->state.shards) announce(pres_add_atom::value, r.account);
      },
      [self, announce](const hub_unregister& u) {
        auto it = self->state.by_account.find(u.account);
        if (it == self->state.by_account.end()) return;
        auto& v = it->second;
        v.erase(std::remove_if(v.begin(), v.end(),
                               [&](const connection& c) { return c.session == u.session; }),
                v.end());
        if (v.empty()) {
          self->state.by_account.erase(it);
          if (self->state.shards) announce(pres_del_atom::value, u.account);
        }
      },
      [self](const push_msg& p) {
        auto& st = self->state;
        st.deliver_local(self, p);
        if (!st.shards) return;
        // Once per peer node with a connection of a recipient, naming only those recipients.
        const auto& exclude_node = p.exclude_node.empty() ? st.self : p.exclude_node;
        for (const auto& [node, peer] : st.peers) {
          if (!peer.endpoint) continue;
          std::vector<std::uint64_t> there;
          for (auto account : p.recipients)
            if (peer.accounts.count(account) != 0) there.push_back(account.value);
          if (there.empty()) continue;
          if (p.close_code != 0) {
            self->send(peer.endpoint, remote_close{std::move(there), p.close_code, p.close_reason});
            continue;
          }
          if (p.renamed)
            self->send(peer.endpoint,
                       remote_rename{*p.frame, std::move(there), p.renamed.value, p.new_name});
          else
            self->send(peer.endpoint,
                       remote_push{*p.frame, std::move(there), exclude_node, p.exclude});
          ++st.stats->remote_pushes;
        }
      },
      // A push another node's hub sent here (through the cluster port): this node only.
      [self](rpush_atom, const push_msg& p) { self->state.deliver_local(self, p); },
      [self](pres_add_atom, const std::string& node, std::uint64_t account) {
        if (node == self->state.self) return;
        self->state.peers[node].accounts.insert(account_id{account});
      },
      [self](pres_del_atom, const std::string& node, std::uint64_t account) {
        auto it = self->state.peers.find(node);
        if (it != self->state.peers.end()) it->second.accounts.erase(account_id{account});
      },
      [self](presence_full& f) {
        if (f.node == self->state.self) return;
        auto& peer = self->state.peers[f.node];
        peer.accounts.clear();
        for (auto a : f.accounts) peer.accounts.insert(account_id{a});
      },
      [self](shards_atom) {
        auto& st = self->state;
        if (!st.shards) return;
        auto current = st.shards->peers();
        std::unordered_set<std::string> names;
        for (auto& [node, endpoint] : current) {
          names.insert(node);
          auto& peer = st.peers[node];
          if (peer.endpoint == endpoint) continue;
          // A peer met for the first time (or a new incarnation of it): it learns every account
          // connected here.
          peer.endpoint = endpoint;
          self->send(endpoint, st.local_accounts());
        }
        for (auto it = st.peers.begin(); it != st.peers.end();) {
          if (it->second.endpoint && names.count(it->first) == 0)
            it = st.peers.erase(it);
          else
            ++it;
        }
      },
  };
}

struct gate_state {
  std::size_t max_running = 1;
  std::shared_ptr<gate_stats> stats;
  std::size_t running = 0;
  std::deque<caf::actor> waiting;

  void publish() {
    stats->running = running;
    stats->waiting = waiting.size();
    if (running > stats->peak) stats->peak = running;
  }
};

caf::behavior gate_impl(caf::stateful_actor<gate_state>* self, std::size_t max_running,
                        std::shared_ptr<gate_stats> stats) {
  self->state.max_running = std::max<std::size_t>(max_running, 1);
  self->state.stats = std::move(stats);
  return {
      [self](acquire_atom, const caf::actor& who) {
        auto& st = self->state;
        ++st.stats->total;
        if (st.running < st.max_running) {
          ++st.running;
          self->send(who, granted_atom::value);
        } else {
          st.waiting.push_back(who);
        }
        st.publish();
      },
      [self](release_atom) {
        auto& st = self->state;
        if (!st.waiting.empty()) {
          // The permit passes straight to the next in line.
          self->send(st.waiting.front(), granted_atom::value);
          st.waiting.pop_front();
        } else if (st.running > 0) {
          --st.running;
        }
        st.publish();
      },
  };
}

}  // namespace

caf::actor spawn_hub(caf::actor_system& sys, std::shared_ptr<shard_table> shards,
                     std::shared_ptr<hub_stats> stats) {
  return sys.spawn(hub_impl, std::move(shards), std::move(stats));
}

caf::actor spawn_recovery_gate(caf::actor_system& sys, std::size_t max_running,
                               std::shared_ptr<gate_stats> stats) {
  return sys.spawn(gate_impl, max_running, std::move(stats));
}

}  // namespace hibiki::actors
