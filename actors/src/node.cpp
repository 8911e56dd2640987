#include "hibiki/actors/node.hpp"

#include <mutex>
#include <thread>
#include <unordered_map>

#include <caf/all.hpp>

#include "hibiki/persistence/rocksdb_backend.hpp"
#include "io_executor.hpp"
#include "messages.hpp"
#include "runtime.hpp"
#include "session_actor.hpp"

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

class node_impl final : public node {
 public:
  node_impl(const node_options& options, std::unique_ptr<persistence::rocksdb_backend> backend)
      : options_(options), backend_(std::move(backend)) {
    if (options_.actor_threads > 0) cfg_.set("scheduler.max-threads", options_.actor_threads);
    sys_ = std::make_unique<caf::actor_system>(cfg_);
    io_ = std::make_unique<thread_pool_executor>(options_.io_threads);
    runtime_deps deps;
    deps.journal = &backend_->journal();
    deps.snapshots = &backend_->snapshots();
    deps.reads = &backend_->reads();
    deps.io = io_.get();
    rt_ = start_runtime(*sys_, std::move(deps), options_);
    forget_actor_system();
  }

  ~node_impl() override { node_impl::stop(); }

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
    std::uint64_t ticket = 0;
    {
      std::lock_guard<std::mutex> lock(signups_mutex_);
      if (!signups_closed_) {
        ticket = next_signup_++;
        signups_.emplace(ticket, std::move(done));
      }
    }
    if (ticket == 0) {
      std::thread([done = std::move(done)] {
        done(hibiki::error{errc::unavailable, "the node is stopped"});
      }).detach();
      return;
    }
    std::lock_guard<std::mutex> lock(sys_mutex_);
    if (!sys_) return;  // stop() answers it
    // `done` is the gateway's: run it on an io thread, never on an actor's.
    actors::signup(rt_.ctx, std::move(name), [this, ticket](result<signup_result> r) {
      io_->post(
          [this, ticket, r = std::move(r)]() mutable { finish_signup(ticket, std::move(r)); });
    });
  }

  bool healthy() const override { return !rt_.ctx->stopping.load(); }

  nlohmann::json journal_status() override {
    auto st = backend_->status();
    return nlohmann::json{{"kind", st.kind},
                          {"appends", st.appends},
                          {"rejected", st.rejected},
                          {"failed", st.failed}};
  }

  void stop() override {
    std::lock_guard<std::mutex> lock(stop_mutex_);
    if (stopped_) return;
    stopped_ = true;
    rt_.ctx->stopping = true;
    // Let appends already submitted be acknowledged and their replies go out. Bounded, so a
    // wedged disk cannot hang shutdown forever.
    for (int i = 0; i < 30000 && rt_.ctx->inflight.load() > 0; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    {
      std::lock_guard<std::mutex> sys_lock(sys_mutex_);
      router_->shutdown();
      stop_runtime(rt_);
      sys_->await_all_actors_done();
      io_->stop();
      backend_->close();
      release_runtime(rt_);
      sys_.reset();
    }
    // Sign-ups the actors did not finish still get their one answer.
    std::unordered_map<std::uint64_t, std::function<void(result<signup_result>)>> left;
    {
      std::lock_guard<std::mutex> signups_lock(signups_mutex_);
      signups_closed_ = true;
      left.swap(signups_);
    }
    for (auto& [ticket, done] : left) done(hibiki::error{errc::unavailable, "the node stopped"});
  }

 private:
  void finish_signup(std::uint64_t ticket, result<signup_result> r) {
    std::function<void(result<signup_result>)> done;
    {
      std::lock_guard<std::mutex> lock(signups_mutex_);
      auto it = signups_.find(ticket);
      if (it == signups_.end()) return;
      done = std::move(it->second);
      signups_.erase(it);
    }
    done(std::move(r));
  }

 private:
  node_options options_;
  std::unique_ptr<persistence::rocksdb_backend> backend_;
  caf::actor_system_config cfg_;
  std::unique_ptr<caf::actor_system> sys_;
  std::unique_ptr<thread_pool_executor> io_;
  runtime rt_;
  std::shared_ptr<session_router> router_ = std::make_shared<session_router>();
  std::mutex stop_mutex_;
  bool stopped_ = false;
  /// Held while spawning into the actor system and while tearing it down.
  std::mutex sys_mutex_;
  /// Sign-ups waiting for their account to be durable, by ticket.
  std::mutex signups_mutex_;
  std::unordered_map<std::uint64_t, std::function<void(result<signup_result>)>> signups_;
  std::uint64_t next_signup_ = 1;
  bool signups_closed_ = false;
};

}  // namespace

result<std::unique_ptr<node>> node::start(const node_options& options) {
  persistence::rocksdb_options ro;
  ro.path = options.data_dir;
  ro.sync = options.sync_writes;
  auto backend = persistence::rocksdb_backend::open(ro);
  if (!backend) {
    return hibiki::error{errc::unavailable,
                         "cannot open " + options.data_dir + ": " + backend.error().message};
  }
  std::unique_ptr<node> n = std::make_unique<node_impl>(options, std::move(*backend));
  return n;
}

}  // namespace hibiki::actors
