#include "hibiki/testkit/cluster_fixture.hpp"

#include <algorithm>

#include "messages.hpp"
#include "session_actor.hpp"

namespace hibiki::testkit {

namespace {

/// The wire between nodes: what a node sends to a peer's port goes through a serialization round
/// trip first (cluster_fixture::wire_round_trip), and so does the reply of a request.
caf::behavior wire_link(caf::event_based_actor* self, caf::actor port, cluster_fixture* fx) {
  self->set_default_handler(
      [self, port, fx](caf::scheduled_actor*, caf::message_view& x) -> caf::result<caf::message> {
        auto copy = fx->wire_round_trip(x.move_content_to_message());
        if (!self->current_mailbox_element()->mid.is_request()) {
          self->send(port, std::move(copy));
          return caf::message{};
        }
        // A request: commands (remote_reply) and the status (a string) are the only ones.
        auto rp = self->make_response_promise();
        self->request(port, caf::infinite, std::move(copy))
            .then(
                [rp, fx](actors::remote_reply& r) mutable {
                  rp.deliver(fx->wire_round_trip(caf::make_message(std::move(r))));
                },
                [rp](caf::error& e) mutable { rp.deliver(std::move(e)); });
        return caf::delegated<caf::message>{};
      });
  return {[](caf::atom_constant<caf::atom("t_wnop")>) {}};
}

}  // namespace

caf::message cluster_fixture::wire_round_trip(const caf::message& m) {
  std::vector<char> buf;
  caf::binary_serializer sink{*sys_, buf};
  auto out = m;
  if (auto err = inspect(sink, out)) {
    if (wire_->failure.empty())
      wire_->failure = "cannot serialize " + caf::to_string(m) + ": " + sys_->render(err);
    return m;
  }
  caf::binary_deserializer source{*sys_, buf};
  caf::message back;
  if (auto err = inspect(source, back)) {
    if (wire_->failure.empty())
      wire_->failure = "cannot deserialize " + caf::to_string(m) + ": " + sys_->render(err);
    return m;
  }
  if (back.type_token() != m.type_token() && wire_->failure.empty())
    wire_->failure = "the round trip changed the types of " + caf::to_string(m);
  ++wire_->messages;
  wire_->bytes += buf.size();
  return back;
}

caf::actor cluster_fixture::link_to(std::size_t node) {
  while (links_.size() <= node) links_.emplace_back();
  if (!links_[node]) links_[node] = sys_->spawn(wire_link, rt(node).ctx->port, this);
  return links_[node];
}

void shard_gate_journal::async_append(persistence::append_request req,
                                      persistence::append_callback done) {
  if (!table_->serving(table_->partition_of(req.entity))) {
    ++refused_;
    done(hibiki::error{errc::moved, "shard not served by this node"});
    return;
  }
  shared_->async_append(std::move(req), std::move(done));
}

cluster_fixture::cluster_fixture(std::vector<std::string> names, std::int32_t partitions,
                                 actors::node_options options)
    : options_(std::move(options)), partitions_(std::max<std::int32_t>(partitions, 1)) {
  if (names.empty()) throw expectation_failed("cluster_fixture: no nodes");
  persistence::rocksdb_options ro;
  ro.path = dir_.sub("data");
  ro.sync = false;
  auto backend = persistence::rocksdb_backend::open(ro);
  if (!backend) throw expectation_failed("cannot open storage: " + backend.error().message);
  backend_ = std::move(*backend);
  journal_ = std::make_unique<deferred_journal>(backend_->journal());
  cfg_.set("scheduler.policy", caf::atom("testing"));
  actors::add_cluster_message_types(cfg_);
  sys_ = std::make_unique<caf::actor_system>(cfg_);
  sched_ = &dynamic_cast<caf::scheduler::test_coordinator&>(sys_->scheduler());
  for (auto& name : names) {
    auto n = std::make_unique<node>();
    n->name = name;
    n->table = actors::shard_table::clustered(partitions_, name);
    n->journal = std::make_unique<shard_gate_journal>(*journal_, n->table);
    n->control = std::make_unique<fake_shard_control>(partitions_);
    actors::runtime_deps deps;
    deps.journal = n->journal.get();
    deps.snapshots = &backend_->snapshots();
    deps.reads = &backend_->reads();
    deps.io = &io_;
    deps.now = [this] { return now; };
    deps.writer_id = "writer-" + name;
    deps.shards = n->table;
    deps.shard_control = n->control.get();
    auto* raw = n.get();
    deps.refresh_owners = [raw] { ++raw->refreshes; };
    deps.status_json = [name] { return nlohmann::json{{"node", name}}.dump(); };
    n->rt = actors::start_runtime(*sys_, std::move(deps), options_);
    nodes_.push_back(std::move(n));
  }
  connect_peers();
  notify_all();
}

cluster_fixture::~cluster_fixture() {
  auto_io = true;
  auto_journal = true;
  for (auto& n : nodes_) actors::stop_runtime(n->rt);
  for (auto& a : extras_) caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  extras_.clear();
  for (auto& a : links_) caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  links_.clear();
  run();
  for (auto& n : nodes_) actors::release_runtime(n->rt);
  io_.run_all();
  backend_->close();
  sys_.reset();
}

void cluster_fixture::connect_peers() {
  for (std::size_t i = 0; i < nodes_.size(); ++i)
    for (std::size_t j = 0; j < nodes_.size(); ++j)
      if (i != j) nodes_[i]->table->set_peer(nodes_[j]->name, link_to(j));
}

std::size_t cluster_fixture::run() {
  std::size_t total = 0;
  for (;;) {
    std::size_t n = sched_->run();
    if (auto_io) n += io_.run_all();
    if (auto_journal) n += journal_->complete_all();
    if (!wire_->failure.empty()) {
      auto why = std::move(wire_->failure);
      wire_->failure.clear();
      throw expectation_failed("cluster wire: " + why);
    }
    if (n == 0) return total;
    total += n;
  }
}

void cluster_fixture::advance_time(std::chrono::milliseconds d) {
  sched_->advance_time(std::chrono::duration_cast<caf::timespan>(d));
  run();
}

std::int32_t cluster_fixture::partition_of(const entity_id& entity) const {
  return nodes_.front()->table->partition_of(entity);
}

void cluster_fixture::notify_all() {
  for (auto& n : nodes_) actors::notify_shards_changed(*n->rt.ctx);
  run();
}

void cluster_fixture::assign_all(std::size_t owner) {
  assignment_.clear();
  for (std::int32_t p = 0; p < partitions_; ++p) {
    assignment_[nodes_.at(owner)->name].push_back(p);
    for (std::size_t i = 0; i < nodes_.size(); ++i)
      nodes_[i]->table->set_local(
          p, i == owner ? actors::local_shard::serving : actors::local_shard::none);
  }
  for (auto& n : nodes_) n->table->set_assignment(assignment_);
  notify_all();
}

void cluster_fixture::assign(std::int32_t partition, std::size_t owner) {
  for (auto& [name, parts] : assignment_)
    parts.erase(std::remove(parts.begin(), parts.end(), partition), parts.end());
  assignment_[nodes_.at(owner)->name].push_back(partition);
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    nodes_[i]->table->set_local(
        partition, i == owner ? actors::local_shard::serving : actors::local_shard::none);
    nodes_[i]->table->set_assignment(assignment_);
  }
  notify_all();
}

