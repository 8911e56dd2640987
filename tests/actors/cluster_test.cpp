// The actor side of the cluster on the cluster harness: several node runtimes on one
// deterministic test coordinator over one shared journal. Routing by shard (serve, forward, hold,
// give up), handoff when a shard moves (nothing lost, nothing applied twice), fan-out of pushes
// once per node, presence, the cluster port's bad inputs.

#include <catch2/catch.hpp>

#include "cluster_port.hpp"
#include "entity_traits.hpp"
#include "hibiki/core/command_codec.hpp"
#include "hibiki/testkit/cluster_fixture.hpp"
#include "hibiki/testkit/recording_link.hpp"

using namespace hibiki;
using namespace std::chrono_literals;
using actors::command_reply;
using actors::entity_kind;
using actors::local_shard;
using hibiki::testkit::cluster_fixture;
using hibiki::testkit::recording_link;
using json = nlohmann::json;

namespace {

constexpr std::size_t A = 0, B = 1, C = 2;

room::command create(std::uint64_t room, std::vector<account_id> members = {}) {
  return room::create_room{account_id{1},      room_id{room}, "r", "",
                           std::move(members), 1'700'000'000};
}

room::command say(std::string body) {
  return room::send_message{account_id{1}, body, body, 1'700'000'000};
}

/// How many appended events of `entity` are in the shared journal.
std::size_t events_of(cluster_fixture& fx, const entity_id& entity) {
  std::size_t n = 0;
  for (const auto& req : fx.journal().log())
    if (req.entity == entity) n += req.events.size();
  return n;
}

/// The room's state as node `node` serves it.
room::state room_state(cluster_fixture& fx, std::size_t node, const entity_id& entity) {
  auto got = std::make_shared<std::optional<room::state>>();
  caf::anon_send(fx.ctx(node).rooms, actors::state_query<room::state>{
                                         entity, [got](const room::state& s) { *got = s; }});
  fx.run();
  if (!*got) FAIL("no state of " << entity << " from node " << node);
  return std::move(**got);
}

struct conn {
  std::shared_ptr<recording_link> link = std::make_shared<recording_link>();
  caf::actor session;
};

conn login(cluster_fixture& fx, std::size_t node, const std::string& token) {
  conn c;
  c.session = fx.open_session(node, c.link);
  fx.send_text(c.session, json{{"id", 1}, {"op", "auth"}, {"token", token}}.dump());
  fx.run();
  REQUIRE_FALSE(c.link->frames().empty());
  REQUIRE(c.link->frames().back()["ok"] == true);
  return c;
}

json reply(const conn& c, std::int64_t id) {
  for (const auto& f : c.link->frames())
    if (f.contains("re") && f["re"] == id) return f;
  FAIL("no reply to request " << id);
  return {};
}

std::size_t count_events(const conn& c, const std::string& ev) {
  std::size_t n = 0;
  for (const auto& f : c.link->frames())
    if (f.value("ev", "") == ev) ++n;
  return n;
}

}  // namespace

TEST_CASE("cluster: a command on B for an entity served by A is forwarded and replied",
          "[cluster]") {
  cluster_fixture fx;
  fx.assign_all(A);
  const auto room = entity_of(room_id{1});

  auto created = fx.command(B, room, create(1));
  REQUIRE(created);
  REQUIRE_FALSE(created->err);
  CHECK(created->fields["room_id"] == 1);
  auto sent = fx.command(B, room, say("hello"));
  REQUIRE(sent);
  REQUIRE_FALSE(sent->err);
  CHECK(sent->fields["seq"] == 2);

  CHECK(fx.rt(A).port->commands == 2);  // forwarded to A's port
  CHECK(fx.rt(B).port->commands == 0);
  CHECK(fx.rt(A).room_stats->live == 1);  // the entity lives on A only
  CHECK(fx.rt(B).room_stats->live == 0);
  CHECK(events_of(fx, room) == 2);
  CHECK(room_state(fx, A, room).seq == 2);

  // Errors of the entity come back as they are (not retried).
  auto bad = fx.command(B, room, room::command{room::send_message{account_id{99}, "x", "", 1}});
  REQUIRE(bad);
  REQUIRE(bad->err);
  CHECK(bad->err->code == errc::forbidden);
}

TEST_CASE("cluster: signup and id allocation route through the owners", "[cluster]") {
  cluster_fixture fx;
  fx.assign_all(B);
  auto alice = fx.signup(A, "alice");
  REQUIRE(alice);
  CHECK(alice->account == account_id{1});
  auto bob = fx.signup(A, "bob");
  REQUIRE(bob);
  CHECK(bob->account == account_id{2});
  CHECK(fx.rt(A).user_stats->live == 0);
  CHECK(fx.rt(A).id_stats->live == 0);
  CHECK(fx.rt(A).room_stats->live == 0);
  // Per sign-up: the account id, the registration, then its my room: the account's profile, a
  // room id, its offer to the account, the room itself.
  CHECK(fx.rt(B).port->commands == 12);
  CHECK(fx.rt(B).room_stats->live == 2);
}

TEST_CASE("cluster: pushes reach sessions on every node, sent once per node", "[cluster]") {
  cluster_fixture fx({"a", "b", "c"});
  fx.assign_all(A);
  auto alice = fx.signup(A, "alice");
  auto bob = fx.signup(A, "bob");
  auto carol = fx.signup(A, "carol");
  REQUIRE(alice);
  REQUIRE(bob);
  REQUIRE(carol);

  // alice on A (twice) and B; bob twice on B; carol (not a member) on C.
  auto a1 = login(fx, A, alice->token);
  auto a2 = login(fx, A, alice->token);
  auto a3 = login(fx, B, alice->token);
  auto b1 = login(fx, B, bob->token);
  auto b2 = login(fx, B, bob->token);
  auto c1 = login(fx, C, carol->token);

  fx.send_text(a3.session,
               json{{"id", 2}, {"op", "create_room"}, {"name", "r"}, {"members", {2}}}.dump());
  fx.run();
  REQUIRE(reply(a3, 2)["ok"] == true);
  auto room_no = reply(a3, 2)["room_id"].get<std::uint64_t>();
  for (auto* c : {&a1, &a2, &a3, &b1, &b2}) CHECK(count_events(*c, "room_created") == 1);
  CHECK(count_events(c1, "room_created") == 0);
  CHECK(fx.rt(B).port->pushes == 1);  // one remote_push for B's three connections
  CHECK(fx.wire_messages() > 0);      // through the serialization round trip
  CHECK(fx.rt(C).port->pushes == 0);  // nobody of the room there

  // A message from alice's connection on B: every other connection gets it, hers gets the reply.
  fx.send_text(b1.session, json{{"id", 3},
                                {"op", "send_message"},
                                {"room_id", room_no},
                                {"body", "hi"},
                                {"client_msg_id", "m1"}}
                               .dump());
  fx.run();
  REQUIRE(reply(b1, 3)["ok"] == true);
  CHECK(count_events(b1, "message_created") == 0);  // the sender's own connection: reply only
  for (auto* c : {&a1, &a2, &a3, &b2}) CHECK(count_events(*c, "message_created") == 1);
  CHECK(count_events(c1, "message_created") == 0);
  CHECK(fx.rt(B).port->pushes == 2);
  CHECK(fx.rt(C).port->pushes == 0);
  CHECK(fx.rt(A).hub->remote_pushes == 2);

  // Session numbers are per node: a2 (A's session 2) got the push that excluded B's session 2.

  // bob leaves B entirely: B hears no more pushes for him... but alice is still there.
  fx.close_session(b1.session);
  fx.close_session(b2.session);
  fx.close_session(a3.session);
  fx.run();
  fx.send_text(a1.session, json{{"id", 4},
                                {"op", "send_message"},
                                {"room_id", room_no},
                                {"body", "again"},
                                {"client_msg_id", "m2"}}
                               .dump());
  fx.run();
  REQUIRE(reply(a1, 4)["ok"] == true);
  CHECK(count_events(a2, "message_created") == 2);
  CHECK(fx.rt(B).port->pushes == 2);  // nobody of the room connected to B any more
}

TEST_CASE("cluster: a node that meets a peer late learns its connections", "[cluster]") {
  cluster_fixture fx;
  fx.assign_all(A);
  auto alice = fx.signup(A, "alice");
  REQUIRE(alice);
  fx.peer_down(B);  // A does not know B
  auto on_b = login(fx, B, alice->token);
  fx.peer_up(B);  // B's pres_full tells A that alice is connected there
  CHECK(fx.rt(A).port->presence >= 1);

  fx.send_text(
      on_b.session,
      json{{"id", 2}, {"op", "create_room"}, {"name", "r"}, {"members", json::array()}}.dump());
  fx.run();
  INFO(reply(on_b, 2).dump());
  REQUIRE(reply(on_b, 2)["ok"] == true);
  CHECK(count_events(on_b, "room_created") == 1);  // to_origin: the creator's connection too
}

TEST_CASE("cluster: moving a shard hands the entity off; nothing is lost or applied twice",
          "[cluster]") {
  cluster_fixture fx;
  fx.assign_all(A);
  const auto room = entity_of(room_id{1});
  const auto p = fx.partition_of(room);
  REQUIRE(fx.command(B, room, create(1)));
  REQUIRE(events_of(fx, room) == 1);

  // One append in flight on A, then A releases the shard (no owner for a moment).
  fx.auto_journal = false;
  auto inflight = std::make_shared<std::optional<command_reply>>();
  fx.send_command(A, room, say("in flight"), inflight);
  fx.run();
  REQUIRE(fx.journal().pending() == 1);
  fx.unassign(p);
  // Commands sent meanwhile, on both nodes, are held back (no owner).
  auto held_a = std::make_shared<std::optional<command_reply>>();
  auto held_b = std::make_shared<std::optional<command_reply>>();
  fx.send_command(A, room, say("held on a"), held_a);
  fx.send_command(B, room, say("held on b"), held_b);
  fx.run();
  CHECK_FALSE(*held_a);
  CHECK_FALSE(*held_b);
  // The in-flight append keeps its real outcome.
  fx.journal().complete_all();
  fx.run();
  REQUIRE(*inflight);
  CHECK_FALSE((*inflight)->err);
  CHECK(fx.rt(A).room_stats->live == 0);  // handed off

  // B takes the shard: it recovers the room from the shared journal and serves the held ones.
  fx.auto_journal = true;
  fx.assign(p, B);
  REQUIRE(*held_a);
  REQUIRE(*held_b);
  CHECK_FALSE((*held_a)->err);
  CHECK_FALSE((*held_b)->err);
  CHECK(events_of(fx, room) == 4);
  auto s = room_state(fx, B, room);
  CHECK(s.seq == 4);
  CHECK(s.messages.size() == 3);
  CHECK(fx.rt(B).room_stats->live == 1);
}

TEST_CASE("cluster: commands stashed by an entity when its shard moves are re-routed",
          "[cluster]") {
  cluster_fixture fx;
  fx.assign_all(A);
  const auto room = entity_of(room_id{1});
  const auto p = fx.partition_of(room);
  REQUIRE(fx.command(A, room, create(1)));
  fx.advance_time(fx.options().passivate_after + 1s);  // passivated: the next command recovers
  REQUIRE(fx.rt(A).room_stats->live == 0);

  fx.auto_io = false;
  auto stashed = std::make_shared<std::optional<command_reply>>();
  fx.send_command(A, room, say("stashed"), stashed);
  fx.run();
  REQUIRE(fx.io().pending() >= 1);  // recovering, the command stashed
  CHECK_FALSE(*stashed);

  fx.assign(p, B);  // A hands off: the stashed command goes to B, after a short delay
  fx.auto_io = true;
  fx.advance_time(200ms);
  REQUIRE(*stashed);
  CHECK_FALSE((*stashed)->err);
  CHECK(events_of(fx, room) == 2);
  CHECK(room_state(fx, B, room).messages.size() == 1);
  CHECK(fx.rt(A).room_stats->live == 0);
  CHECK(fx.refreshes(A) >= 1);         // `moved` made A look the owners up again
  CHECK(fx.rt(A).gate->running == 0);  // the recovery permit came back
}

TEST_CASE("cluster: an append refused as moved is retried at the new owner, applied once",
          "[cluster]") {
  cluster_fixture fx;
  fx.assign_all(A);
  const auto room = entity_of(room_id{1});
  const auto p = fx.partition_of(room);
  REQUIRE(fx.command(A, room, create(1)));

  fx.auto_journal = false;
  auto out = std::make_shared<std::optional<command_reply>>();
  fx.send_command(A, room, say("once"), out);
  fx.run();
  REQUIRE(fx.journal().pending() == 1);
  // The backend released the shard under the append: it fails `moved`, nothing written.
  REQUIRE(fx.journal().fail_next(hibiki::error{errc::moved, "released"}));
  fx.run();
  CHECK_FALSE(*out);  // not answered: held until the shard has an owner again
  fx.auto_journal = true;
  fx.assign(p, B);
  fx.advance_time(200ms);
  REQUIRE(*out);
  CHECK_FALSE((*out)->err);
  CHECK(events_of(fx, room) == 2);
  CHECK(room_state(fx, B, room).messages.size() == 1);
}

TEST_CASE("cluster: a command for an unowned shard waits for an owner, or gives up", "[cluster]") {
  cluster_fixture fx;
  const auto room = entity_of(room_id{1});
  const auto p = fx.partition_of(room);

  auto served = std::make_shared<std::optional<command_reply>>();
  fx.send_command(A, room, create(1), served);
  fx.run();
  fx.advance_time(1s);
  CHECK_FALSE(*served);
  fx.assign(p, B);
  REQUIRE(*served);
  CHECK_FALSE((*served)->err);

  const auto other = entity_of(room_id{2});
  fx.unassign(fx.partition_of(other));
  auto gave_up = std::make_shared<std::optional<command_reply>>();
  fx.send_command(A, other, create(2), gave_up);
  fx.run();
  fx.advance_time(fx.options().route_wait - 1s);
  CHECK_FALSE(*gave_up);
  fx.advance_time(2s);
  REQUIRE(*gave_up);
  REQUIRE((*gave_up)->err);
  CHECK((*gave_up)->err->code == errc::unavailable);
  CHECK(events_of(fx, other) == 0);
}

TEST_CASE("cluster: a shard that is acquiring holds commands until it serves", "[cluster]") {
  cluster_fixture fx;
  fx.assign_all(A);
  const auto room = entity_of(room_id{1});
  const auto p = fx.partition_of(room);
  fx.set_local(A, p, local_shard::acquiring);
  auto out = std::make_shared<std::optional<command_reply>>();
  fx.send_command(A, room, create(1), out);
  fx.run();
  CHECK_FALSE(*out);
  fx.set_local(A, p, local_shard::serving);
  REQUIRE(*out);
  CHECK_FALSE((*out)->err);
}

TEST_CASE("cluster: a peer that is down is not used until it is back", "[cluster]") {
  cluster_fixture fx;
  fx.assign_all(B);
  const auto room = entity_of(room_id{1});
  fx.peer_down(B);
  auto out = std::make_shared<std::optional<command_reply>>();
  fx.send_command(A, room, create(1), out);
  fx.run();
  CHECK_FALSE(*out);
  CHECK(fx.rt(B).port->commands == 0);
  fx.peer_up(B);
  REQUIRE(*out);
  CHECK_FALSE((*out)->err);
  CHECK(fx.rt(B).port->commands == 1);

  // Down for good: unavailable after route_wait.
  fx.peer_down(B);
  auto lost = std::make_shared<std::optional<command_reply>>();
  fx.send_command(A, room, say("x"), lost);
  fx.run();
  fx.advance_time(fx.options().route_wait + 1s);
  REQUIRE(*lost);
  REQUIRE((*lost)->err);
  CHECK((*lost)->err->code == errc::unavailable);
  CHECK(fx.rt(B).port->commands == 1);
}

TEST_CASE("cluster: a forwarded command to a node that does not serve the shard gets moved",
          "[cluster]") {
  cluster_fixture fx;
  fx.assign_all(A);
  const auto room = entity_of(room_id{1});
  // B forwards nothing it got from another node: it answers moved, A is never asked.
  auto answer =
      fx.ask_command(fx.ctx(B).port, actors::remote_room_command{room, create(1), "a", 1});
  REQUIRE(answer);
  REQUIRE(answer->err);
  CHECK(answer->err->code == errc::moved);
  CHECK(fx.rt(A).port->commands == 0);
  CHECK(events_of(fx, room) == 0);

  // The owner serves the same request.
  auto served =
      fx.ask_command(fx.ctx(A).port, actors::remote_room_command{room, create(1), "b", 1});
  REQUIRE(served);
  CHECK_FALSE(served->err);
  CHECK(events_of(fx, room) == 1);
}

TEST_CASE("cluster: two nodes that both think the other owns a shard do not loop", "[cluster]") {
  cluster_fixture fx;
  const auto room = entity_of(room_id{1});
  const auto p = fx.partition_of(room);
  // A thinks B owns it, B thinks A owns it; nobody serves it.
  fx.table(A).set_assignment({{"b", {p}}});
  fx.table(B).set_assignment({{"a", {p}}});
  fx.notify_all();
  auto out = std::make_shared<std::optional<command_reply>>();
  fx.send_command(A, room, create(1), out);
  fx.run();
  CHECK_FALSE(*out);  // B answered moved, A retries later
  CHECK(fx.rt(B).port->commands == 1);
  CHECK(fx.rt(A).port->commands == 0);  // B never forwarded it back
  CHECK(fx.refreshes(A) >= 1);
  fx.advance_time(fx.options().route_wait + 1s);
  REQUIRE(*out);
  REQUIRE((*out)->err);
  CHECK((*out)->err->code == errc::unavailable);
}

TEST_CASE("cluster: bad input to the port is refused and the port keeps serving", "[cluster]") {
  cluster_fixture fx;
  fx.assign_all(A);
  auto& port = fx.ctx(A).port;
  const auto room = entity_of(room_id{1});
  auto refused = [&](std::optional<command_reply> answer) {
    REQUIRE(answer);
    REQUIRE(answer->err);
    CHECK(answer->err->code == errc::bad_request);
  };
  // A command whose entity is not of the region's kind.
  refused(fx.ask_command(port, actors::remote_room_command{"user-1", create(1), "b", 0}));
  refused(fx.ask_command(port, actors::remote_room_command{"room-", create(1), "b", 0}));
  refused(fx.ask_command(
      port, actors::remote_user_command{"room-1", user::command{user::get_profile{}}, "b", 0}));
  refused(fx.ask_command(
      port, actors::remote_ids_command{"user-1", actors::id_command{actors::peek_ids{}}, "b", 0}));
  // One-way messages with bad payloads are dropped (and counted).
  caf::anon_send(port, actors::remote_push{"{}", {0}, "b", 0});
  caf::anon_send(port, actors::presence_full{"b", {1, 0}});
  caf::anon_send(port, actors::remote_close{{1}, 999, "bye"});
  // The shape of the protocol before typed messages (a node of an older version): refused.
  caf::anon_send(port, caf::atom("h_rpush"), std::string("{}"), std::string("[1]"),
                 std::string("b"), std::uint64_t{0});
  // A hello names the peer that connected; its sender must be that peer's port on another node.
  // Without a sender, or from an actor of this node, it is refused and the glue never hears it.
  int greeted = 0;
  fx.ctx(A).deps.peer_greeted = [&](const std::string&, caf::strong_actor_ptr) { ++greeted; };
  caf::anon_send(port, actors::peer_hello_atom::value, std::string("b"));
  caf::send_as(fx.ctx(A).hub, port, actors::peer_hello_atom::value, std::string("b"));
  // A message the port does not know at all: refused with unexpected_message, and counted.
  auto unknown = fx.ask(port, std::string("hello"));
  REQUIRE(unknown);
  CHECK(unknown->rfind("error:", 0) == 0);
  CHECK(unknown->find("unexpected_message") != std::string::npos);
  fx.run();
  CHECK(fx.rt(A).port->bad_inputs == 11);
  CHECK(greeted == 0);

  // Still serving.
  auto ok = fx.ask_command(port, actors::remote_room_command{room, create(1), "b", 0});
  REQUIRE(ok);
  CHECK_FALSE(ok->err);
  auto status = fx.ask(port, actors::cstatus_atom::value);
  REQUIRE(status);
  CHECK(json::parse(*status)["node"] == "a");
}

TEST_CASE("cluster: replies cross nodes intact", "[cluster]") {
  cluster_fixture fx;
  const auto crossed_before = fx.wire_messages();  // the nodes' presence lists at start
  auto cross = [&](const command_reply& r) {
    auto m = fx.wire_round_trip(caf::make_message(actors::to_wire(r)));
    REQUIRE(m.match_elements<actors::remote_reply>());
    return actors::from_wire(m.get_as<actors::remote_reply>(0));
  };
  command_reply ok = command_reply::ok({{"seq", 3}, {"name", "x"}});
  ok.then = {"frame1", "frame2"};
  auto back = cross(ok);
  CHECK_FALSE(back.err);
  CHECK(back.fields == ok.fields);
  CHECK(back.then == ok.then);
  auto moved = cross(command_reply::fail(errc::moved, "m"));
  REQUIRE(moved.err);
  CHECK(moved.err->code == errc::moved);  // not its wire name: the peer must re-route
  CHECK(moved.err->message == "m");
  auto empty = cross(command_reply::ok());
  CHECK_FALSE(empty.err);
  CHECK(empty.fields.is_null());
  // What a peer may send that is not a reply: an `internal` error, never a success.
  std::vector<actors::remote_reply> bad(5);
  bad[0].code = 200;                                             // no such code
  bad[1].message = "ok with a message";                          // ok carries no message
  bad[2].fields = {0xc1};                                        // not MessagePack
  bad[3].fields = nlohmann::json::to_msgpack(json::array({1}));  // not an object
  bad[4].fields = {0x92, 0x01};                                  // truncated
  for (const auto& b : bad) {
    auto r = actors::from_wire(b);
    REQUIRE(r.err);
    CHECK(r.err->code == errc::internal);
  }
  CHECK(fx.wire_messages() == crossed_before + 3);
}

TEST_CASE("cluster: session reads wait for the index of the shards they read", "[cluster]") {
  cluster_fixture fx;
  fx.assign_all(A);
  auto alice = fx.signup(A, "alice");
  REQUIRE(alice);
  auto bob = fx.signup(A, "bob");
  REQUIRE(bob);
  auto& control = fx.shard_control(B);
  control.barriers.clear();
  auto c = login(fx, B, alice->token);
  REQUIRE(control.barriers.size() == 1);  // auth: every shard
  CHECK(control.barriers[0].empty());

  fx.send_text(c.session, json{{"id", 2},
                               {"op", "create_room"},
                               {"name", "r"},
                               {"members", json::array({bob->account.value})}}
                              .dump());
  fx.run();
  REQUIRE(reply(c, 2)["ok"] == true);
  auto room_no = reply(c, 2)["room_id"].get<std::uint64_t>();
  fx.send_text(c.session, json{{"id", 3},
                               {"op", "send_message"},
                               {"room_id", room_no},
                               {"body", "hi"},
                               {"client_msg_id", "m1"}}
                              .dump());
  fx.run();
  REQUIRE(reply(c, 3)["ok"] == true);
  control.barriers.clear();
  // Reads that return message objects name their authors as named now: the accounts rows are
  // written on the authors' shards, so they wait for every shard, not the room's alone (a rename
  // acknowledged through another node showed the old name).
  fx.send_text(c.session, json{{"id", 4}, {"op", "history"}, {"room_id", room_no}}.dump());
  fx.send_text(c.session, json{{"id", 5}, {"op", "list_rooms"}}.dump());
  fx.send_text(c.session, json{{"id", 6}, {"op", "sync"}, {"since", json::object()}}.dump());
  fx.send_text(
      c.session,
      json{{"id", 7}, {"op", "get_message"}, {"room_id", room_no}, {"message_id", "1"}}.dump());
  fx.run();
  for (int id = 4; id <= 7; ++id) CHECK(reply(c, id)["ok"] == true);
  REQUIRE(control.barriers.size() == 4);
  for (const auto& b : control.barriers) CHECK(b.empty());

  // fetch_messages (REST's message list) reads after the account's position: every shard too.
  control.barriers.clear();
  fx.send_text(c.session, json{{"id", 8}, {"op", "fetch_messages"}, {"room_id", room_no}}.dump());
  fx.run();
  REQUIRE(reply(c, 8)["ok"] == true);
  CHECK(reply(c, 8)["messages"].size() == 1);
  REQUIRE(control.barriers.size() == 1);
  CHECK(control.barriers[0].empty());

  // get_members: the room answers from its state, then the names wait for the members' shards.
  control.barriers.clear();
  fx.send_text(c.session, json{{"id", 9}, {"op", "get_members"}, {"room_id", room_no}}.dump());
  fx.run();
  REQUIRE(reply(c, 9)["ok"] == true);
  CHECK(reply(c, 9)["members"].size() == 2);
  std::vector<std::int32_t> shards{fx.partition_of(entity_of(alice->account)),
                                   fx.partition_of(entity_of(bob->account))};
  std::sort(shards.begin(), shards.end());
  shards.erase(std::unique(shards.begin(), shards.end()), shards.end());
  REQUIRE(control.barriers.size() == 1);
  CHECK(control.barriers[0] == shards);

  // accept_contact answers with the requester's profile, read after the requester's shard.
  auto b = login(fx, B, bob->token);
  fx.send_text(
      b.session,
      json{{"id", 20}, {"op", "request_contact"}, {"account_id", alice->account.value}}.dump());
  fx.run();
  REQUIRE(reply(b, 20)["ok"] == true);
  control.barriers.clear();
  fx.send_text(
      c.session,
      json{{"id", 21}, {"op", "accept_contact"}, {"request_id", bob->account.value}}.dump());
  fx.run();
  REQUIRE(reply(c, 21)["ok"] == true);
  CHECK(reply(c, 21)["name"] == "bob");
  REQUIRE(control.barriers.size() == 1);
  CHECK(control.barriers[0] == std::vector<std::int32_t>{fx.partition_of(entity_of(bob->account))});

  // The index cannot catch up: the read fails unavailable instead of answering stale data.
  control.answer = hibiki::error{errc::unavailable, "lagging"};
  fx.send_text(c.session, json{{"id", 10}, {"op", "list_rooms"}}.dump());
  fx.send_text(c.session, json{{"id", 11}, {"op", "get_members"}, {"room_id", room_no}}.dump());
  fx.run();
  for (int id : {10, 11}) {
    CHECK(reply(c, id)["ok"] == false);
    CHECK(reply(c, id)["error"]["code"] == "unavailable");
  }
}

TEST_CASE("cluster: entities handed off while waiting for a recovery permit give it back",
          "[cluster]") {
  auto options = hibiki::testkit::test_options();
  options.max_concurrent_recoveries = 1;
  cluster_fixture fx({"a", "b"}, 8, options);
  fx.assign_all(A);
  fx.auto_io = false;
  std::vector<std::shared_ptr<std::optional<command_reply>>> outs;
  for (std::uint64_t r = 1; r <= 3; ++r) {
    outs.push_back(std::make_shared<std::optional<command_reply>>());
    fx.send_command(A, entity_of(room_id{r}), create(r), outs.back());
  }
  fx.run();
  REQUIRE(fx.rt(A).gate->running == 1);  // one recovering, two waiting for a permit
  REQUIRE(fx.rt(A).gate->waiting == 2);
  fx.assign_all(B);
  fx.auto_io = true;
  fx.advance_time(200ms);
  for (auto& out : outs) {
    REQUIRE(*out);
    CHECK_FALSE((*out)->err);
  }
  CHECK(fx.rt(A).gate->running == 0);
  CHECK(fx.rt(A).gate->waiting == 0);
  CHECK(fx.rt(A).room_stats->live == 0);
  CHECK(fx.rt(B).room_stats->live == 3);
  for (std::uint64_t r = 1; r <= 3; ++r) CHECK(events_of(fx, entity_of(room_id{r})) == 1);
}

TEST_CASE(
    "cluster: a rename reaches the connections on every node once; the renamed account's "
    "sessions there take the new name",
    "[cluster][rename]") {
  cluster_fixture fx({"a", "b", "c"});
  fx.assign_all(A);
  auto alice = fx.signup(A, "alice");
  auto bob = fx.signup(A, "bob");
  auto carol = fx.signup(A, "carol");
  REQUIRE(alice);
  REQUIRE(bob);
  REQUIRE(carol);
  // alice renames through C; her other connection is on B, with bob's; carol (a stranger) on C.
  auto a_c = login(fx, C, alice->token);
  auto a_b = login(fx, B, alice->token);
  auto b_b = login(fx, B, bob->token);
  auto c_c = login(fx, C, carol->token);
  fx.send_text(
      a_b.session,
      json{{"id", 2}, {"op", "create_room"}, {"name", "r"}, {"members", {bob->account.value}}}
          .dump());
  fx.run();
  auto room_no = reply(a_b, 2)["room_id"].get<std::uint64_t>();
  const auto b_pushes = fx.rt(B).port->pushes.load();

  fx.send_text(a_c.session, json{{"id", 3}, {"op", "update_profile"}, {"name", "Alice L."}}.dump());
  fx.run();
  REQUIRE(reply(a_c, 3)["ok"] == true);
  for (auto* c : {&a_c, &a_b, &b_b}) CHECK(count_events(*c, "account_updated") == 1);
  CHECK(count_events(c_c, "account_updated") == 0);
  CHECK(fx.rt(B).port->pushes == b_pushes + 1);  // one rrename for B's two connections

  // Her connection on B names her messages with the new name.
  fx.send_text(a_b.session, json{{"id", 4},
                                 {"op", "send_message"},
                                 {"room_id", room_no},
                                 {"body", "hi"},
                                 {"client_msg_id", "m1"}}
                                .dump());
  fx.run();
  REQUIRE(reply(a_b, 4)["ok"] == true);
  json pushed;
  for (const auto& f : b_b.link->frames())
    if (f.value("ev", "") == "message_created") pushed = f;
  CHECK(pushed["message"]["account"]["name"] == "Alice L.");

  // A malformed remote_rename is refused by the port, which keeps serving.
  const auto bad = fx.rt(B).port->bad_inputs.load();
  caf::anon_send(fx.ctx(B).port, actors::remote_rename{"{}", {0}, 1, "n"});
  caf::anon_send(fx.ctx(B).port, actors::remote_rename{"{}", {2}, 0, "n"});
  fx.run();
  CHECK(fx.rt(B).port->bad_inputs == bad + 2);
  CHECK(count_events(b_b, "account_updated") == 1);
}
