#include "hub.hpp"

#include <algorithm>
#include <deque>
#include <unordered_map>
#include <utility>
#include <vector>

#include "messages.hpp"

namespace hibiki::actors {

namespace {

struct connection {
  std::uint64_t session = 0;
  std::shared_ptr<client_link> link;
};

struct hub_state {
  std::unordered_map<account_id, std::vector<connection>> by_account;
};

caf::behavior hub_impl(caf::stateful_actor<hub_state>* self) {
  return {
      [self](hub_register& r) {
        self->state.by_account[r.account].push_back(connection{r.session, std::move(r.link)});
      },
      [self](const hub_unregister& u) {
        auto it = self->state.by_account.find(u.account);
        if (it == self->state.by_account.end()) return;
        auto& v = it->second;
        v.erase(std::remove_if(v.begin(), v.end(),
                               [&](const connection& c) { return c.session == u.session; }),
                v.end());
        if (v.empty()) self->state.by_account.erase(it);
      },
      [self](const push_msg& p) {
        for (auto account : p.recipients) {
          auto it = self->state.by_account.find(account);
          if (it == self->state.by_account.end()) continue;
          for (const auto& c : it->second)
            if (c.session != p.exclude) c.link->send(p.frame);
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

caf::actor spawn_hub(caf::actor_system& sys) {
  return sys.spawn(hub_impl);
}

caf::actor spawn_recovery_gate(caf::actor_system& sys, std::size_t max_running,
                               std::shared_ptr<gate_stats> stats) {
  return sys.spawn(gate_impl, max_running, std::move(stats));
}

}  // namespace hibiki::actors
