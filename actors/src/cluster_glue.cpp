#include "cluster_glue.hpp"

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <unordered_map>

#include <caf/io/all.hpp>
#include <caf/openssl/manager.hpp>
#include <caf/openssl/publish.hpp>

#include "hibiki/core/log.hpp"
#include "messages.hpp"
#include "openssl_error_queue.hpp"
#include "shard_table.hpp"

namespace hibiki::actors {

namespace {

using connect_peer_atom = caf::atom_constant<caf::atom("h_gconn")>;

/// How often the owner map is looked up without being asked.
constexpr std::chrono::milliseconds describe_every{2000};
/// How long one describe() or one peer's status may take.
constexpr std::chrono::milliseconds describe_limit{3000};
constexpr std::chrono::milliseconds peer_status_limit{2000};
/// How long connecting to a peer's cluster port may take.
constexpr std::chrono::seconds connect_limit{5};
/// How long a node waits for the hello of a peer that should connect to it before it connects
/// itself (a peer of an older version, which connects without saying hello, or one that cannot
/// reach this node). Past it the pair may hold two connections, which the error-queue guard
/// (openssl_error_queue.hpp) makes harmless.
constexpr std::chrono::seconds hello_wait{10};
/// How often an insecure cluster port is mentioned again in the log.
constexpr std::chrono::hours insecure_reminder_every{1};

void log(const std::string& line) {
  log::warn("cluster") << line;
}

/// A member as the group describes it, with its node name and cluster endpoint split out of its
/// client id ("<node>@<host>:<port>").
struct member_view {
  std::string node;
  std::string endpoint;
  std::string host;
  std::uint16_t port = 0;
  std::vector<std::int32_t> partitions;
};

std::optional<member_view> view_of(const persistence::cluster_member& m) {
  auto at = m.name.rfind('@');
  if (at == std::string::npos || at == 0) return std::nullopt;
  member_view v;
  v.node = m.name.substr(0, at);
  v.endpoint = m.name.substr(at + 1);
  auto hp = parse_host_port(v.endpoint);
  if (!hp) return std::nullopt;
  v.host = hp->first;
  v.port = hp->second;
  v.partitions = m.shards;
  return v;
}

/// Of two nodes, only the one whose name sorts first connects to the other; the other learns its
/// port from the hello it sends right after. When both connected to each other, CAF closed the
/// redundant connection of the pair, and over TLS that close took the good one along
/// (openssl_error_queue.hpp): the `lost the connection` storms at start (docs/decisions/0009).
/// Two nodes connecting at the very same moment could still lose both connections. With one
/// dialing side there is never a second connection.
bool dials(const std::string& self, const std::string& peer) {
  return self < peer;
}

/// The actor that connects to peers' cluster ports (those it dials) or takes them from their
/// hello (the others), and watches them: a peer whose connection drops (down message) is marked
/// down in the table until the next describe() reconnects it, or it says hello again.
struct watcher_state {
  std::shared_ptr<node_context> ctx;
  std::string self_name;
  /// The middleman actor that connects: the OpenSSL module's (mutual TLS) or the plain one.
  caf::io::middleman_actor connector;
  std::function<void()> refresh;
  std::shared_ptr<peer_link_stats> links;
  /// Every monitored port handle, with its node.
  std::unordered_map<caf::actor_addr, std::string> watched;
  /// Each peer's port as last connected to or greeted by, while its connection lasts.
  std::map<std::string, caf::actor> live;
  std::set<std::string> connecting;
  /// Peers that should connect here: since when this node has been waiting for their hello, and
  /// when describe() last asked for them (a gap longer than hello_wait starts a new wait: the
  /// peer was out of the group meanwhile).
  struct wait {
    std::chrono::steady_clock::time_point since, last;
  };
  std::map<std::string, wait> awaiting;
};

using watcher_actor = caf::stateful_actor<watcher_state>;

/// `peer` is `node`'s port from now on: watched, and in the shard table.
void adopt(watcher_actor* self, const std::string& node, const caf::actor& peer) {
  auto& st = self->state;
  if (!st.watched.count(peer.address())) {
    self->monitor(peer);
    st.watched[peer.address()] = node;
  }
  st.awaiting.erase(node);
  auto& current = st.live[node];
  if (current != peer) ++st.links->made;
  current = peer;
  st.ctx->deps.shards->set_peer(node, peer);
  notify_shards_changed(*st.ctx);
}

caf::behavior watcher_impl(watcher_actor* self, std::shared_ptr<node_context> ctx,
                           std::string self_name, std::function<void()> refresh,
                           std::shared_ptr<peer_link_stats> links, bool tls) {
  self->state.ctx = std::move(ctx);
  self->state.self_name = std::move(self_name);
  self->state.connector = tls ? self->system().openssl_manager().actor_handle()
                              : self->system().middleman().actor_handle();
  self->state.refresh = std::move(refresh);
  self->state.links = std::move(links);
  self->set_down_handler([self](caf::down_msg& d) {
    auto& st = self->state;
    auto it = st.watched.find(d.source);
    if (it == st.watched.end()) return;
    auto node = it->second;
    st.watched.erase(it);
    auto current = st.live.find(node);
    // An older handle of the node (a previous incarnation) going down changes nothing.
    if (current == st.live.end() || current->second.address() != d.source) return;
    st.live.erase(current);
    st.awaiting.erase(node);
    ++st.links->lost;
    log("lost the connection to node " + node + " (" + caf::to_string(d.reason) +
        "); not using it until Kafka's group says where its shards are");
    st.ctx->deps.shards->peer_down(node);
    notify_shards_changed(*st.ctx);
    st.refresh();
  });
  return {
      [self](connect_peer_atom, const std::string& node, const std::string& host,
             std::uint16_t port) {
        auto& st = self->state;
        if (auto known = st.live.find(node); known != st.live.end()) {
          // Still connected (it had left the group, or its hello came first): use it again.
          adopt(self, node, known->second);
          return;
        }
        if (!dials(st.self_name, node)) {
          // It connects here and says hello; connect anyway once it is long overdue.
          auto now = std::chrono::steady_clock::now();
          auto& w = st.awaiting.emplace(node, watcher_state::wait{now, now}).first->second;
          if (now - w.last > hello_wait) w.since = now;
          w.last = now;
          if (now - w.since < hello_wait) return;
          if (!st.connecting.count(node)) {
            log("no hello from node " + node + " for " + std::to_string(hello_wait.count()) +
                " s; connecting to it");
          }
        }
        if (!st.connecting.insert(node).second) return;
        self->request(st.connector, connect_limit, caf::connect_atom::value, host, port)
            .then(
                [self, node](const caf::node_id&, caf::strong_actor_ptr& ptr,
                             const std::set<std::string>&) {
                  auto& st = self->state;
                  st.connecting.erase(node);
                  auto peer = caf::actor_cast<caf::actor>(ptr);
                  if (!peer) {
                    log("node " + node + " has no cluster port published");
                    return;
                  }
                  adopt(self, node, peer);
                  // As our port, so the peer takes the sender for our port.
                  caf::send_as(st.ctx->port, peer, peer_hello_atom::value, st.self_name);
                },
                [self, node, host, port](caf::error& err) {
                  self->state.connecting.erase(node);
                  log("cannot reach node " + node + " at " + host + ":" + std::to_string(port) +
                      ": " + self->system().render(err));
                });
      },
      [self](peer_hello_atom, const std::string& node, caf::strong_actor_ptr& ptr) {
        auto& st = self->state;
        auto peer = caf::actor_cast<caf::actor>(ptr);
        if (!peer || node == st.self_name) return;
        if (dials(st.self_name, node)) {
          // Out of turn (a node of another version, or a misconfigured name): still a member
          // (its certificate says so), and its port is as good as the one we dial.
          log("node " + node + " connected here although this node connects to it");
        }
        adopt(self, node, peer);
      },
  };
}

}  // namespace

result<std::pair<std::string, std::uint16_t>> parse_host_port(const std::string& text) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size())
    return hibiki::error{errc::bad_request, "expected HOST:PORT, got '" + text + "'"};
  auto host = text.substr(0, colon);
  auto port_text = text.substr(colon + 1);
  if (port_text.size() > 5 || port_text.find_first_not_of("0123456789") != std::string::npos)
    return hibiki::error{errc::bad_request, "bad port in '" + text + "'"};
  auto port = std::stoul(port_text);
  if (port == 0 || port > 65535)
    return hibiki::error{errc::bad_request, "port out of range in '" + text + "'"};
  return std::make_pair(host, static_cast<std::uint16_t>(port));
}

