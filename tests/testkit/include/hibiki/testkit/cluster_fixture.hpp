#pragma once
/// The cluster harness: several hibiki node runtimes ("nodes") on ONE deterministic CAF test
/// coordinator, sharing one storage (RocksDB in a temp dir) and one deferred journal — the shared
/// journal plays Kafka, so a node that takes a shard over recovers its entities from what the
/// previous owner wrote. Each node has its own clustered shard table and name, and its peers are
/// the other nodes' cluster ports behind a wire link: every message a node sends a peer (and every
/// reply it gets back) is serialized with CAF's binary serializer and deserialized again, through
/// the same registered types (actors' cluster_wire.hpp) the middleman uses, before the port sees
/// it. So commands, replies, pushes and presence cross "nodes" as the same typed messages as
/// between real nodes, and a type that does not survive the round trip fails the test (run()
/// throws). The test plays the cluster glue: it assigns and
/// moves shards, takes peers down, and notifies the nodes.
///
/// Each node writes through a shard gate: an append for a shard the node does not serve fails
/// with `moved` at once, as the clustered Kafka backend answers it. Nothing runs until the test
/// calls `run()` or `advance_time()`. Each node has a fake shard control for the read barrier.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/all.hpp>

#include "cluster_wire.hpp"
#include "hibiki/actors/node.hpp"
#include "hibiki/persistence/rocksdb_backend.hpp"
#include "hibiki/persistence/shard_control.hpp"
#include "hibiki/testkit/actor_fixture.hpp"
#include "hibiki/testkit/deferred_journal.hpp"
#include "hibiki/testkit/manual_executor.hpp"
#include "hibiki/testkit/temp_dir.hpp"
#include "runtime.hpp"

namespace hibiki::testkit {

/// A node's journal: refuses appends for shards its table does not serve (`moved`), passes the
/// rest (and every read) to the shared journal.
class shard_gate_journal final : public persistence::journal {
 public:
  shard_gate_journal(persistence::journal& shared, std::shared_ptr<actors::shard_table> table)
      : shared_(&shared), table_(std::move(table)) {}

  void async_append(persistence::append_request req, persistence::append_callback done) override;
  status replay(const entity_id& entity, seq_nr from, seq_nr to, std::uint64_t max,
                const std::function<void(const persistence::persisted_event&)>& fn) override {
    return shared_->replay(entity, from, to, max, fn);
  }
  result<seq_nr> highest_seq(const entity_id& entity) override {
    return shared_->highest_seq(entity);
  }
  status delete_to(const entity_id& entity, seq_nr to) override {
    return shared_->delete_to(entity, to);
  }

  /// Appends refused with `moved`.
  std::size_t refused() const { return refused_; }

 private:
  persistence::journal* shared_;
  std::shared_ptr<actors::shard_table> table_;
  std::size_t refused_ = 0;
};

/// A node's shard control as far as sessions use it: the read barrier. Records the partitions
/// each await_indexed asked for and answers `answer` (ok by default). acquire/release do nothing:
/// in the harness the test moves shards through the fixture.
class fake_shard_control final : public persistence::shard_control {
 public:
  explicit fake_shard_control(std::int32_t partitions) : partitions_(partitions) {}

  std::int32_t partition_count() const override { return partitions_; }
  void set_listener(std::function<void(std::int32_t, persistence::shard_change)>) override {}
  void acquire(std::int32_t) override {}
  void release(std::int32_t) override {}
  status await_indexed(const std::vector<std::int32_t>& partitions,
                       std::chrono::milliseconds) override {
    barriers.push_back(partitions);
    return answer;
  }

  /// What await_indexed answers.
  status answer;
  /// The partitions of every await_indexed call, in order.
  std::vector<std::vector<std::int32_t>> barriers;

 private:
  std::int32_t partitions_;
};

class cluster_fixture {
 public:
  /// Nodes named `names` (at least one), `partitions` shards, nothing assigned, every node a
  /// peer of every other.
  explicit cluster_fixture(std::vector<std::string> names = {"a", "b"}, std::int32_t partitions = 8,
                           actors::node_options options = test_options());
  ~cluster_fixture();
  cluster_fixture(const cluster_fixture&) = delete;
  cluster_fixture& operator=(const cluster_fixture&) = delete;

  std::size_t size() const { return nodes_.size(); }
  const std::string& name(std::size_t node) const { return nodes_.at(node)->name; }
  actors::runtime& rt(std::size_t node) { return nodes_.at(node)->rt; }
  actors::node_context& ctx(std::size_t node) { return *rt(node).ctx; }
  actors::shard_table& table(std::size_t node) { return *nodes_.at(node)->table; }
  shard_gate_journal& node_journal(std::size_t node) { return *nodes_.at(node)->journal; }
  fake_shard_control& shard_control(std::size_t node) { return *nodes_.at(node)->control; }
  /// How often node `node` asked for the owners to be looked up again.
  std::size_t refreshes(std::size_t node) const { return nodes_.at(node)->refreshes; }

  caf::actor_system& sys() { return *sys_; }
  manual_executor& io() { return io_; }
  deferred_journal& journal() { return *journal_; }
  persistence::rocksdb_backend& storage() { return *backend_; }
  const actors::node_options& options() const { return options_; }

  bool auto_io = true;
  bool auto_journal = true;
  unix_time now = 1'700'000'000;

  std::size_t run();
  void advance_time(std::chrono::milliseconds d);

