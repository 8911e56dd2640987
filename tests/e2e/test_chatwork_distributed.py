"""The Chatwork features (room types, room management, people, contacts, tasks, the message
extensions; docs/protocol.md and docs/rest-api.md) on the Kafka journal and across a three-node
cluster, over the WebSocket and REST, then after a restart from what the topic holds.

One scenario (`exercise`) runs in two places:

  - test_features_on_the_kafka_journal: one hibikid on the shared test broker (the `kafka`
    fixture) with entities passivated after a second, at most two alive per region and a snapshot
    every 3 events, so many commands find their room or user recovered from a snapshot (room
    snapshot v2, user snapshot v3) plus events read back from the topic (/metrics shows the
    passivations and recoveries). Then a restart on the same
    data dir, and one on a WIPED data dir: the index, the snapshots and every read model
    (account_tasks, contacts, contact_requests, ...) come back from the topic alone.
  - test_features_across_three_nodes: three nodes on one topic. Every account's WebSocket is on a
    node that does not own its user entity, the accounts of a contact pair are owned by different
    nodes, and every REST call about a room goes to a node that does not own the room, so commands
    are forwarded and reads are served from another node's index. Then the node owning the group
    room is killed with SIGKILL (its shards move; the others recover its entities from the topic;
    writes go on there), starts again on its data dir and takes shards back: everything is still
    there, through every node, and on the topic every entity's seqs run 1, 2, 3... (nothing
    forwarded was appended twice).

Renames are pushed (`account_updated`) to connections on other nodes than the one that owns the
renamed account, and that account's connection elsewhere sends under the new name.

Bad inputs (not a member, read-only, not admin, the last-admin rule, not found) are tried across
nodes too; the server keeps serving after each.
"""

import re
import shutil
import time
import uuid

import pytest

# `bootstrap` is a fixture (the shared broker's address), used by name.
from test_cluster import (NODES, PARTITIONS, REPLY_TIMEOUT, Cluster, bootstrap,  # noqa: F401
                          check_murmur2, check_topic_seqs, connect, partition_of, signup,
                          started)
from test_rest import Rest

# Reads after a shard moved may be answered `unavailable` for a moment: a client retries those.
RETRY_TIMEOUT = 120.0
# Forces recovery from snapshots: entities passivated after a second, two alive at most, a
# snapshot every 3 events.
CHURN = ("--max-live-entities=2", "--passivate-after=1", "--snapshot-every=3")


# ---- where each account talks ------------------------------------------------------------------


class Place:
    """The servers of a test and how to pick one. With one server every call goes there. With a
    cluster, `ws(account, ...)` connects to a node that does not own the account's user entity
    and `rest(token, entity, ...)` talks to one that owns none of the given entities."""

    def __init__(self, servers, shard_owner=None):
        self.servers = list(servers)
        self.shard_owner = shard_owner  # partition -> node name, or None for one server
        self.turn = 0

    @property
    def clustered(self):
        return self.shard_owner is not None

    def owner(self, entity):
        return self.shard_owner[partition_of(entity)] if self.clustered else None

    def away_from(self, *entities):
        if not self.clustered:
            return list(self.servers)
        owners = {self.owner(e) for e in entities}
        away = [s for s in self.servers if s.name not in owners]
        assert away, f"every node owns one of {entities}"
        return away

    def pick(self, *entities, avoid=None):
        """A server owning none of `entities` (and, when possible, not `avoid`), in turns."""
        candidates = self.away_from(*entities)
        preferred = [s for s in candidates if s is not avoid] or candidates
        self.turn += 1
        return preferred[self.turn % len(preferred)]

    def signup(self, name):
        if self.clustered:
            return signup(ClusterView(self.servers), name)
        return self.servers[0].signup(name)

    def connect(self, server, token):
        """An authenticated WebSocket on `server` (on a cluster, retried while `unavailable`)."""
        c = connect(server, token) if self.clustered else server.connect(token)
        c.node = server
        return c

    def ws(self, account_id, token, avoid=None):
        c = self.connect(self.pick(f"user-{account_id}", avoid=avoid), token)
        assert c.account_id == account_id
        return c

    def rest(self, token, *entities, avoid=None):
        return Rest(self.pick(*entities, avoid=avoid), token)


class ClusterView:
    """What test_cluster.signup needs of a cluster: the nodes that are up."""

    def __init__(self, nodes):
        self.nodes = nodes

    def up(self):
        return [n for n in self.nodes if n.proc is not None and n.proc.poll() is None]


# Ops that change nothing: retried while `unavailable` (a read barrier that timed out on this
# busy machine). Writes are never retried here: an `unavailable` one fails the test.
READS = {"me", "get_profiles", "contacts", "incoming_requests", "list_rooms", "get_room",
         "get_members", "history", "get_message", "list_tasks", "get_task", "my_tasks",
         "my_status", "ping"}


def ok(client, op, **fields):
    if op in READS:
        return ok_retrying(client, op, **fields)
    return client.ok(op, timeout=REPLY_TIMEOUT, **fields)


def fail(client, op, code, **fields):
    """A request that must fail with `code` (a read answered `unavailable` is asked again)."""
    deadline = time.monotonic() + RETRY_TIMEOUT
    while True:
        r = client.request(op, timeout=REPLY_TIMEOUT, **fields)
        if not (op in READS and r.get("error", {}).get("code") == "unavailable"):
            break
        assert time.monotonic() < deadline, f"{op} {fields} kept failing: {r}"
        time.sleep(0.3)
    assert r.get("ok") is False and r["error"].get("code") == code, (op, fields, code, r)
    assert isinstance(r["error"].get("message"), str), r
    return r