struct cluster_glue::impl {
  caf::actor_system& sys;
  std::shared_ptr<node_context> ctx;
  persistence::shard_control& control;
  persistence::membership& membership;
  cluster_glue_options options;
  std::shared_ptr<shard_table> table;
  caf::actor watcher;
  bool joined = false;

  std::mutex mutex;
  std::condition_variable wake;
  bool poked = false;
  bool stopping = false;
  std::vector<member_view> members;  ///< as last described
  std::thread describer;
  std::atomic<bool> stopped{false};

  impl(caf::actor_system& s, std::shared_ptr<node_context> c, persistence::shard_control& sc,
       persistence::membership& m, cluster_glue_options o)
      : sys(s),
        ctx(std::move(c)),
        control(sc),
        membership(m),
        options(std::move(o)),
        table(ctx->deps.shards) {}

  void poke() {
    {
      std::lock_guard lock(mutex);
      poked = true;
    }
    wake.notify_one();
  }

  // ---- membership (its own thread) -----------------------------------------------------------
  void on_assigned(const std::vector<std::int32_t>& partitions) {
    for (auto p : partitions) table->set_local(p, local_shard::acquiring);
    notify_shards_changed(*ctx);
    for (auto p : partitions) control.acquire(p);
    poke();
  }

  void on_gone(const std::vector<std::int32_t>& partitions, const char* how) {
    // Stop routing here first, so the entities are handed off while the writer stops.
    for (auto p : partitions) table->set_local(p, local_shard::none);
    notify_shards_changed(*ctx);
    for (auto p : partitions) control.release(p);
    std::string list;
    for (auto p : partitions) list += (list.empty() ? "" : ",") + std::to_string(p);
    log::info("cluster") << "shards " << how << ": " << list;
    poke();
  }

