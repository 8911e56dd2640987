#include "hibiki/actors/node.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <thread>
#include <unordered_map>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <caf/openssl/manager.hpp>

#include "breaker_object_store.hpp"
#include "cluster_glue.hpp"
#include "cluster_tls.hpp"
#include "cluster_wire.hpp"
#include "hibiki/core/log.hpp"
#include "hibiki/metrics/registry.hpp"
#include "hibiki/persistence/backend.hpp"
#include "hibiki/persistence/breaker_journal.hpp"
#include "hibiki/persistence/projections.hpp"
#include "hibiki/persistence/search_index.hpp"
#include "io_executor.hpp"
#include "journal_status_json.hpp"
#include "messages.hpp"
#include "pending_replies.hpp"
#include "projection_status_json.hpp"
#include "runtime.hpp"
#include "scheduler_config.hpp"
#include "session_actor.hpp"
#include "status_probe.hpp"
#include "token.hpp"

namespace hibiki::actors {

namespace {

/// The live session actors by connection id. The gateway's `session` objects go through it, so
/// they hold no CAF handle and may outlive the actor system harmlessly.
class session_router {
 public:
  void add(std::uint64_t id, caf::actor a) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!closed_)
      sessions_.emplace(id, std::move(a));
    else
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  }
  void text(std::uint64_t id, std::string frame) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = sessions_.find(id);
    if (it != sessions_.end()) caf::anon_send(it->second, client_text{std::move(frame)});
  }
  void closed(std::uint64_t id) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = sessions_.find(id);
    if (it == sessions_.end()) return;
    caf::anon_send(it->second, closed_atom::value);
    sessions_.erase(it);
  }
  /// Stops every session; later sessions are stopped at once.
  void shutdown() {
    std::lock_guard<std::mutex> lock(mutex_);
    closed_ = true;
    for (auto& [id, a] : sessions_) caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    sessions_.clear();
  }

 private:
  std::mutex mutex_;
  bool closed_ = false;
  std::unordered_map<std::uint64_t, caf::actor> sessions_;
};

class session_impl final : public session {
 public:
  session_impl(std::shared_ptr<session_router> router, std::uint64_t id)
      : router_(std::move(router)), id_(id) {}
  ~session_impl() override { session_impl::on_closed(); }

  void on_text(std::string frame) override { router_->text(id_, std::move(frame)); }
  void on_closed() override {
    if (closed_.exchange(true)) return;
    router_->closed(id_);
  }

 private:
  std::shared_ptr<session_router> router_;
  std::uint64_t id_;
  std::atomic<bool> closed_{false};
};

/// `actor_system::spawn` pins the system's logger in a thread_local of the calling thread, and
/// ~actor_system waits until every such reference is gone. The threads that call into the node
/// (main, the gateway's io threads) may outlive it, so they drop the reference right away.
void forget_actor_system() {
  caf::logger::set_current_actor_system(nullptr);
}

/// The node's name: --node-id, else the host name.
std::string node_name(const node_options& options) {
  if (!options.node_id.empty()) return options.node_id;
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') return "node";
  return host;
}

/// How long GET /api/journal waits for the backend (which budgets ~1 s for the broker).
constexpr std::chrono::milliseconds status_limit{2000};

/// The registry owns its projections; the webhook service (which the sessions also use) owns
/// the outbox projection, so the registry gets this forwarder, which keeps the service alive.
class webhook_projection final : public persistence::projection {
 public:
  explicit webhook_projection(std::shared_ptr<persistence::webhook_service> service)
      : service_(std::move(service)) {}
  std::string name() const override { return service_->outbox_projection().name(); }
  result<persistence::feed_positions> committed() override {
    return service_->outbox_projection().committed();
  }
  hibiki::status apply(const std::vector<persistence::feed_record>& batch,
                       const persistence::feed_positions& next) override {
    return service_->outbox_projection().apply(batch, next);
  }
  hibiki::status replay(const std::vector<persistence::feed_record>& batch,
                        const persistence::feed_positions& next) override {
    return service_->outbox_projection().replay(batch, next);
  }
  hibiki::status reset() override { return service_->outbox_projection().reset(); }