def ok_retrying(client, op, **fields):
    """A request that must succeed, retried while the answer is `unavailable` (a shard that just
    moved) or `rate_limited`. Only for reads and for writes that are idempotent."""
    deadline = time.monotonic() + RETRY_TIMEOUT
    while True:
        r = client.request(op, timeout=REPLY_TIMEOUT, **fields)
        if r.get("ok") is True:
            return r
        assert r["error"]["code"] in ("unavailable", "rate_limited"), (op, fields, r)
        assert time.monotonic() < deadline, f"{op} {fields} kept failing: {r}"
        time.sleep(0.3)


def rest_retrying(rest, method, path, status=200, **kw):
    """A REST call that must answer `status`, retried while it answers 503 or 429 (GET and PUT
    only: the calls used here with PUT are idempotent; a POST is tried once)."""
    deadline = time.monotonic() + RETRY_TIMEOUT
    while True:
        st, body, _ = rest.call(method, path, **kw)
        if st == status:
            return body
        assert method in ("GET", "PUT") and st in (503, 429), (
            getattr(rest.server, "name", ""), method, path, st, body)
        assert time.monotonic() < deadline, f"{method} {path} kept failing: {st} {body}"
        time.sleep(0.3)


def in_room(room):
    return lambda e: e.get("room_id") == room


def details(client):
    return {x["room_id"]: x for x in ok_retrying(client, "list_rooms", details=True)["rooms"]}


# ---- the scenario -------------------------------------------------------------------------------


class People:
    """The accounts of the scenario: their ids, tokens and WebSocket clients."""

    def __init__(self):
        self.ids = {}
        self.tokens = {}
        self.ws = {}


def sign_up_people(place):
    """alice and bob (their user entities owned by different nodes), carol, dave and erin."""
    p = People()
    pool = [place.signup(f"person{i}") for i in range(6)]
    first = pool[0]
    second = next((a for a in pool[1:] if not place.clustered
                   or place.owner(f"user-{a[0]}") != place.owner(f"user-{first[0]}")), None)
    assert second is not None, "six accounts all owned by one node"
    rest = [a for a in pool[1:] if a is not second]
    for name, (account, token) in zip(("alice", "bob", "carol", "dave", "erin"),
                                      [first, second] + rest):
        p.ids[name], p.tokens[name] = account, token
    if place.clustered:
        assert place.owner(f"user-{p.ids['alice']}") != place.owner(f"user-{p.ids['bob']}")
    avoid = None
    for name in ("alice", "bob", "carol", "dave", "erin"):
        p.ws[name] = place.ws(p.ids[name], p.tokens[name], avoid=avoid)
        avoid = p.ws[name].node
    # The names, given over the connection (a rename is an event of the user entity, forwarded
    # when another node owns it).
    for name in p.ws:
        ok(p.ws[name], "update_profile", name=name)
    return p


def group_room_away_from(place, creator, name, members, spare):
    """A group room made by `creator` whose entity another node than the creator's owns. The
    rooms made on the way (owned by the creator's node) are added to `spare`."""
    for _ in range(30):
        room = ok(creator, "create_room", name=name, members=members)["room_id"]
        if not place.clustered or place.owner(f"room-{room}") != creator.node.name:
            return room
        spare.append(room)
    raise AssertionError("30 rooms all owned by the creator's node")