  // ---- backend (its thread) ------------------------------------------------------------------
  void on_shard(std::int32_t p, persistence::shard_change change) {
    switch (change) {
      case persistence::shard_change::serving: {
        // Only if still ours: a revocation may have raced the take-over.
        auto states = table->local_states();
        if (p < 0 || static_cast<std::size_t>(p) >= states.size() ||
            states[static_cast<std::size_t>(p)] != local_shard::acquiring) {
          return;
        }
        table->set_local(p, local_shard::serving);
        notify_shards_changed(*ctx);
        break;
      }
      case persistence::shard_change::released:
        break;
      case persistence::shard_change::fenced:
        log("shard " + std::to_string(p) +
            ": FENCED — another node took it over; this node stopped writing it");
        table->set_local(p, local_shard::none);
        notify_shards_changed(*ctx);
        poke();
        break;
    }
  }

  // ---- security -------------------------------------------------------------------------------
  void warn_insecure() {
    log("WARNING: --cluster-insecure: the cluster port " + options.listen +
        " runs over plain TCP with NO authentication. Anyone who can connect to it can act as "
        "any user, read and forge messages. Use it only on a closed test network; give "
        "--cluster-tls-cert, --cluster-tls-key and --cluster-ca otherwise.");
  }

  nlohmann::json transport() const {
    if (options.tls) return options.tls->describe();
    return {{"mode", "insecure"},
            {"warning",
             "plain TCP, no authentication (--cluster-insecure): anyone who can reach "
             "the cluster port can act as any user"}};
  }