 private:
  std::shared_ptr<persistence::webhook_service> service_;
};

class node_impl final : public node {
 public:
  node_impl(const node_options& options, std::unique_ptr<persistence::backend> backend,
            std::string writer_id, std::shared_ptr<const cluster_tls> tls,
            std::shared_ptr<persistence::webhook_service> webhooks)
      : options_(options),
        webhooks_(std::move(webhooks)),
        tls_(std::move(tls)),
        backend_(std::move(backend)),
        breaker_(
            std::make_unique<persistence::breaker_journal>(backend_->journal(), options_.breaker)),
        probe_(std::make_unique<status_probe>(*backend_)),
        identity_(backend_->identity()) {
    apply_scheduler_options(cfg_, options_.actor_threads, options_.scheduler);
    auto* shards = backend_->shards();
    // Clustered: the other nodes reach this one's shard regions through CAF's middleman.
    if (shards) {
      cfg_.load<caf::io::middleman>();
      add_cluster_message_types(cfg_);
    }
    if (shards && tls_) {
      // Mutual TLS: with any openssl.* setting CAF requires and verifies the peer's certificate
      // on both ends (SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT) against openssl.cafile.
      cfg_.load<caf::openssl::manager>();
      cfg_.openssl_certificate = tls_->cert_path();
      cfg_.openssl_key = tls_->key_path();
      cfg_.openssl_cafile = tls_->ca_path();
    }
    sys_ = std::make_unique<caf::actor_system>(cfg_);
    io_ = std::make_unique<thread_pool_executor>(options_.io_threads);
    runtime_deps deps;
    // Every write goes through the breaker, so a broker or disk that stops answering makes writes
    // fail fast with `unavailable` instead of piling up; reads pass straight through it.
    deps.journal = breaker_.get();
    deps.writer_id = std::move(writer_id);
    deps.snapshots = &backend_->snapshots();
    deps.reads = &backend_->reads();
    deps.io = io_.get();
    deps.webhooks = webhooks_;
    if (shards) {
      deps.shard_control = shards;
      deps.shards = shard_table::clustered(shards->partition_count(), node_name_);
      deps.status_json = [this] { return journal_status().dump(); };
    }
    const auto shard_table_ptr = deps.shards;
    rt_ = start_runtime(*sys_, std::move(deps), options_);
    forget_actor_system();
    if (webhooks_) webhooks_->start();
    if (options_.metrics) {
      metrics_collector_ =
          options_.metrics->add_collector([this](metrics::registry& r) { collect(r); });
    }
    persistence::projection_runner_options po;
    po.metrics = options_.metrics;
    std::function<std::vector<std::int32_t>()> owned;
    if (shards) {
      // Clustered: the partitions this node serves now (the shard table follows the membership).
      owned = [table = shard_table_ptr] {
        std::vector<std::int32_t> out;
        for (std::int32_t p = 0; p < table->partition_count(); ++p)
          if (table->serving(p)) out.push_back(p);
        return out;
      };
    }
    projections_ = std::make_unique<persistence::projections>(*backend_, po, std::move(owned));
    if (webhooks_) {
      // Each event's deliveries are made by the node that owns its partition, once.
      if (auto st = projections_->add(std::make_unique<webhook_projection>(webhooks_),
                                      persistence::follow::owned_partitions);
          !st) {
        log::error("webhooks") << "webhook deliveries are off: " << st.error().message;
      }
    }
    add_search();
  }

  ~node_impl() override { node_impl::stop(); }

  /// The search index follows every partition (each node keeps a full replica and answers
  /// queries locally). When it cannot follow the feed, `search` answers unavailable instead of
  /// serving an index that would never change; before any session exists, so none sees it go.
  void add_search() {
    if (!options_.search) return;
    auto st = projections_->add(persistence::shared_search_projection(options_.search),
                                persistence::follow::all_partitions);
    if (st) return;
    log::warn("node") << "search is off: the index cannot follow the journal: "
                      << st.error().message;
    rt_.ctx->options.search.reset();
  }