def exercise(place):
    """Every feature once, with its bad inputs. Returns what `verify` checks afterwards."""
    p = sign_up_people(place)
    ids, ws = p.ids, p.ws
    alice, bob, carol, dave, erin = (ws[n] for n in ("alice", "bob", "carol", "dave", "erin"))
    state = {"people": p}

    # ---- my rooms and profiles ------------------------------------------------------------------
    me = ok(alice, "me")
    my_room = me["room_id"]
    assert type(my_room) is int and my_room > 0, me
    assert details(alice)[my_room]["type"] == "my"
    ok(alice, "send_message", room_id=my_room, body="note to self", client_msg_id="my1")
    fail(bob, "history", "forbidden", room_id=my_room)
    fail(alice, "add_members", "forbidden", room_id=my_room, account_ids=[ids["bob"]])
    state["my_room"] = my_room
    bob_me = rest_retrying(place.rest(p.tokens["bob"], f"user-{ids['bob']}"), "GET", "/me")
    assert bob_me["account_id"] == ids["bob"] and bob_me["name"] == "bob", bob_me
    assert details(bob)[bob_me["room_id"]]["type"] == "my"

    r = ok(alice, "update_profile", name="Alice L.", organization_name="Org A")
    assert r["name"] == "Alice L." and r["room_id"] == my_room, r
    # Read back through a node that neither took the rename nor owns alice.
    got = rest_retrying(place.rest(p.tokens["alice"], f"user-{ids['alice']}", avoid=alice.node),
                        "GET", "/me")
    assert (got["name"], got["organization_name"], got["room_id"]) == (
        "Alice L.", "Org A", my_room), got

    # ---- contacts: alice and bob are owned by different nodes -----------------------------------
    ok(alice, "request_contact", account_id=ids["bob"], message="hi bob")
    e = bob.next_event("contact_request")
    assert (e["request_id"], e["message"]) == (ids["alice"], "hi bob"), e
    reqs = ok_retrying(bob, "incoming_requests")["requests"]
    assert [(q["request_id"], q["name"], q["organization_name"]) for q in reqs] == [
        (ids["alice"], "Alice L.", "Org A")], reqs
    pair = f"user-{min(ids['alice'], ids['bob'])}"
    bob_rest = place.rest(p.tokens["bob"], pair, avoid=bob.node)
    listed = rest_retrying(bob_rest, "GET", "/incoming_requests")
    assert [(q["account_id"], q["name"]) for q in listed] == [(ids["alice"], "Alice L.")], listed
    # Bad inputs across nodes: no request from carol, nobody 999999, oneself, asking back.
    assert bob_rest.error("PUT", f"/incoming_requests/{ids['carol']}", 404)
    fail(alice, "request_contact", "not_found", account_id=999999)
    fail(alice, "request_contact", "bad_request", account_id=ids["alice"])
    fail(bob, "request_contact", "conflict", account_id=ids["alice"])  # alice already asked
    accepted = rest_retrying(bob_rest, "PUT", f"/incoming_requests/{ids['alice']}")
    direct = accepted["room_id"]
    assert accepted["account_id"] == ids["alice"] and accepted["name"] == "Alice L.", accepted
    added = alice.next_event("contact_added")
    assert (added["account_id"], added["room_id"]) == (ids["bob"], direct), added
    assert rest_retrying(bob_rest, "GET", "/incoming_requests", status=200) == []
    for me_, other in ((alice, "bob"), (bob, "alice")):
        contacts = ok_retrying(me_, "contacts")["contacts"]
        assert [(c["account_id"], c["room_id"]) for c in contacts] == [(ids[other], direct)]
        assert details(me_)[direct]["type"] == "direct"
    rest_contacts = rest_retrying(place.rest(p.tokens["alice"], pair), "GET", "/contacts")
    assert [(c["account_id"], c["name"], c["room_id"]) for c in rest_contacts] == [
        (ids["bob"], "bob", direct)], rest_contacts
    # Accepting again names the same room; the direct room keeps its two members.
    assert rest_retrying(bob_rest, "PUT", f"/incoming_requests/{ids['alice']}")["room_id"] == direct
    fail(alice, "request_contact", "conflict", account_id=ids["bob"])
    ok(alice, "send_message", room_id=direct, body="hello bob", client_msg_id="d1")
    m = bob.next_event("message_created", pred=in_room(direct))["message"]
    assert m["account"] == {"account_id": ids["alice"], "name": "Alice L."}, m
    # self_unread on a forwarded send: alice's own message leaves the room unread for her.
    ok(alice, "send_message", room_id=direct, body="for later", client_msg_id="d2",
       self_unread=True)
    assert details(alice)[direct]["unread_num"] == 1
    fail(alice, "add_members", "forbidden", room_id=direct, account_ids=[ids["carol"]])
    fail(bob, "update_room", "forbidden", room_id=direct, name="ours")
    fail(bob, "delete_room", "forbidden", room_id=direct)
    state["direct"] = direct

    # erin asks carol, who rejects over REST; dave's request to alice stays pending.
    ok(erin, "request_contact", account_id=ids["carol"])
    carol_rest = place.rest(p.tokens["carol"], f"user-{min(ids['carol'], ids['erin'])}")
    assert [q["account_id"] for q in rest_retrying(carol_rest, "GET", "/incoming_requests")] == [
        ids["erin"]]
    st, body, _ = carol_rest.call("DELETE", f"/incoming_requests/{ids['erin']}")
    assert st == 204 and body is None, (st, body)
    assert ok_retrying(carol, "incoming_requests")["requests"] == []
    assert ok_retrying(erin, "contacts")["contacts"] == []
    fail(carol, "accept_contact", "not_found", request_id=ids["erin"])
    assert ok_retrying(carol, "contacts")["contacts"] == []
    ok(dave, "request_contact", account_id=ids["alice"], message="pending")
    # After the rejection carol asks erin, who accepts from three connections (on every node)
    # at once: one direct room.
    ok(carol, "request_contact", account_id=ids["erin"])
    others = ([s for s in place.servers if s is not erin.node] or place.servers) * 2
    erins = [erin] + [place.connect(s, p.tokens["erin"]) for s in others[:2]]
    sent = [(c, c.send("accept_contact", request_id=ids["carol"])) for c in erins]
    replies = [c.reply(rid, timeout=REPLY_TIMEOUT) for c, rid in sent]
    assert all(r["ok"] is True for r in replies), replies
    rooms = {r["room_id"] for r in replies}
    assert len(rooms) == 1, rooms
    state["carol_erin"] = rooms.pop()
    assert [c["room_id"] for c in ok_retrying(carol, "contacts")["contacts"]] == [
        state["carol_erin"]]
    assert [x for x in details(erin).values() if x["type"] == "direct"] == [
        details(erin)[state["carol_erin"]]]

    # dave and erin ask each other at once, from two nodes: the pair's owner takes one.
    ids_sent = [(c, c.send("request_contact", account_id=other)) for c, other in
                ((dave, ids["erin"]), (erin, ids["dave"]))]
    answers = [c.reply(rid, timeout=REPLY_TIMEOUT) for c, rid in ids_sent]
    assert sorted(str(a.get("ok")) + a.get("error", {}).get("code", "") for a in answers) == [
        "Falseconflict", "True"], answers

    # ---- a group room owned by another node than its creator's ----------------------------------
    spare = state["spare_rooms"] = []
    room = group_room_away_from(place, alice, "team", [ids["bob"], ids["carol"]], spare)
    state["room"] = room
    for c in (bob, carol):
        c.next_event("room_created", pred=in_room(room))
    info = ok(bob, "get_room", room_id=room)["room"]
    assert (info["name"], info["type"], info["role"], info["member_num"]) == (
        "team", "group", "member", 3), info
    fail(dave, "get_room", "forbidden", room_id=room)
    fail(dave, "get_room", "not_found", room_id=987654)
    # Profiles of known accounts only: carol shares the room with bob, not with dave.
    got = ok_retrying(carol, "get_profiles", account_ids=[ids["bob"], ids["dave"]])["profiles"]
    assert [x["account_id"] for x in got] == [ids["bob"]], got

    r = ok(alice, "update_room", room_id=room, name="team 2", description="the team",
           icon_preset="beer")
    for c in (bob, carol):
        e = c.next_event("room_updated", pred=in_room(room))
        assert (e["name"], e["description"], e["icon_preset"], e["seq"]) == (
            "team 2", "the team", "beer", r["seq"]), e
    fail(bob, "update_room", "forbidden", room_id=room, name="mine")
    fail(dave, "update_room", "forbidden", room_id=room, name="mine")
    fail(alice, "update_room", "not_found", room_id=987654, name="x")

    r = ok(alice, "set_members", room_id=room, members_admin_ids=[ids["alice"]],
           members_member_ids=[ids["bob"]], members_readonly_ids=[ids["carol"]])
    assert (r["admin"], r["member"], r["readonly"]) == (
        [ids["alice"]], [ids["bob"]], [ids["carol"]]), r
    members = ok(carol, "get_members", room_id=room)["members"]
    assert members == sorted([
        {"account_id": ids["alice"], "role": "admin", "name": "Alice L."},
        {"account_id": ids["bob"], "role": "member", "name": "bob"},
        {"account_id": ids["carol"], "role": "readonly", "name": "carol"},
    ], key=lambda x: x["account_id"]), members
    # The last-admin rule, not admin, not a member, nobody.
    fail(alice, "leave_room", "conflict", room_id=room)
    fail(alice, "add_members", "conflict", room_id=room, account_ids=[ids["alice"]],
         role="member")
    fail(alice, "set_members", "bad_request", room_id=room, members_member_ids=[ids["alice"]])
    fail(bob, "set_members", "forbidden", room_id=room, members_admin_ids=[ids["bob"]])
    fail(dave, "set_members", "forbidden", room_id=room, members_admin_ids=[ids["dave"]])
    fail(dave, "get_members", "forbidden", room_id=room)
    fail(alice, "set_members", "not_found", room_id=room, members_admin_ids=[987654321])

    # ---- messages: REST posts on nodes that do not own the room ---------------------------------
    bob_room_rest = place.rest(p.tokens["bob"], f"room-{room}", avoid=bob.node)
    m1 = rest_retrying(bob_room_rest, "POST", f"/rooms/{room}/messages",
                       form={"body": "[To:%d] hello" % ids["alice"]})["message_id"]
    pushed = alice.next_event("message_created", pred=in_room(room))["message"]
    assert (pushed["message_id"], pushed["account"]["name"]) == (m1, "bob"), pushed
    carol_room_rest = place.rest(p.tokens["carol"], f"room-{room}")
    carol_room_rest.error("POST", f"/rooms/{room}/messages", 403, form={"body": "read-only"})
    place.rest(p.tokens["dave"], f"room-{room}").error("POST", f"/rooms/{room}/messages", 403,
                                                        form={"body": "outsider"})
    m2 = ok(alice, "send_message", room_id=room, body="from alice",
            client_msg_id="a1")["message_id"]
    pushed = bob.next_event("message_created", pred=lambda e: e["room_id"] == room and e[
        "message"]["message_id"] == m2)["message"]
    assert pushed["account"] == {"account_id": ids["alice"], "name": "Alice L."}, pushed

    got = ok_retrying(carol, "get_message", room_id=room, message_id=m1)["message"]
    assert (got["body"], got["account"]["name"]) == ("[To:%d] hello" % ids["alice"], "bob"), got
    fail(carol, "get_message", "not_found", room_id=room, message_id="99")
    fail(dave, "get_message", "forbidden", room_id=room, message_id=m1)
    one = rest_retrying(carol_room_rest, "GET", f"/rooms/{room}/messages/{m2}")
    assert one["account"]["name"] == "Alice L." and one["body"] == "from alice", one
    carol_room_rest.error("GET", f"/rooms/{room}/messages/99", 404)
    carol_room_rest.error("GET", "/rooms/987654/messages", 404, query={"force": "1"})
    carol_room_rest.error("GET", f"/rooms/{room}/messages", 401, token="0" * 64)
    place.rest(p.tokens["dave"], f"room-{room}").error("GET", f"/rooms/{room}/messages/{m1}", 403)

    # An edit over REST on a node that does not own the room, pushed to the others.
    edit_rest = place.rest(p.tokens["alice"], f"room-{room}", avoid=alice.node)
    assert rest_retrying(edit_rest, "PUT", f"/rooms/{room}/messages/{m2}",
                         form={"body": "from alice, edited"}) == {"message_id": m2}
    e = bob.next_event("message_updated", pred=in_room(room))
    assert (e["message"]["message_id"], e["message"]["body"]) == (m2, "from alice, edited"), e
    edit_rest.error("PUT", f"/rooms/{room}/messages/{m1}", 403, form={"body": "not mine"})

    # A rename on bob's user entity shows in his old messages, read through other nodes.
    ok(bob, "update_profile", name="Bob B.")
    hist = ok_retrying(carol, "history", room_id=room)["messages"]
    assert [(x["message_id"], x["account"]["name"]) for x in hist] == [
        (m1, "Bob B."), (m2, "Alice L.")], hist
    one = rest_retrying(place.rest(p.tokens["alice"], f"room-{room}", f"user-{ids['bob']}"),
                        "GET", f"/rooms/{room}/messages/{m1}")
    assert one["account"]["account_id"] == ids["bob"] and one["account"]["name"] == "Bob B.", one
    assert one["account"]["avatar_image_url"].endswith("/img/avatar.svg"), one
    members = ok(alice, "get_members", room_id=room)["members"]
    assert sorted(x["name"] for x in members) == ["Alice L.", "Bob B.", "carol"], members
    # Read-your-writes of a rename, through a node that does not own bob's user entity (the
    # room's owner when it can be, which has no room shard to wait for): his next reads name him
    # as renamed, every time (they showed the old name about one time in three).
    readers = place.away_from(f"user-{ids['bob']}")
    reader = next((s for s in readers if place.owner(f"room-{room}") == getattr(s, "name", None)),
                  readers[0])
    bob_there = place.connect(reader, p.tokens["bob"])
    for i in range(10):
        ok(bob, "update_profile", name=f"Bob {i}")
        hist = ok(bob_there, "history", room_id=room)["messages"]
        assert hist[0]["account"]["name"] == f"Bob {i}", (i, hist[0])
        got = ok(bob_there, "get_message", room_id=room, message_id=m1)["message"]
        assert got["account"]["name"] == f"Bob {i}", (i, got)
        named = {x["account_id"]: x["name"] for x in
                 ok(bob_there, "get_members", room_id=room)["members"]}
        assert named[ids["bob"]] == f"Bob {i}", (i, named)
        # Each rename is pushed live: to bob's connection on a node that does not own his user
        # entity (so the push crossed nodes), and to carol, who shares the room.
        for c in (bob_there, carol):
            c.next_event("account_updated", timeout=REPLY_TIMEOUT,
                         pred=lambda e, i=i: e["account"] == {"account_id": ids["bob"],
                                                              "name": f"Bob {i}"})
    ok(bob, "update_profile", name="Bob B.")
    bob_there.next_event("account_updated", timeout=REPLY_TIMEOUT,
                         pred=lambda e: e["account"]["name"] == "Bob B.")
    # That connection never renamed itself, yet its messages carry the new name (in his my
    # room, so the group room's history stays as verify expects it).
    bob_my = ok(bob_there, "me")["room_id"]
    ok(bob_there, "send_message", room_id=bob_my, body="renamed?", client_msg_id="bn1")
    m = bob.next_event("message_created", timeout=REPLY_TIMEOUT, pred=in_room(bob_my))["message"]
    assert m["account"] == {"account_id": ids["bob"], "name": "Bob B."}, m

    # mark_unread moves carol's cursor back; her counts agree over REST on another node.
    ok(carol, "mark_read", room_id=room, message_id=m2)
    carol_elsewhere = place.pick(avoid=carol.node)
    carol2 = place.connect(carol_elsewhere, p.tokens["carol"])
    r = ok(carol, "mark_unread", room_id=room, message_id=m1)
    assert (r["unread_num"], r["mention_num"]) == (2, 0), r
    # Her connection on another node learns the new counts.
    e = carol2.next_event("read", pred=lambda e: e.get("room_id") == room and e["unread_num"] == 2)
    assert e["message_id"] == m1, e
    assert details(carol)[room]["unread_num"] == 2
    status = rest_retrying(place.rest(p.tokens["carol"], f"room-{room}", avoid=carol.node),
                           "GET", "/my/status")
    assert (status["unread_room_num"], status["unread_num"]) == (1, 2), status
    fail(dave, "mark_unread", "forbidden", room_id=room, message_id=m1)
    fail(carol, "mark_unread", "not_found", room_id=room, message_id="99")
    fail(carol, "mark_unread", "not_found", room_id=987654, message_id="1")

    # ---- tasks --------------------------------------------------------------------------------
    r = ok(alice, "add_task", room_id=room, body="write the spec",
           to_ids=[ids["bob"], ids["alice"]], limit=1900000000)
    assert r["task_ids"] == [1, 2], r
    task_message = r["message_id"]  # adding tasks posts a message that shows them
    for task in (1, 2):
        e = bob.next_event("task_added", pred=in_room(room))
        assert e["task"]["task_id"] == task and e["task"]["body"] == "write the spec", e
    fail(carol, "add_task", "forbidden", room_id=room, body="x", to_ids=[ids["bob"]])
    fail(dave, "add_task", "forbidden", room_id=room, body="x", to_ids=[ids["bob"]])
    fail(dave, "list_tasks", "forbidden", room_id=room)
    fail(alice, "add_task", "bad_request", room_id=room, body="x", to_ids=[ids["dave"]])
    fail(alice, "add_task", "not_found", room_id=987654, body="x", to_ids=[ids["bob"]])
    fail(alice, "get_task", "not_found", room_id=room, task_id=99)

    mine = ok_retrying(bob, "my_tasks")["tasks"]
    assert [(t["task_id"], t["room"]) for t in mine] == [
        (1, {"room_id": room, "name": "team 2", "icon_preset": "beer"})]
    assert ok_retrying(bob, "my_status")["mytask_num"] == 1
    bob_any_rest = place.rest(p.tokens["bob"], f"room-{room}", f"user-{ids['bob']}")
    listed = {x["room_id"]: x for x in rest_retrying(bob_any_rest, "GET", "/rooms")}
    assert (listed[room]["task_num"], listed[room]["mytask_num"]) == (2, 1), listed[room]
    assert rest_retrying(bob_any_rest, "GET", "/my/status")["mytask_num"] == 1

    # Done by the assignee, open again by the creator, done again by the assignee.
    ok(bob, "set_task_status", room_id=room, task_id=1, status="done")
    e = alice.next_event("task_updated", pred=in_room(room))
    assert (e["task"]["task_id"], e["task"]["status"]) == (1, "done"), e
    assert ok_retrying(bob, "my_status")["mytask_num"] == 0
    ok(alice, "set_task_status", room_id=room, task_id=1, status="open")
    assert [t["task_id"] for t in ok_retrying(bob, "my_tasks", status="open")["tasks"]] == [1]
    fail(carol, "set_task_status", "forbidden", room_id=room, task_id=1, status="done")
    fail(dave, "set_task_status", "forbidden", room_id=room, task_id=1, status="done")
    ok(bob, "set_task_status", room_id=room, task_id=1, status="done")
    assert [t["task_id"] for t in ok(carol, "list_tasks", room_id=room)["tasks"]] == [1, 2]
    got = ok(carol, "list_tasks", room_id=room, account_id=ids["bob"])["tasks"]
    assert [(t["task_id"], t["status"]) for t in got] == [(1, "done")], got
    assert ok(carol, "list_tasks", room_id=room, assigned_by_account_id=ids["bob"])["tasks"] == []
    assert [t["task_id"] for t in ok(carol, "list_tasks", room_id=room, status="open")["tasks"]] \
        == [2]
    assert ok_retrying(alice, "my_status")["mytask_num"] == 1

    # ---- a room made over REST with its roles (the roles are set by forwarded commands) --------
    rest_make = place.rest(p.tokens["bob"], f"user-{ids['bob']}")
    st, made, _ = rest_make.call("POST", "/rooms", form={
        "name": "by rest", "members_admin_ids": f"{ids['bob']},{ids['alice']}",
        "members_member_ids": str(ids["carol"]), "members_readonly_ids": str(ids["erin"])})
    assert st == 200 and type(made.get("room_id")) is int, (st, made)
    spare.append(made["room_id"])
    roles = {x["account_id"]: x["role"] for x in
             ok(erin, "get_members", room_id=made["room_id"])["members"]}
    assert roles == {ids["bob"]: "admin", ids["alice"]: "admin", ids["carol"]: "member",
                     ids["erin"]: "readonly"}, roles
    place.rest(p.tokens["erin"], f"room-{made['room_id']}").error(
        "POST", f"/rooms/{made['room_id']}/messages", 403, form={"body": "read-only"})

    # ---- leaving over REST (on a node that does not own the room) takes your tasks -------------
    leavers = group_room_away_from(place, alice, "leavers", [ids["bob"]], spare)
    spare.append(leavers)
    ok(alice, "add_task", room_id=leavers, body="yours", to_ids=[ids["bob"]])
    assert [(t["task_id"], t["room"]["room_id"]) for t in
            ok_retrying(bob, "my_tasks", status="open")["tasks"]] == [(1, leavers)]
    leave_rest = place.rest(p.tokens["bob"], f"room-{leavers}")
    st, body, _ = leave_rest.call("DELETE", f"/rooms/{leavers}", form={"action_type": "leave"})
    assert st == 204 and body is None, (st, body)
    assert ok_retrying(bob, "my_tasks", status="open")["tasks"] == []
    assert ok(alice, "list_tasks", room_id=leavers)["tasks"] == []
    assert leavers not in details(bob)
    fail(bob, "get_room", "forbidden", room_id=leavers)

    # ---- a deleted room vanishes from every read, on every node ---------------------------------
    doomed = group_room_away_from(place, alice, "doomed", [ids["bob"]], spare)
    bob.next_event("room_created", pred=in_room(doomed))
    ok(alice, "send_message", room_id=doomed, body="secret", client_msg_id="s1")
    ok(alice, "add_task", room_id=doomed, body="gone soon", to_ids=[ids["bob"]])
    fail(bob, "delete_room", "forbidden", room_id=doomed)
    fail(dave, "delete_room", "forbidden", room_id=doomed)
    ok(alice, "delete_room", room_id=doomed)
    bob.next_event("room_deleted", pred=in_room(doomed))
    fail(bob, "get_room", "not_found", room_id=doomed)
    fail(bob, "history", "not_found", room_id=doomed)
    fail(bob, "get_message", "not_found", room_id=doomed, message_id="1")
    assert doomed not in details(bob)
    assert [t["task_id"] for t in ok_retrying(bob, "my_tasks")["tasks"]] == [1]
    place.rest(p.tokens["bob"], f"room-{doomed}").error(
        "GET", f"/rooms/{doomed}/messages", 404, query={"force": "1"})
    # carol's REST position ("new since my last call", kept on her user entity).
    fetched = rest_retrying(place.rest(p.tokens["carol"], f"room-{room}"), "GET",
                            f"/rooms/{room}/messages")
    assert [x["message_id"] for x in fetched] == [m1, m2, task_message], fetched
    # carol: m1 and m2 unread again (mark_unread), and the task's message.
    state.update(doomed=doomed, m1=m1, m2=m2, carol_unread=3, unfetched=[],
                 task_message=task_message)
    for c in ws.values():
        ok(c, "ping")
    return state


