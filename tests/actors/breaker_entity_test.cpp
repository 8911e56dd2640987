// A room entity on the actor harness with a breaker_journal between it and the deferred journal,
// on a manual breaker clock: a journal that stops answering gives clients `unavailable` after
// call_timeout (not a hang); max_failures of them open the breaker and later commands fail fast
// without reaching the journal; reads keep working; a successful trial after reset_timeout closes
// it, a failing one re-opens it; a late success is not lost, only not acknowledged.

#include <memory>
#include <vector>

#include <catch2/catch.hpp>

#include "hibiki/persistence/breaker_journal.hpp"
#include "hibiki/testkit/entity_kit.hpp"
#include "hibiki/testkit/journal_override.hpp"
#include "hibiki/testkit/manual_breaker_clock.hpp"
#include "reads.hpp"

using namespace hibiki;
using namespace std::chrono_literals;
using hibiki::testkit::actor_fixture;
using hibiki::testkit::room_kit;

namespace {

const account_id alice{1}, bob{2};
const room_id the_room{1};

breaker_options opts(std::uint32_t failures) {
  breaker_options o;
  o.max_failures = failures;
  o.call_timeout = 10s;
  o.reset_timeout = 30s;
  return o;
}

/// A fixture whose entities write through a breaker journal on a manual clock.
struct breaker_rig {
  explicit breaker_rig(breaker_options o) : breaker(fx.journal(), o, clock), over(fx, breaker) {}

  /// Sends a post and runs the fixture; the replies collected so far (none while the append
  /// waits on the journal).
  std::shared_ptr<std::vector<actors::command_reply>> post(const std::string& body) {
    auto got = std::make_shared<std::vector<actors::command_reply>>();
    caf::anon_send(fx.ctx().rooms,
                   actors::entity_command<room::command>{
                       entity_of(the_room), room::send_message{bob, body, body, fx.now},
                       [got](actors::command_reply r) { got->push_back(std::move(r)); }});
    fx.run();
    return got;
  }

  /// Lets the breaker answer what is due (timeouts, fail-fast calls), then runs the actors.
  void poll() {
    breaker.poll();
    fx.run();
  }

  /// The room's history as the read store has it (rows are written with the events).
  std::vector<std::string> bodies() {
    protocol::history_req req;
    req.room = the_room;
    auto h = actors::read_history(fx.storage().reads(), alice, req);
    if (h.err) throw testkit::expectation_failed("history: " + h.err->message);
    std::vector<std::string> out;
    for (const auto& m : h.fields["messages"]) out.push_back(m["body"].get<std::string>());
    return out;
  }

  /// How many messages the entity knows (recovering it from the journal if it is not live).
  std::size_t known() { return room.state().messages.size(); }

  actor_fixture fx;
  std::shared_ptr<testkit::manual_breaker_clock> clock =
      std::make_shared<testkit::manual_breaker_clock>();
  persistence::breaker_journal breaker;
  testkit::journal_override over;
  room_kit room{fx, entity_of(the_room)};
};

void require_unavailable(const std::vector<actors::command_reply>& got, const std::string& why) {
  REQUIRE(got.size() == 1);
  REQUIRE(got[0].err);
  CHECK(got[0].err->code == errc::unavailable);
  CHECK(got[0].err->message == why);
}

void create_room(breaker_rig& r) {
  REQUIRE_FALSE(
      r.room.run(room::create_room{alice, the_room, "general", "", {bob}, r.fx.now}).reply.err);
  REQUIRE_FALSE(r.room.run(room::send_message{bob, "before", "before", r.fx.now}).reply.err);
}

}  // namespace

