#pragma once
/// The actor test fixture: one hibiki node runtime (hub, recovery gate, regions, entities,
/// sessions) on CAF's deterministic test coordinator, over a real RocksDB in a temp dir, with
/// manual time, a manual io executor and a deferred journal. Nothing runs until the test says
/// so (`run`, `advance_time`), on the test's own thread, so every test is deterministic.

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <caf/all.hpp>

#include "hibiki/actors/node.hpp"
#include "hibiki/persistence/rocksdb_backend.hpp"
#include "hibiki/testkit/deferred_journal.hpp"
#include "hibiki/testkit/manual_executor.hpp"
#include "hibiki/testkit/snapshot_faults.hpp"
#include "hibiki/testkit/temp_dir.hpp"
#include "runtime.hpp"

namespace hibiki::testkit {

/// Thrown by the harness when an expectation fails; test frameworks report it as a failure.
struct expectation_failed : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// Node options for tests: the production defaults, except that nothing is synced to disk.
actors::node_options test_options();

class actor_fixture {
 public:
  explicit actor_fixture(actors::node_options options = test_options());
  ~actor_fixture();
  actor_fixture(const actor_fixture&) = delete;
  actor_fixture& operator=(const actor_fixture&) = delete;

  caf::actor_system& sys() { return *sys_; }
  caf::scheduler::test_coordinator& sched() { return *sched_; }
  actors::runtime& rt() { return rt_; }
  actors::node_context& ctx() { return *rt_.ctx; }
  manual_executor& io() { return io_; }
  deferred_journal& journal() { return *journal_; }
  /// The entities' snapshot store: the real one, with faults the test injects.
  snapshot_faults& snapshots() { return *snapshots_; }
  persistence::rocksdb_backend& storage() { return *backend_; }
  const temp_dir& dir() const { return dir_; }

  /// When true (default), `run` also runs queued io tasks / completes held journal appends.
  bool auto_io = true;
  bool auto_journal = true;
  /// The wall clock entities stamp events with (Unix seconds); tests move it by hand.
  unix_time now = 1'700'000'000;

  /// Runs actor messages, and per auto_io/auto_journal io tasks and appends, until quiet.
  /// Returns how many steps ran.
  std::size_t run();
  /// Only actor messages, until none is left.
  std::size_t run_actors();
  /// Moves CAF's clock forward by `d` (firing due timers), then `run`s.
  void advance_time(std::chrono::milliseconds d);

  /// Stops every actor, closes and reopens the storage, and starts a fresh runtime over it:
  /// everything an entity knows afterwards comes from recovery.
  void restart();

  /// A session actor writing to `link` (stopped with the fixture).
  caf::actor open_session(std::shared_ptr<actors::client_link> link);
  void send_text(const caf::actor& session, std::string frame);
  void close_session(const caf::actor& session);

  /// Signs up an account (runs until the reply is there).
  result<actors::signup_result> signup(std::string name);

  /// Spawns an actor that records every message it receives (see probe.hpp); stopped with the
  /// fixture.
  caf::actor spawn_recorder(std::shared_ptr<std::deque<caf::message>> inbox);

 private:
  void start_runtime();
  void stop_everything();

  actors::node_options options_;
  temp_dir dir_;
  std::unique_ptr<persistence::rocksdb_backend> backend_;
  std::unique_ptr<deferred_journal> journal_;
  std::unique_ptr<snapshot_faults> snapshots_;
  manual_executor io_;
  caf::actor_system_config cfg_;
  std::unique_ptr<caf::actor_system> sys_;
  caf::scheduler::test_coordinator* sched_ = nullptr;
  actors::runtime rt_;
  std::vector<caf::actor> extras_;  ///< sessions and recorders to stop at the end
};

}  // namespace hibiki::testkit