def verify(place, state):
    """Everything `exercise` (and earlier calls of this) left, read again through new
    connections on `place`; then new writes that need the recovered state (the next task id, the
    next seq, the pending request, the last-admin rule), recorded in `state` for the next call."""
    p = state["people"]
    ids = p.ids
    ws = {n: place.ws(ids[n], p.tokens[n]) for n in ids}
    alice, bob, carol, dave = (ws[n] for n in ("alice", "bob", "carol", "dave"))
    room, direct, my_room = state["room"], state["direct"], state["my_room"]
    later = state.setdefault("later", [])  # (message id, author name) posted after exercise
    later_tasks = state.setdefault("later_tasks", [])  # bob's, done
    dave_direct = state.get("dave_direct")

    # carol's REST position came back (user snapshot v3): only what is new since her last call.
    carol_rest = place.rest(p.tokens["carol"], f"room-{room}")
    expected_new = state["unfetched"]
    got = rest_retrying(carol_rest, "GET", f"/rooms/{room}/messages",
                        status=200 if expected_new else 204)
    assert [x["message_id"] for x in got or []] == expected_new, got
    state["unfetched"] = []

    me = ok_retrying(alice, "me")
    assert (me["room_id"], me["name"], me["organization_name"]) == (my_room, "Alice L.", "Org A")
    assert [m["body"] for m in ok_retrying(alice, "history", room_id=my_room)["messages"]] == [
        "note to self"]
    assert ok_retrying(bob, "me")["name"] == "Bob B."
    got = ok_retrying(carol, "get_profiles", account_ids=[ids["bob"], ids["dave"]])["profiles"]
    assert [(x["account_id"], x["name"]) for x in got] == [(ids["bob"], "Bob B.")], got

    # Contacts and requests (the contacts and contact_requests read models).
    alice_contacts = [(ids["bob"], direct, "Bob B.")]
    if dave_direct:
        alice_contacts.append((ids["dave"], dave_direct, "dave"))
    assert sorted((c["account_id"], c["room_id"], c["name"]) for c in
                  ok_retrying(alice, "contacts")["contacts"]) == sorted(alice_contacts)
    assert [c["account_id"] for c in ok_retrying(bob, "contacts")["contacts"]] == [ids["alice"]]
    assert [(c["account_id"], c["room_id"]) for c in ok_retrying(carol, "contacts")[
        "contacts"]] == [(ids["erin"], state["carol_erin"])]
    pending = ok_retrying(alice, "incoming_requests")["requests"]
    expected_pending = [] if dave_direct else [(ids["dave"], "pending")]
    assert [(q["request_id"], q["message"]) for q in pending] == expected_pending, pending
    assert ok_retrying(carol, "incoming_requests")["requests"] == []
    assert rest_retrying(place.rest(p.tokens["bob"], f"user-{ids['bob']}"), "GET",
                         "/incoming_requests", status=200) == []
    kinds = {x["room_id"]: x["type"] for x in
             rest_retrying(place.rest(p.tokens["alice"], f"room-{room}"), "GET", "/rooms")}
    expected_kinds = {my_room: "my", direct: "direct", room: "group"}
    expected_kinds.update({r: "group" for r in state["spare_rooms"]})
    if dave_direct:
        expected_kinds[dave_direct] = "direct"
    assert kinds == expected_kinds, kinds
    hist = ok_retrying(bob, "history", room_id=direct)["messages"]
    assert [(m["body"], m["account"]["name"]) for m in hist] == [("hello bob", "Alice L."),
                                                                  ("for later", "Alice L.")]
    assert details(alice)[direct]["unread_num"] == 1  # self_unread

    # A sync from the start replays the room's events, read models rebuilt or not.
    carol.take_events()
    ok_retrying(carol, "sync", since={str(room): 0})
    replay = [e for e in carol.events_until("synced") if e.get("room_id") == room]
    kinds = {e["ev"] for e in replay}
    assert {"room_created", "room_updated", "message_created", "message_updated", "task_added",
            "task_updated"} <= kinds, kinds
    assert [e["seq"] for e in replay] == list(range(1, len(replay) + 1)), replay[:3]
    names = {e["message"]["message_id"]: e["message"]["account"]["name"] for e in replay
             if e["ev"] == "message_created"}
    assert names[state["m1"]] == "Bob B." and names[state["m2"]] == "Alice L.", names

    # The group room (room snapshot v2: settings, members, tasks, read cursors).
    info = ok_retrying(carol, "get_room", room_id=room)["room"]
    assert (info["name"], info["description"], info["icon_preset"], info["type"], info["role"],
            info["member_num"], info["task_num"], info["unread_num"]) == (
        "team 2", "the team", "beer", "group", "readonly", 3, 1, state["carol_unread"]), info
    members = ok_retrying(carol, "get_members", room_id=room)["members"]
    assert [(x["account_id"], x["role"], x["name"]) for x in members] == sorted([
        (ids["alice"], "admin", "Alice L."), (ids["bob"], "member", "Bob B."),
        (ids["carol"], "readonly", "carol")]), members
    hist = ok_retrying(carol, "history", room_id=room)["messages"]
    assert [(x["message_id"], x["account"]["name"]) for x in hist if not x["deleted"]] == [
        (state["m1"], "Bob B."), (state["m2"], "Alice L."),
        (state["task_message"], "Alice L.")] + later, hist
    assert hist[1]["body"] == "from alice, edited", hist
    got = ok_retrying(carol, "get_message", room_id=room, message_id=state["m1"])["message"]
    assert got["account"]["name"] == "Bob B."
    tasks = ok_retrying(carol, "list_tasks", room_id=room)["tasks"]
    assert [(t["task_id"], t["account"]["account_id"], t["status"]) for t in tasks] == [
        (1, ids["bob"], "done"), (2, ids["alice"], "open")] + [
        (t, ids["bob"], "done") for t in later_tasks], tasks
    # The account_tasks read model.
    assert sorted(t["task_id"] for t in ok_retrying(bob, "my_tasks", status="done")["tasks"]) == [
        1] + later_tasks
    assert ok_retrying(bob, "my_tasks", status="open")["tasks"] == []
    assert [(t["task_id"], t["room"]["room_id"]) for t in
            ok_retrying(alice, "my_tasks")["tasks"]] == [(2, room)]
    status = rest_retrying(place.rest(p.tokens["carol"], f"room-{room}"), "GET", "/my/status")
    assert (status["unread_room_num"], status["unread_num"], status["mytask_num"]) == (
        1, state["carol_unread"], 0), status
    assert ok_retrying(alice, "my_status")["mytask_num"] == 1
    # The deleted room stays deleted.
    fail(bob, "get_room", "not_found", room_id=state["doomed"])
    assert state["doomed"] not in details(bob)

    # New writes on the recovered state: the next task id, the next seq, the pending request,
    # the last-admin rule.
    added = ok_retrying(alice, "add_task", room_id=room, body="after", to_ids=[ids["bob"]])
    task = added["task_ids"]
    assert task == [3 + len(later_tasks)], task
    later.append((added["message_id"], "Alice L."))
    state["unfetched"].append(added["message_id"])
    state["carol_unread"] += 1
    # Pushes reach the new connections, wherever they are (presence after the restart).
    e = bob.next_event("task_added", pred=in_room(room))
    assert e["task"]["task_id"] == task[0], e
    ok_retrying(bob, "set_task_status", room_id=room, task_id=task[0], status="done")
    e = alice.next_event("task_updated", pred=in_room(room))
    assert (e["task"]["task_id"], e["task"]["status"]) == (task[0], "done"), e
    later_tasks.append(task[0])
    last = ok_retrying(alice, "get_room", room_id=room)["room"]["last_seq"]
    r = ok_retrying(bob, "send_message", room_id=room, body="after",
                    client_msg_id=f"after-{len(later)}")
    assert r["seq"] == last + 1, (r, last)
    e = carol.next_event("message_created", pred=lambda e: e.get("room_id") == room and e[
        "message"]["message_id"] == r["message_id"])
    assert e["message"]["account"]["name"] == "Bob B.", e
    later.append((r["message_id"], "Bob B."))
    state["unfetched"].append(r["message_id"])
    state["carol_unread"] += 1
    fail(alice, "leave_room", "conflict", room_id=room)
    fail(dave, "get_room", "forbidden", room_id=room)
    acc = ok_retrying(alice, "accept_contact", request_id=ids["dave"])
    assert acc["account_id"] == ids["dave"], acc
    assert acc["room_id"] not in (direct, room, my_room), acc
    assert dave_direct in (None, acc["room_id"]), (dave_direct, acc)
    if dave_direct is None:  # the first accept tells dave
        e = dave.next_event("contact_added")
        assert (e["account_id"], e["room_id"]) == (ids["alice"], acc["room_id"]), e
    state["dave_direct"] = acc["room_id"]
    assert details(dave)[acc["room_id"]]["type"] == "direct"
    return ws