TEST_CASE("breaker entity: a silent journal times out, opens the breaker, and it closes again",
          "[breaker][entity]") {
  breaker_rig r(opts(2));
  create_room(r);
  r.fx.auto_journal = false;  // the journal stops answering

  // Two commands time out: the clients get `unavailable` after call_timeout, not a hang.
  for (const char* body : {"lost-1", "lost-2"}) {
    auto got = r.post(body);
    CHECK(got->empty());
    CHECK(r.fx.journal().pending() == 1);
    r.clock->advance(9s);
    r.poll();
    CHECK(got->empty());
    r.clock->advance(1s);
    r.poll();
    require_unavailable(*got, "journal call timed out");
    // The journal's late answer is dropped: still one reply, still one failure per call.
    REQUIRE(r.fx.journal().fail_next(make_error(errc::unavailable, "late")));
    r.fx.run();
    CHECK(got->size() == 1);
  }
  CHECK(r.breaker.state() == breaker_state::open);
  CHECK(r.breaker.consecutive_failures() == 2);

  // Open: the next command fails fast without reaching the journal.
  auto fast = r.post("refused");
  CHECK(r.fx.journal().pending() == 0);
  CHECK(fast->empty());  // answered by the breaker's poll, never on the entity's stack
  r.poll();
  require_unavailable(*fast, "journal circuit breaker is open");
  CHECK(r.fx.journal().pending() == 0);

  // Reads keep working: history from the read store, and a replay (passivate, reactivate).
  CHECK(r.bodies() == std::vector<std::string>{"before"});
  auto passivated = r.fx.rt().room_stats->passivations.load();
  r.fx.advance_time(std::chrono::minutes(3));
  CHECK(r.fx.rt().room_stats->passivations > passivated);
  CHECK(r.known() == 1);
  CHECK(r.breaker.state() == breaker_state::open);

  // After reset_timeout the next command is the trial; the journal answers, the breaker closes.
  r.clock->advance(30s);
  CHECK(r.breaker.state() == breaker_state::half_open);
  auto trial = r.post("trial");
  CHECK(r.fx.journal().pending() == 1);
  REQUIRE(r.fx.journal().complete_next());
  r.fx.run();
  REQUIRE(trial->size() == 1);
  CHECK_FALSE((*trial)[0].err);
  CHECK(r.breaker.state() == breaker_state::closed);

  r.fx.auto_journal = true;
  REQUIRE_FALSE(r.room.run(room::send_message{bob, "after", "after", r.fx.now}).reply.err);
  CHECK(r.bodies() == std::vector<std::string>{"before", "trial", "after"});
  CHECK(r.known() == 3);
}

TEST_CASE("breaker entity: a failing trial re-opens the breaker", "[breaker][entity]") {
  breaker_rig r(opts(1));
  create_room(r);
  r.fx.auto_journal = false;

  // A storage failure (not a timeout) counts too.
  auto first = r.post("fails");
  REQUIRE(r.fx.journal().fail_next(make_error(errc::unavailable, "disk")));
  r.fx.run();
  REQUIRE(first->size() == 1);
  CHECK((*first)[0].err->code == errc::unavailable);
  CHECK(r.breaker.state() == breaker_state::open);

  r.clock->advance(30s);
  auto trial = r.post("trial");
  CHECK(r.fx.journal().pending() == 1);
  REQUIRE(r.fx.journal().fail_next(make_error(errc::unavailable, "still down")));
  r.fx.run();
  REQUIRE(trial->size() == 1);
  CHECK((*trial)[0].err->code == errc::unavailable);
  CHECK(r.breaker.state() == breaker_state::open);

  auto fast = r.post("refused");
  CHECK(r.fx.journal().pending() == 0);
  r.poll();
  require_unavailable(*fast, "journal circuit breaker is open");

  // A trial that times out re-opens it as well.
  r.clock->advance(30s);
  auto slow = r.post("slow");
  CHECK(r.fx.journal().pending() == 1);
  r.clock->advance(10s);
  r.poll();
  require_unavailable(*slow, "journal call timed out");
  CHECK(r.breaker.state() == breaker_state::open);
  REQUIRE(r.fx.journal().fail_next(make_error(errc::unavailable, "late")));

  // And once the journal is back, the next trial closes it.
  r.clock->advance(30s);
  r.fx.auto_journal = true;
  auto back = r.post("back");
  REQUIRE(back->size() == 1);
  CHECK_FALSE((*back)[0].err);
  CHECK(r.breaker.state() == breaker_state::closed);
  CHECK(r.bodies() == std::vector<std::string>{"before", "back"});
  CHECK(r.known() == 2);
}

TEST_CASE("breaker entity: a late success is not acknowledged but not lost either",
          "[breaker][entity]") {
  breaker_rig r(opts(10));
  create_room(r);
  r.fx.auto_journal = false;
  r.fx.auto_io = false;  // hold the entity's re-recovery until the late answer is in

  auto got = r.post("late");
  r.clock->advance(10s);
  r.poll();
  require_unavailable(*got, "journal call timed out");
  REQUIRE(r.fx.journal().complete_next());  // the journal did write it, after all
  r.fx.auto_io = true;
  r.fx.run();
  CHECK(got->size() == 1);  // the late success is not a second reply
  CHECK(r.bodies() == std::vector<std::string>{"before", "late"});
  CHECK(r.known() == 2);

  r.fx.auto_journal = true;
  REQUIRE_FALSE(r.room.run(room::send_message{bob, "next", "next", r.fx.now}).reply.err);
  CHECK(r.bodies() == std::vector<std::string>{"before", "late", "next"});
  CHECK(r.known() == 3);
}