  // ---- owner map (the describer thread) ------------------------------------------------------
  void describe_loop() {
    std::map<std::string, std::vector<std::int32_t>> last;
    bool reported = false;
    auto next_reminder = std::chrono::steady_clock::now() + insecure_reminder_every;
    for (;;) {
      {
        std::unique_lock lock(mutex);
        wake.wait_for(lock, describe_every, [this] { return poked || stopping; });
        if (stopping) return;
        poked = false;
      }
      if (!options.tls && std::chrono::steady_clock::now() >= next_reminder) {
        warn_insecure();
        next_reminder += insecure_reminder_every;
      }
      auto described = membership.describe(describe_limit);
      if (!described) {
        if (!reported) log("cannot describe the group: " + described.error().message);
        reported = true;
        continue;
      }
      reported = false;
      std::vector<member_view> views;
      std::map<std::string, std::vector<std::int32_t>> by_node;
      for (const auto& m : *described) {
        auto v = view_of(m);
        if (!v) {
          log("ignoring cluster member named '" + m.name + "'");
          continue;
        }
        auto& owned = by_node[v->node];
        owned.insert(owned.end(), v->partitions.begin(), v->partitions.end());
        views.push_back(std::move(*v));
      }
      bool changed = false;
      if (by_node != last) {
        table->set_assignment(by_node);
        last = by_node;
        changed = true;
      }
      std::set<std::string> in_group;
      for (const auto& v : views) in_group.insert(v.node);
      std::set<std::string> connected;
      for (auto& [node, handle] : table->peers()) {
        if (!in_group.count(node)) {
          // It left the group: its shards are someone else's now.
          table->peer_down(node);
          changed = true;
        } else {
          connected.insert(node);
        }
      }
      for (const auto& v : views)
        if (v.node != options.node && !connected.count(v.node))
          caf::anon_send(watcher, connect_peer_atom::value, v.node, v.host, v.port);
      {
        std::lock_guard lock(mutex);
        members = std::move(views);
      }
      if (changed) notify_shards_changed(*ctx);
    }
  }
};

result<std::unique_ptr<cluster_glue>> cluster_glue::start(caf::actor_system& sys,
                                                          std::shared_ptr<node_context> ctx,
                                                          persistence::shard_control& shards,
                                                          persistence::membership& membership,
                                                          cluster_glue_options options) {
  auto hp = parse_host_port(options.listen);
  if (!hp) return hp.error();
  const auto expected_suffix = "@" + options.listen;
  const auto& member = membership.member_name();
  if (member.size() <= expected_suffix.size() ||
      member.compare(member.size() - expected_suffix.size(), expected_suffix.size(),
                     expected_suffix) != 0) {
    // The other nodes find this one by its member name: it must name this cluster port.
    return hibiki::error{errc::bad_request, "the cluster member name '" + member +
                                                "' does not end with " + expected_suffix};
  }
  auto p = std::make_unique<impl>(sys, std::move(ctx), shards, membership, std::move(options));
  const bool tls = p->options.tls != nullptr;
  if (!p->options.links) p->options.links = std::make_shared<peer_link_stats>();
  auto* raw = p.get();
  // The watcher and the port's hello hook exist before the port is published: a peer may
  // connect and say hello at once.
  p->watcher = sys.spawn(
      watcher_impl, p->ctx, p->options.node, [raw] { raw->poke(); }, p->options.links, tls);
  p->ctx->deps.peer_greeted = [watcher = p->watcher](const std::string& node,
                                                     caf::strong_actor_ptr port) {
    caf::anon_send(watcher, peer_hello_atom::value, node, std::move(port));
  };
  auto published = tls ? caf::openssl::publish(p->ctx->port, hp->second, hp->first.c_str(), true)
                       : sys.middleman().publish(p->ctx->port, hp->second, hp->first.c_str(), true);
  if (!published) {
    caf::anon_send_exit(p->watcher, caf::exit_reason::user_shutdown);
    return hibiki::error{errc::unavailable, "cannot listen for the cluster on " +
                                                p->options.listen + ": " +
                                                sys.render(published.error())};
  }
  if (tls) {
    if (!openssl_error_queue_guarded()) {
      log("WARNING: TLS calls do not go through hibiki's error-queue guard "
          "(openssl_error_queue.hpp):"
          " a refused connection to the cluster port may drop the links between the nodes");
    }
    log("the cluster port " + p->options.listen + " runs over mutual TLS: certificate " +
        p->options.tls->describe().value("certificate", "?") +
        "; peers must present a certificate signed by the cluster CA");
  } else {
    p->warn_insecure();
  }
  p->ctx->deps.refresh_owners = [raw] { raw->poke(); };
  shards.set_listener(
      [raw](std::int32_t partition, persistence::shard_change c) { raw->on_shard(partition, c); });

  persistence::membership_handlers handlers;
  handlers.on_assigned = [raw](std::vector<std::int32_t> ps) { raw->on_assigned(ps); };
  handlers.on_revoked = [raw](std::vector<std::int32_t> ps) { raw->on_gone(ps, "handed back"); };
  handlers.on_lost = [raw](std::vector<std::int32_t> ps) { raw->on_gone(ps, "LOST"); };
  if (auto joined = membership.join(std::move(handlers)); !joined) {
    caf::anon_send_exit(p->watcher, caf::exit_reason::user_shutdown);
    return joined.error();
  }
  p->joined = true;
  p->describer = std::thread([raw] { raw->describe_loop(); });
  return std::unique_ptr<cluster_glue>(new cluster_glue(std::move(p)));
}