# ---- the tests ----------------------------------------------------------------------------------


def test_features_on_the_kafka_journal(bootstrap, server_factory, tmp_path):  # noqa: F811
    topic = f"hibiki.features.{uuid.uuid4().hex[:8]}"
    flags = ["--journal=kafka", f"--kafka-brokers={bootstrap}", f"--kafka-topic={topic}",
             "--kafka-partitions=4", *CHURN]
    server = server_factory(*flags)
    state = exercise(Place([server]))
    # The churn happened: entities were passivated and recovered (from their snapshots and the
    # events after them) over and over.
    status, body = server.http("GET", "/metrics")
    assert status == 200, status
    counts = {"recoveries": 0.0, "passivations": 0.0}
    for name, value in re.findall(r"^hibiki_(recoveries|passivations)_total(?:\{[^}]*\})? (\S+)$",
                                  body.decode(), re.M):
        counts[name] += float(value)
    assert counts["passivations"] >= 10 and counts["recoveries"] > counts["passivations"], counts

    # A restart on the same data dir: snapshots and the local index are there.
    server.restart()
    verify(Place([server]), state)
    server.stop()

    # A wiped data dir: index, snapshots and read models come back from the topic alone.
    shutil.rmtree(server.data_dir)
    again = server_factory(*flags, data_dir=server.data_dir)
    verify(Place([again]), state)