  // ---- shard ownership (the test plays Kafka and the glue) ------------------------------------
  std::int32_t partition_of(const entity_id& entity) const;
  /// Every shard served by `node` (Kafka's assignment and the nodes' local states agree).
  void assign_all(std::size_t node);
  /// Shard `partition` served by `node`, released everywhere else; every node notified; runs.
  void assign(std::int32_t partition, std::size_t node);
  /// Shard `partition` has no owner: released everywhere, unassigned; notified; runs.
  void unassign(std::int32_t partition);
  /// Only node `node`'s own view of `partition` (no assignment change); notifies it; runs.
  void set_local(std::size_t node, std::int32_t partition, actors::local_shard state);
  /// Node `node`'s port is down as the others see it (they stop using it); notified; runs.
  void peer_down(std::size_t node);
  /// ... and back.
  void peer_up(std::size_t node);
  /// Tells every node its table changed, then runs.
  void notify_all();

  // ---- clients ---------------------------------------------------------------------------------
  caf::actor open_session(std::size_t node, std::shared_ptr<actors::client_link> link);
  void send_text(const caf::actor& session, std::string frame);
  void close_session(const caf::actor& session);
  result<actors::signup_result> signup(std::size_t node, std::string name);

  /// Sends a command to node `node`'s region for `Command` and runs until it is answered.
  template <class Command>
  std::optional<actors::command_reply> command(std::size_t node, entity_id entity, Command cmd) {
    auto got = std::make_shared<std::optional<actors::command_reply>>();
    caf::anon_send(
        region_for<Command>(node),
        actors::entity_command<Command>{std::move(entity), std::move(cmd),
                                        [got](actors::command_reply r) { *got = std::move(r); }});
    run();
    return *got;
  }
  /// The same without running: the reply lands in `out` once the test runs.
  template <class Command>
  void send_command(std::size_t node, entity_id entity, Command cmd,
                    std::shared_ptr<std::optional<actors::command_reply>> out) {
    caf::anon_send(
        region_for<Command>(node),
        actors::entity_command<Command>{std::move(entity), std::move(cmd),
                                        [out](actors::command_reply r) { *out = std::move(r); }});
  }

  template <class Command>
  caf::actor region_for(std::size_t node) {
    if constexpr (std::is_same_v<Command, room::command>)
      return ctx(node).rooms;
    else if constexpr (std::is_same_v<Command, user::command>)
      return ctx(node).users;
    else
      return ctx(node).ids;
  }

  /// Messages (and replies) that crossed a wire link between nodes, and their serialized bytes.
  std::size_t wire_messages() const { return wire_->messages; }
  std::size_t wire_bytes() const { return wire_->bytes; }

  /// A typed remote command (actors::remote_room_command, ...) asked of `dest` (a port): its
  /// reply, an `internal` reply naming the error when `dest` answered an error, nullopt when it
  /// did not answer. Sent and answered through a serialization round trip, as between nodes.
  template <class Remote>
  std::optional<actors::command_reply> ask_command(const caf::actor& dest, Remote m) {
    auto out = std::make_shared<std::optional<actors::command_reply>>();
    auto copy = wire_round_trip(caf::make_message(std::move(m)));
    auto asker = sys_->spawn([dest, out, copy, this](caf::event_based_actor* self) {
      self->request(dest, caf::infinite, copy)
          .then(
              [out, this](const actors::remote_reply& r) {
                auto back = wire_round_trip(caf::make_message(r));
                *out = actors::from_wire(back.get_as<actors::remote_reply>(0));
              },
              [out](caf::error& e) {
                *out = actors::command_reply::fail(errc::internal, "error: " + caf::to_string(e));
              });
    });
    extras_.push_back(asker);
    run();
    return *out;
  }

  /// `m` serialized and deserialized as the middleman does; a failure is recorded (run() throws).
  caf::message wire_round_trip(const caf::message& m);

  /// The answer of `dest` to a request (xs...): the string it replied, or "error: ..." when it
  /// answered an error; nullopt when it did not answer at all.
  template <class... Ts>
  std::optional<std::string> ask(const caf::actor& dest, Ts... xs) {
    auto out = std::make_shared<std::optional<std::string>>();
    auto asker = sys_->spawn([dest, out, xs...](caf::event_based_actor* self) {
      self->request(dest, caf::infinite, xs...)
          .then([out](const std::string& s) { *out = s; },
                [out](caf::error& e) { *out = "error: " + caf::to_string(e); });
    });
    extras_.push_back(asker);
    run();
    return *out;
  }

 private:
  struct node {
    std::string name;
    std::shared_ptr<actors::shard_table> table;
    std::unique_ptr<shard_gate_journal> journal;
    std::unique_ptr<fake_shard_control> control;
    actors::runtime rt;
    std::size_t refreshes = 0;
  };

  void connect_peers();
  /// Node `node`'s port as its peers reach it: through a wire link.
  caf::actor link_to(std::size_t node);

  struct wire_stats {
    std::size_t messages = 0;
    std::size_t bytes = 0;
    std::string failure;
  };

  actors::node_options options_;
  temp_dir dir_;
  std::unique_ptr<persistence::rocksdb_backend> backend_;
  std::unique_ptr<deferred_journal> journal_;
  manual_executor io_;
  caf::actor_system_config cfg_;
  std::unique_ptr<caf::actor_system> sys_;
  caf::scheduler::test_coordinator* sched_ = nullptr;
  std::int32_t partitions_;
  std::vector<std::unique_ptr<node>> nodes_;
  std::map<std::string, std::vector<std::int32_t>> assignment_;
  std::vector<caf::actor> extras_;
  std::shared_ptr<wire_stats> wire_ = std::make_shared<wire_stats>();
  /// Each node's wire link, by node index.
  std::vector<caf::actor> links_;
};

}  // namespace hibiki::testkit