void cluster_fixture::unassign(std::int32_t partition) {
  for (auto& [name, parts] : assignment_)
    parts.erase(std::remove(parts.begin(), parts.end(), partition), parts.end());
  for (auto& n : nodes_) {
    n->table->set_local(partition, actors::local_shard::none);
    n->table->set_assignment(assignment_);
  }
  notify_all();
}

void cluster_fixture::set_local(std::size_t node, std::int32_t partition,
                                actors::local_shard state) {
  nodes_.at(node)->table->set_local(partition, state);
  actors::notify_shards_changed(*nodes_.at(node)->rt.ctx);
  run();
}

void cluster_fixture::peer_down(std::size_t node) {
  for (auto& n : nodes_)
    if (n != nodes_.at(node)) n->table->peer_down(nodes_.at(node)->name);
  notify_all();
}

void cluster_fixture::peer_up(std::size_t node) {
  for (auto& n : nodes_)
    if (n != nodes_.at(node)) n->table->set_peer(nodes_.at(node)->name, link_to(node));
  notify_all();
}

caf::actor cluster_fixture::open_session(std::size_t node,
                                         std::shared_ptr<actors::client_link> link) {
  auto& ctx = this->ctx(node);
  auto id = ctx.next_session++;
  auto a = actors::spawn_session(*sys_, rt(node).ctx, std::move(link), id);
  extras_.push_back(a);
  run();
  return a;
}

void cluster_fixture::send_text(const caf::actor& session, std::string frame) {
  caf::anon_send(session, actors::client_text{std::move(frame)});
}

void cluster_fixture::close_session(const caf::actor& session) {
  caf::anon_send(session, actors::closed_atom::value);
}

result<actors::signup_result> cluster_fixture::signup(std::size_t node, std::string name) {
  auto got = std::make_shared<std::optional<result<actors::signup_result>>>();
  actors::signup(rt(node).ctx, std::move(name),
                 [got](result<actors::signup_result> r) { got->emplace(std::move(r)); });
  run();
  if (!*got) throw expectation_failed("signup: no outcome");
  return std::move(**got);
}

}  // namespace hibiki::testkit