@pytest.fixture
def cluster(hibikid_binary, tmp_path, bootstrap):  # noqa: F811
    """Three nodes on a topic of their own, with a snapshot every 3 events."""
    check_murmur2()
    topic = f"hibiki.cluster.features.{uuid.uuid4().hex[:8]}"
    c = Cluster(hibikid_binary, tmp_path, bootstrap, topic)
    for n in c.nodes.values():
        n.security.append("--snapshot-every=3")
    yield from started(c)


def cluster_place(cluster, names):
    owners = cluster.wait_settled(names)
    shard_owner = {p: n for n, shards in owners.items() for p in shards}
    assert sorted(shard_owner) == list(range(PARTITIONS))
    return Place([cluster.nodes[n] for n in names], shard_owner)


def test_features_across_three_nodes(cluster):
    place = cluster_place(cluster, NODES)
    state = exercise(place)

    # The node that owns the group room is killed (SIGKILL: its local index may lose its last
    # writes, its snapshots stay): its shards move once its session times out, the others recover
    # its entities from the topic, and the room takes writes there.
    victim = place.owner(f"room-{state['room']}")
    survivors = [n for n in NODES if n != victim]
    cluster.nodes[victim].kill9()
    after = cluster_place(cluster, survivors)
    alice = after.ws(state["people"].ids["alice"], state["people"].tokens["alice"])
    moved = ok_retrying(alice, "send_message", room_id=state["room"], body="while away",
                        client_msg_id="away-1")
    state.setdefault("later", []).append((moved["message_id"], "Alice L."))
    state["unfetched"].append(moved["message_id"])
    state["carol_unread"] += 1

    # It comes back, takes shards again (recovering from its own snapshots plus what the others
    # wrote), and everything is there through every node, the restarted one first.
    cluster.nodes[victim].start()
    place = cluster_place(cluster, NODES)
    place.servers.sort(key=lambda s: s.name != victim)
    verify(place, state)
    # On the topic every record decodes and every entity's seqs run 1, 2, 3...: no forwarded
    # command was appended twice, across the kill and the start.
    by_entity = check_topic_seqs(cluster.dump_topic())
    assert {f"room-{state['room']}", f"user-{state['people'].ids['bob']}"} <= set(by_entity)
