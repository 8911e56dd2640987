// The node's scheduler settings as CAF reads them: the keys and value types CAF 0.17 looks up
// (a key of the wrong type is silently ignored by CAF), the policy of the system it starts, and
// a node that runs the room path on the sharing policy.

#include <catch2/catch.hpp>

#include <future>
#include <limits>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/atom.hpp>
#include <caf/policy/work_sharing.hpp>
#include <caf/policy/work_stealing.hpp>
#include <caf/scheduler/coordinator.hpp>
#include <caf/timespan.hpp>

#include "hibiki/actors/node.hpp"
#include "hibiki/persistence/storage.hpp"
#include "hibiki/testkit/recording_link.hpp"
#include "hibiki/testkit/temp_dir.hpp"
#include "scheduler_config.hpp"

using hibiki::actors::apply_scheduler_options;
using hibiki::actors::scheduler_options;
using hibiki::actors::scheduler_policy;

TEST_CASE("scheduler settings: CAF reads every key with its type", "[node][scheduler]") {
  scheduler_options o;
  o.max_throughput = 7;
  o.spin_polls = 3;
  o.sleep_polls = 11;
  o.poll_sleep = std::chrono::microseconds(123);
  o.idle_wait = std::chrono::milliseconds(4);
  caf::actor_system_config cfg;
  apply_scheduler_options(cfg, 3, o);
  // The fallbacks differ from what was set: a key CAF cannot read as its type yields them.
  CHECK(caf::get_or(cfg, "scheduler.max-threads", size_t{0}) == 3);
  CHECK(caf::get_or(cfg, "scheduler.policy", caf::atom("none")) == caf::atom("stealing"));
  CHECK(caf::get_or(cfg, "scheduler.max-throughput", size_t{0}) == 7);
  CHECK(caf::get_or(cfg, "work-stealing.aggressive-poll-attempts", size_t{0}) == 3);
  CHECK(caf::get_or(cfg, "work-stealing.moderate-poll-attempts", size_t{0}) == 11);
  CHECK(caf::get_or(cfg, "work-stealing.moderate-sleep-duration", caf::timespan{0}) ==
        std::chrono::microseconds(123));
  CHECK(caf::get_or(cfg, "work-stealing.relaxed-sleep-duration", caf::timespan{0}) ==
        std::chrono::milliseconds(4));
}

TEST_CASE("scheduler settings: 0 means no throughput limit and one worker per core",
          "[node][scheduler]") {
  caf::actor_system_config cfg;
  apply_scheduler_options(cfg, 0, scheduler_options{});
  CHECK(caf::get_or(cfg, "scheduler.max-threads", size_t{0}) ==
        std::max<size_t>(1, std::thread::hardware_concurrency()));
  caf::actor_system sys{cfg};
  CHECK(sys.scheduler().max_throughput() == std::numeric_limits<size_t>::max());

  scheduler_options limited;
  limited.max_throughput = 7;
  caf::actor_system_config limited_cfg;
  apply_scheduler_options(limited_cfg, 1, limited);
  caf::actor_system limited_sys{limited_cfg};
  CHECK(limited_sys.scheduler().max_throughput() == 7);
  CHECK(limited_sys.scheduler().num_workers() == 1);
}

TEST_CASE("scheduler settings: the actor system runs the chosen policy", "[node][scheduler]") {
  for (auto policy : {scheduler_policy::stealing, scheduler_policy::sharing}) {
    scheduler_options o;
    o.policy = policy;
    caf::actor_system_config cfg;
    apply_scheduler_options(cfg, 2, o);
    caf::actor_system sys{cfg};
    auto* sched = &sys.scheduler();
    const bool sharing =
        dynamic_cast<caf::scheduler::coordinator<caf::policy::work_sharing>*>(sched) != nullptr;
    const bool stealing =
        dynamic_cast<caf::scheduler::coordinator<caf::policy::work_stealing>*>(sched) != nullptr;
    CHECK(sharing == (policy == scheduler_policy::sharing));
    CHECK(stealing == (policy == scheduler_policy::stealing));
    CHECK(sched->num_workers() == 2);
    CHECK(sched->max_throughput() == std::numeric_limits<size_t>::max());
  }
}

TEST_CASE("scheduler settings: a node on the sharing policy serves a room", "[node][scheduler]") {
  hibiki::testkit::temp_dir dir;
  hibiki::persistence::storage_options s;
  s.data_dir = dir.sub("data");
  s.sync_writes = false;
  auto backend = hibiki::persistence::open_backend(s);
  REQUIRE(backend.ok());
  hibiki::actors::node_options o;
  o.actor_threads = 2;
  o.scheduler.policy = scheduler_policy::sharing;
  o.scheduler.max_throughput = 1;  // every actor yields its worker after each message
  auto started = hibiki::actors::node::start(std::move(*backend), o);
  REQUIRE(started.ok());
  auto& n = *started.value();

  std::promise<hibiki::result<hibiki::actors::signup_result>> p;
  n.signup("alice",
           [&](hibiki::result<hibiki::actors::signup_result> r) { p.set_value(std::move(r)); });
  auto alice = p.get_future().get();
  REQUIRE(alice.ok());

  auto link = std::make_shared<hibiki::testkit::recording_link>();
  auto session = n.open_session(link);
  auto call = [&](nlohmann::json req, std::int64_t id) {
    req["id"] = id;
    session->on_text(req.dump());
    auto reply = link->wait_reply(id);
    REQUIRE(reply.has_value());
    return *reply;
  };
  REQUIRE(call({{"op", "auth"}, {"token", alice.value().token}}, 1)["ok"] == true);
  auto room = call({{"op", "create_room"}, {"name", "r"}, {"members", nlohmann::json::array()}}, 2);
  INFO(room.dump());
  REQUIRE(room["ok"] == true);
  for (std::int64_t i = 0; i < 20; ++i) {
    auto sent = call({{"op", "send_message"},
                      {"room_id", room["room_id"]},
                      {"body", "m" + std::to_string(i)},
                      {"client_msg_id", "c" + std::to_string(i)}},
                     10 + i);
    REQUIRE(sent["ok"] == true);
  }
  auto hist = call({{"op", "history"}, {"room_id", room["room_id"]}, {"limit", 50}}, 100);
  REQUIRE(hist["ok"] == true);
  CHECK(hist["messages"].size() == 20);
}