  /// Clustered: publishes the cluster port and joins the group. Errors: as cluster_glue::start.
  hibiki::status start_cluster() {
    auto* shards = backend_->shards();
    auto* membership = backend_->membership();
    if (!shards || !membership) return {};
    cluster_glue_options go;
    go.node = node_name_;
    go.listen = options_.cluster_listen;
    go.tls = tls_;
    go.links = links_;
    std::lock_guard<std::mutex> lock(sys_mutex_);
    auto glue = cluster_glue::start(*sys_, rt_.ctx, *shards, *membership, std::move(go));
    forget_actor_system();
    if (!glue) return glue.error();
    glue_ = std::move(*glue);
    return {};
  }

  std::unique_ptr<session> open_session(std::shared_ptr<client_link> link) override {
    auto id = rt_.ctx->next_session++;
    {
      // After stop the session has no actor: its frames are dropped, as the node is gone.
      std::lock_guard<std::mutex> lock(sys_mutex_);
      if (sys_) {
        router_->add(id, spawn_session(*sys_, rt_.ctx, std::move(link), id));
        forget_actor_system();
      }
    }
    return std::make_unique<session_impl>(router_, id);
  }

  void signup(std::string name, std::function<void(result<signup_result>)> done) override {
    start_pending(signups_, std::move(done), [&](auto answer) {
      actors::signup(rt_.ctx, std::move(name), std::move(answer));
    });
  }

  void admin(admin_request request, std::function<void(result<admin_result>)> done) override {
    start_pending(admins_, std::move(done), [&](auto answer) {
      actors::admin(rt_.ctx, std::move(request), std::move(answer));
    });
  }

  bool healthy() const override { return !rt_.ctx->stopping.load(); }

  persistence::projections* projections() override { return projections_.get(); }

  nlohmann::json projections_status() override {
    return projections_status_json(projections_->status());
  }

  hibiki::status rebuild_projection(const std::string& name) override {
    return projections_->rebuild(name);
  }

  std::shared_ptr<persistence::object_store> objects() override { return rt_.ctx->objects; }

  nlohmann::json journal_status() override {
    std::lock_guard<std::mutex> lock(status_mutex_);
    persistence::journal_status st;
    std::string problem;
    if (closed_) {
      // Stopped: the backend is closed, its status would be stale or ask a closed client.
      problem = "the node is stopped";
    } else if (auto answer = probe_->get(status_limit)) {
      st = std::move(*answer);
    } else {
      problem = "the journal did not report its status within " +
                std::to_string(status_limit.count()) + " ms (is the broker reachable?)";
    }
    if (!problem.empty()) st = identity_;
    // The breaker answers even when the backend does not: it is what an operator needs then.
    st.breaker_state = std::string(to_string(breaker_->state()));
    st.breaker_failures = breaker_->consecutive_failures();
    auto j = journal_status_json(st, options_.breaker);
    if (!problem.empty()) {
      // Unknown, not zero: null counters and no partitions, with the reason.
      for (const char* key : {"partition_count", "appends", "rejected", "failed",
                              "partitions_catching_up", "offsets_to_index"})
        j[key] = nullptr;
      j["error"] = problem;
    }
    return j;
  }

  nlohmann::json cluster_status() override {
    if (glue_ && !rt_.ctx->stopping) return glue_->status(journal_status());
    // Not clustered: this node is the whole cluster and owns every shard.
    nlohmann::json self;
    self["node"] = node_name_;
    self["endpoint"] = nullptr;
    self["self"] = true;
    self["reachable"] = true;
    self["journal"] = journal_status();
    nlohmann::json out;
    out["clustered"] = false;
    out["node"] = node_name_;
    out["nodes"] = nlohmann::json::array({self});
    return out;
  }