cluster_glue::cluster_glue(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

cluster_glue::~cluster_glue() {
  stop();
}

void cluster_glue::refresh() {
  impl_->poke();
}

void cluster_glue::stop() {
  auto& p = *impl_;
  if (p.stopped.exchange(true)) return;
  // Leaving the group hands our shards to the others at once (on_revoked releases them here).
  if (p.joined) p.membership.leave();
  {
    std::lock_guard lock(p.mutex);
    p.stopping = true;
  }
  p.wake.notify_all();
  if (p.describer.joinable()) p.describer.join();
  p.ctx->deps.refresh_owners = nullptr;
  caf::anon_send_exit(p.watcher, caf::exit_reason::user_shutdown);
}

nlohmann::json cluster_glue::status(nlohmann::json self_journal) {
  auto& p = *impl_;
  std::vector<member_view> members;
  std::string describe_error;
  if (!p.stopped) {
    if (auto d = p.membership.describe(describe_limit)) {
      for (const auto& m : *d)
        if (auto v = view_of(m)) members.push_back(std::move(*v));
    } else {
      describe_error = d.error().message;
      std::lock_guard lock(p.mutex);
      members = p.members;
    }
  }
  bool self_listed = false;
  for (const auto& m : members) self_listed = self_listed || m.node == p.options.node;
  if (!self_listed) {
    member_view self;
    self.node = p.options.node;
    self.endpoint = p.options.listen;
    members.insert(members.begin(), std::move(self));
  }
  auto peers = p.table->peers();
  std::map<std::string, caf::actor> reachable(peers.begin(), peers.end());
  const auto count = p.table->partition_count();
  std::vector<bool> assigned(static_cast<std::size_t>(count), false);
  nlohmann::json nodes = nlohmann::json::array();
  {
    caf::scoped_actor asker{p.sys};
    for (const auto& m : members) {
      nlohmann::json n;
      n["node"] = m.node;
      n["endpoint"] = m.endpoint;
      n["self"] = m.node == p.options.node;
      n["shards"] = m.partitions;
      for (auto s : m.partitions)
        if (s >= 0 && s < count) assigned[static_cast<std::size_t>(s)] = true;
      if (m.node == p.options.node) {
        n["reachable"] = true;
        n["journal"] = self_journal;
      } else if (auto it = reachable.find(m.node); it == reachable.end()) {
        n["reachable"] = false;
        n["journal"] = nullptr;
        n["error"] = "not connected to its cluster port";
      } else {
        n["reachable"] = true;
        n["journal"] = nullptr;
        asker->request(it->second, peer_status_limit, cstatus_atom::value)
            .receive(
                [&](const std::string& text) {
                  auto parsed = nlohmann::json::parse(text, nullptr, false);
                  if (parsed.is_discarded())
                    n["error"] = "its status is not JSON";
                  else
                    n["journal"] = std::move(parsed);
                },
                [&](caf::error& err) { n["error"] = p.sys.render(err); });
      }
      nodes.push_back(std::move(n));
    }
  }
  // The scoped actor pinned the actor system to this (gateway) thread: unpin it (see node.cpp).
  caf::logger::set_current_actor_system(nullptr);
  nlohmann::json unassigned = nlohmann::json::array();
  for (std::int32_t s = 0; s < count; ++s)
    if (!assigned[static_cast<std::size_t>(s)]) unassigned.push_back(s);
  nlohmann::json out;
  out["clustered"] = true;
  out["node"] = p.options.node;
  out["endpoint"] = p.options.listen;
  out["group"] = p.membership.group();
  out["topic"] = self_journal.value("topic", std::string());
  out["partition_count"] = count;
  out["transport"] = p.transport();
  out["peer_links"] = {{"made", p.options.links->made.load()},
                       {"lost", p.options.links->lost.load()}};
  out["nodes"] = std::move(nodes);
  out["unassigned"] = std::move(unassigned);
  if (!describe_error.empty()) out["error"] = "cannot describe the group: " + describe_error;
  return out;
}

}  // namespace hibiki::actors
