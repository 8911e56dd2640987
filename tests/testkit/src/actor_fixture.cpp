#include "hibiki/testkit/actor_fixture.hpp"

#include <optional>

#include "messages.hpp"
#include "session_actor.hpp"

namespace hibiki::testkit {

namespace {

using record_atom = caf::atom_constant<caf::atom("tk_record")>;

caf::behavior recorder(caf::event_based_actor* self,
                       std::shared_ptr<std::deque<caf::message>> inbox) {
  self->set_default_handler(
      [inbox](caf::scheduled_actor*, caf::message_view& x) -> caf::result<caf::message> {
        inbox->push_back(x.move_content_to_message());
        return caf::message{};
      });
  // A behavior that never matches keeps the actor alive; everything goes to the handler above.
  return {[](record_atom) {}};
}

}  // namespace

actors::node_options test_options() {
  return actors::node_options{};
}

actor_fixture::actor_fixture(actors::node_options options) : options_(std::move(options)) {
  persistence::rocksdb_options ro;
  ro.path = dir_.sub("data");
  ro.sync = false;
  auto backend = persistence::rocksdb_backend::open(ro);
  if (!backend) throw expectation_failed("cannot open storage: " + backend.error().message);
  backend_ = std::move(*backend);
  journal_ = std::make_unique<deferred_journal>(backend_->journal());
  snapshots_ = std::make_unique<snapshot_faults>(backend_->snapshots());
  cfg_.set("scheduler.policy", caf::atom("testing"));
  sys_ = std::make_unique<caf::actor_system>(cfg_);
  sched_ = &dynamic_cast<caf::scheduler::test_coordinator&>(sys_->scheduler());
  start_runtime();
}

actor_fixture::~actor_fixture() {
  auto_io = true;
  auto_journal = true;
  stop_everything();
  for (auto& a : extras_) caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  extras_.clear();
  run();
  actors::release_runtime(rt_);
  io_.run_all();
  backend_->close();
  sys_.reset();
}

void actor_fixture::start_runtime() {
  actors::runtime_deps deps;
  deps.journal = journal_.get();
  deps.snapshots = snapshots_.get();
  deps.reads = &backend_->reads();
  deps.io = &io_;
  deps.now = [this] { return now; };
  // The file store's breaker reopens on the test's clock too.
  deps.object_breaker_now = [this] {
    return circuit_breaker::time_point{std::chrono::seconds{now}};
  };
  rt_ = actors::start_runtime(*sys_, std::move(deps), options_);
  run_actors();
}

void actor_fixture::stop_everything() {
  actors::stop_runtime(rt_);
  run();
}

std::size_t actor_fixture::run_actors() {
  return sched_->run();
}

std::size_t actor_fixture::run() {
  std::size_t total = 0;
  for (;;) {
    std::size_t n = sched_->run();
    if (auto_io) n += io_.run_all();
    if (auto_journal) n += journal_->complete_all();
    if (n == 0) return total;
    total += n;
  }
}

void actor_fixture::advance_time(std::chrono::milliseconds d) {
  sched_->advance_time(std::chrono::duration_cast<caf::timespan>(d));
  run();
}

void actor_fixture::restart() {
  stop_everything();
  actors::release_runtime(rt_);
  backend_->close();
  backend_.reset();
  persistence::rocksdb_options ro;
  ro.path = dir_.sub("data");
  ro.sync = false;
  auto backend = persistence::rocksdb_backend::open(ro);
  if (!backend) throw expectation_failed("cannot reopen storage: " + backend.error().message);
  backend_ = std::move(*backend);
  journal_->rebind(backend_->journal());
  snapshots_->rebind(backend_->snapshots());
  start_runtime();
}

caf::actor actor_fixture::open_session(std::shared_ptr<actors::client_link> link) {
  auto id = rt_.ctx->next_session++;
  auto a = actors::spawn_session(*sys_, rt_.ctx, std::move(link), id);
  extras_.push_back(a);
  run_actors();
  return a;
}

void actor_fixture::send_text(const caf::actor& session, std::string frame) {
  caf::anon_send(session, actors::client_text{std::move(frame)});
}

void actor_fixture::close_session(const caf::actor& session) {
  caf::anon_send(session, actors::closed_atom::value);
}

result<actors::signup_result> actor_fixture::signup(std::string name) {
  auto got = std::make_shared<std::optional<result<actors::signup_result>>>();
  actors::signup(rt_.ctx, std::move(name),
                 [got](result<actors::signup_result> r) { got->emplace(std::move(r)); });
  run();
  if (!*got) throw expectation_failed("signup: no outcome");
  return std::move(**got);
}

caf::actor actor_fixture::spawn_recorder(std::shared_ptr<std::deque<caf::message>> inbox) {
  auto a = sys_->spawn(recorder, std::move(inbox));
  extras_.push_back(a);
  return a;
}

}  // namespace hibiki::testkit