  void stop() override {
    std::lock_guard<std::mutex> lock(stop_mutex_);
    if (stopped_) return;
    stopped_ = true;
    // Waits for a scrape in progress; none reads the runtime or the backend after this.
    metrics_collector_.reset();
    // The projections only read the feed: stopped first, their readers gone before the backend.
    projections_->stop();
    rt_.ctx->stopping = true;
    // Let appends already submitted be acknowledged and their replies go out. Bounded, so a
    // wedged disk cannot hang shutdown forever.
    for (int i = 0; i < 30000 && rt_.ctx->inflight.load() > 0; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    // Leave the cluster: our shards go to the other nodes at once, not after a session timeout.
    if (glue_) glue_->stop();
    // A delivery in flight ends (or times out); what is pending stays in the outbox.
    if (webhooks_) webhooks_->stop();
    {
      std::lock_guard<std::mutex> sys_lock(sys_mutex_);
      router_->shutdown();
      stop_runtime(rt_);
      sys_->await_all_actors_done();
      io_->stop();
      // Actors are gone; then the breaker (answers calls still waiting, stops its timer), then
      // the backend it wraps.
      std::lock_guard<std::mutex> status_lock(status_mutex_);
      breaker_->close();
      const bool probe_idle = probe_->wait_idle(status_limit + std::chrono::seconds(1));
      backend_->close();
      closed_ = true;
      if (!probe_idle) {
        // A status call is stuck inside the broker client (see status_probe.hpp) and would use
        // the backend after it is freed, or hang the join: leave both to the process's end.
        log::error("node") << "a journal status call is stuck in the journal backend; the "
                              "journal backend is closed but not freed";
        (void)probe_.release();
        (void)backend_.release();
      }
      release_runtime(rt_);
      glue_.reset();
      sys_.reset();
    }
    // Sign-ups and operator actions the actors did not finish still get their one answer.
    signups_.close("the node stopped");
    admins_.close("the node stopped");
  }

 private:
  /// The node's scrape-time metrics: what its regions, recovery gate and journal hold now.
  void collect(metrics::registry& r) {
    using metrics::entity_kind;
    r.set_live_entities(entity_kind::room, rt_.room_stats->live);
    r.set_live_entities(entity_kind::user, rt_.user_stats->live);
    r.set_live_entities(entity_kind::id_allocator, rt_.id_stats->live);
    r.set_passivations_total(entity_kind::room, rt_.room_stats->passivations);
    r.set_passivations_total(entity_kind::user, rt_.user_stats->passivations);
    r.set_passivations_total(entity_kind::id_allocator, rt_.id_stats->passivations);
    r.set_recoveries(rt_.gate->total, rt_.gate->running);
    r.set_breaker_state(to_string(breaker_->state()));
    if (auto store = std::dynamic_pointer_cast<breaker_object_store>(rt_.ctx->objects))
      r.set_object_store_breaker_state(to_string(store->state()));
    if (backend_->shards()) r.set_cluster_peer_links(links_->made, links_->lost);
    // A fresh look at the partitions (Kafka; bounded like GET /api/journal). RocksDB has none.
    std::lock_guard<std::mutex> lock(status_mutex_);
    if (closed_) return;
    if (auto st = probe_->get(status_limit)) {
      for (const auto& p : st->partitions) r.set_partition_lag(p.partition, p.lag);
    }
  }

  /// Keeps `done` in `pending` and has `run` start the work with a callback that answers it
  /// once the actors are done. `done` is the gateway's: it runs on an io thread, never on an
  /// actor's. After stop() it is answered `unavailable` at once.
  template <class Result, class Run>
  void start_pending(pending_replies<Result>& pending, std::function<void(result<Result>)> done,
                     Run&& run) {
    const auto ticket = pending.add(done);
    if (ticket == 0) {
      std::thread([done = std::move(done)] {
        done(hibiki::error{errc::unavailable, "the node is stopped"});
      }).detach();
      return;
    }
    std::lock_guard<std::mutex> lock(sys_mutex_);
    if (!sys_) return;  // stop() answers it
    run([this, &pending, ticket](result<Result> r) {
      io_->post(
          [&pending, ticket, r = std::move(r)]() mutable { pending.finish(ticket, std::move(r)); });
    });
  }

 private:
  node_options options_;
  std::string node_name_ = node_name(options_);
  /// The webhook outbox and delivery worker; null when webhooks are off.
  std::shared_ptr<persistence::webhook_service> webhooks_;
  /// The cluster port's TLS material; null when not clustered or --cluster-insecure.
  std::shared_ptr<const cluster_tls> tls_;
  std::unique_ptr<persistence::backend> backend_;
  /// Wraps backend_->journal(); declared after backend_ so it is destroyed first.
  std::unique_ptr<persistence::breaker_journal> breaker_;
  /// Asks backend_ for its status with a deadline; declared after it so it is destroyed first.
  std::unique_ptr<status_probe> probe_;
  /// The read-side projections over backend_'s feed; stopped first in stop().
  std::unique_ptr<persistence::projections> projections_;
  /// What the backend is (kind, topic...), for the status when the backend cannot answer.
  persistence::journal_status identity_;
  std::unique_ptr<cluster_glue> glue_;
  /// The cluster glue's link counts, read by collect() (which may run before or after the glue).
  std::shared_ptr<peer_link_stats> links_ = std::make_shared<peer_link_stats>();
  /// Registered with options_.metrics while the node runs; reset first in stop().
  metrics::collector_handle metrics_collector_;
  /// Held while reading the status and while closing storage: no status call on a closed backend.
  std::mutex status_mutex_;
  bool closed_ = false;
  caf::actor_system_config cfg_;
  std::unique_ptr<caf::actor_system> sys_;
  std::unique_ptr<thread_pool_executor> io_;
  runtime rt_;
  std::shared_ptr<session_router> router_ = std::make_shared<session_router>();
  std::mutex stop_mutex_;
  bool stopped_ = false;
  /// Held while spawning into the actor system and while tearing it down.
  std::mutex sys_mutex_;
  /// Sign-ups waiting for their account to be durable.
  pending_replies<signup_result> signups_;
  /// Operator actions waiting for their event to be durable.
  pending_replies<admin_result> admins_;
};

}  // namespace

namespace {

/// The cluster port's TLS material when clustered with TLS; null when not clustered or insecure.
result<std::shared_ptr<const cluster_tls>> cluster_security(const node_options& o) {
  if (auto st = check_cluster_security_options(o); !st) return st.error();
  if (o.cluster_listen.empty() || o.cluster_insecure) return std::shared_ptr<const cluster_tls>();
  auto tls = cluster_tls::load({o.cluster_tls_cert, o.cluster_tls_key, o.cluster_ca});
  if (!tls) return tls.error();
  return std::move(*tls);
}

}  // namespace

result<std::vector<std::string>> check_cluster_security(const node_options& options) {
  auto tls = cluster_security(options);
  if (!tls) return tls.error();
  return *tls ? (*tls)->warnings() : std::vector<std::string>{};
}

result<std::unique_ptr<node>> node::start(std::unique_ptr<persistence::backend> backend,
                                          const node_options& options) {
  if (!backend) return hibiki::error{errc::bad_request, "node::start needs an opened backend"};
  const bool clustered_backend = backend->shards() != nullptr && backend->membership() != nullptr;
  auto refuse = [&](hibiki::error e) -> result<std::unique_ptr<node>> {
    backend->close();
    return e;
  };
  if (!options.cluster_listen.empty()) {
    if (!clustered_backend) {
      return refuse(
          {errc::bad_request,
           "a cluster needs a clustered journal (hibikid --journal=kafka --cluster=...)"});
    }
    if (auto hp = parse_host_port(options.cluster_listen); !hp)
      return refuse({errc::bad_request, "--cluster: " + hp.error().message});
  } else if (clustered_backend) {
    return refuse({errc::bad_request,
                   "the journal is clustered but the node has no cluster endpoint "
                   "(node_options::cluster_listen)"});
  }
  // The certificates were checked before the journal opened (hibikid does that first); here
  // they are loaded for good.
  auto tls = cluster_security(options);
  if (!tls) return refuse(tls.error());
  std::shared_ptr<persistence::webhook_service> webhooks;
  if (!options.webhooks.path.empty()) {
    auto opened = persistence::webhook_service::open(options.webhooks);
    if (!opened) return refuse(opened.error());
    webhooks = std::move(*opened);
  }
  std::string writer_id = backend->writer_id();
  auto n = std::make_unique<node_impl>(options, std::move(backend), std::move(writer_id),
                                       std::move(*tls), std::move(webhooks));
  if (auto s = n->start_cluster(); !s) {
    n->stop();
    return s.error();
  }
  return std::unique_ptr<node>(std::move(n));
}

}  // namespace hibiki::actors
