"""People over the WebSocket, against a real hibikid (docs/protocol.md, "People and contacts"):
profiles and `me` with the `my` room, names in message objects (kept current on rename), profiles
of known accounts only (get_profiles and get_accounts), renames pushed live (`account_updated`) to
everyone who shares a room, a contact or a request with the account, and contact requests with
their direct rooms. Every op is also tried with its bad inputs; the server keeps serving after
each.
"""

import json
import threading

PROFILE_FIELDS = {"account_id", "name", "chatwork_id", "organization_name", "department", "title",
                  "introduction"}


def details(client):
    return {x["room_id"]: x for x in client.ok("list_rooms", details=True)["rooms"]}


def shared_room(a, b, name="team"):
    room = a.ok("create_room", name=name, members=[b.account_id])["room_id"]
    b.next_event("room_created", pred=lambda e: e["room_id"] == room)
    return room


def make_contacts(a, b):
    a.ok("request_contact", account_id=b.account_id)
    return b.ok("accept_contact", request_id=a.account_id)["room_id"]


# ---- me and profiles ----------------------------------------------------------------------------


def test_me_gives_the_profile_and_the_my_room(server):
    alice = server.user("alice")
    me = alice.ok("me")
    assert set(me) >= PROFILE_FIELDS | {"room_id"}, me
    assert me["account_id"] == alice.account_id and me["name"] == "alice", me
    assert all(me[k] == "" for k in PROFILE_FIELDS - {"account_id", "name"}), me
    my_room = me["room_id"]
    assert type(my_room) is int and my_room > 0, me
    # One `my` room: the same on every call, alone in it, of type my.
    assert alice.ok("me")["room_id"] == my_room
    rooms = details(alice)
    assert rooms[my_room]["type"] == "my", rooms
    assert [r for r in rooms.values() if r["type"] == "my"] == [rooms[my_room]]
    r = alice.ok("send_message", room_id=my_room, body="note to self", client_msg_id="n1")
    assert r["message_id"] == "1"
    # Its membership never changes.
    bob = server.user("bob")
    alice.fail("add_members", "forbidden", room_id=my_room, account_ids=[bob.account_id])
    bob.fail("history", "forbidden", room_id=my_room)
    # Durable, and kept after a restart.
    server.restart()
    alice = server.connect(alice.token)
    assert alice.ok("me")["room_id"] == my_room


def test_sign_up_comes_with_the_my_room(server):
    alice = server.user("alice")
    # No `me` first: the account's first list_rooms already shows its my room.
    rooms = alice.ok("list_rooms", details=True)["rooms"]
    assert [(x["type"], x["role"], x["name"]) for x in rooms] == [("my", "admin", "")], rooms
    my = rooms[0]["room_id"]
    assert [x["room_id"] for x in alice.ok("list_rooms")["rooms"]] == [my]
    info = alice.ok("get_room", room_id=my)["room"]
    assert (info["type"], info["member_num"]) == ("my", 1), info
    # `me` names the same room and makes no other.
    assert alice.ok("me")["room_id"] == my
    assert len(alice.ok("list_rooms")["rooms"]) == 1
    # Every account has its own.
    bob = server.user("bob")
    (bobs,) = [x["room_id"] for x in bob.ok("list_rooms", details=True)["rooms"]]
    assert bobs != my
    bob.fail("history", "forbidden", room_id=my)
    # An account the operator creates (the same path, sign-up open or closed) has one too.
    status, raw = server.operator_http("POST", "/api/admin/create-account", {"name": "eve"})
    assert status == 200, raw
    eve = server.connect(json.loads(raw)["token"])
    assert [x["type"] for x in eve.ok("list_rooms", details=True)["rooms"]] == ["my"]
    # A bad sign-up makes neither an account nor a room, and the server keeps serving.
    status, _ = server.http("POST", "/api/signup", {"name": ""})
    assert status == 400
    assert alice.ok("me")["room_id"] == my
    # Durable.
    server.restart()
    alice = server.connect(alice.token)
    assert [x["room_id"] for x in alice.ok("list_rooms")["rooms"]] == [my]


def test_update_profile_changes_the_given_fields(server):
    alice = server.user("alice")
    me = alice.ok("update_profile", organization_name="Hibiki Inc.", department="R&D",
                  title="engineer", chatwork_id="alice_1", introduction="Hello.\nI build chat.")
    assert me["organization_name"] == "Hibiki Inc." and me["department"] == "R&D", me
    assert me["title"] == "engineer" and me["chatwork_id"] == "alice_1", me
    assert me["introduction"] == "Hello.\nI build chat.", me
    assert me["name"] == "alice" and me["room_id"] > 0, me
    # Only the given fields change; "" clears one.
    me = alice.ok("update_profile", title="")
    assert me["title"] == "" and me["department"] == "R&D", me
    got = alice.ok("me")
    assert {k: got[k] for k in PROFILE_FIELDS} == {k: me[k] for k in PROFILE_FIELDS}
    # A rename through update_profile is the next auth's name too.
    alice.ok("update_profile", name="Alice Liddell")
    assert server.connect(alice.token).name == "Alice Liddell"
    server.restart()
    again = server.connect(alice.token).ok("me")
    assert again["name"] == "Alice Liddell" and again["department"] == "R&D", again


def test_update_profile_bad_fields(server):
    alice = server.user("alice")
    bad = [
        ({}, "at least one"),
        ({"name": ""}, "name"),
        ({"name": "x" * 65}, "name"),
        ({"name": "tab\there"}, "name"),
        ({"name": 7}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "two\nlines"}, "name"),
        ({"name": "nul\u0000"}, "name"),
        ({"name": "del\u007f"}, "name"),
        ({"name": "c1\u0085"}, "name"),
        ({"name": None}, "name"),
        ({"name": ["alice"]}, "name"),
        ({"chatwork_id": "has space"}, "chatwork_id"),
        ({"chatwork_id": "a" * 51}, "chatwork_id"),
        ({"chatwork_id": "日本"}, "chatwork_id"),
        ({"organization_name": "o" * 256}, "organization_name"),
        ({"department": "two\nlines"}, "department"),
        ({"title": ["t"]}, "title"),
        ({"introduction": "i" * 2001}, "introduction"),
        ({"introduction": "bell\u0007"}, "introduction"),
    ]
    for fields, word in bad:
        r = alice.fail("update_profile", "bad_request", **fields)
        assert word in r["error"]["message"], (fields, r)
    # Nothing changed, nothing was pushed, and the connection still serves.
    alice.no_event("account_updated")
    me = alice.ok("me")
    assert me["name"] == "alice" and me["chatwork_id"] == "" and me["introduction"] == "", me
    # The limits themselves are fine.
    alice.ok("update_profile", name="x" * 64, chatwork_id="a" * 50, organization_name="o" * 255,
             introduction="i" * 2000)


def test_profiles_of_known_accounts_only(server):
    alice, bob, carol = server.user("alice"), server.user("bob"), server.user("carol")
    bob.ok("update_profile", title="designer")
    shared_room(alice, bob)
    got = alice.ok("get_profiles",
                   account_ids=[bob.account_id, carol.account_id, 999999, alice.account_id,
                                bob.account_id])["profiles"]
    # bob (shares a room) and alice herself; carol is a stranger, 999999 nobody; each id once.
    assert [p["account_id"] for p in got] == [bob.account_id, alice.account_id], got
    assert got[0]["title"] == "designer" and got[0]["name"] == "bob", got
    assert set(got[0]) == PROFILE_FIELDS, got
    assert carol.ok("get_profiles", account_ids=[alice.account_id])["profiles"] == []
    # A contact request makes the two known to each other (the one asked sees who asks).
    carol.ok("request_contact", account_id=alice.account_id)
    assert [p["name"] for p in alice.ok("get_profiles", account_ids=[carol.account_id])
            ["profiles"]] == ["carol"]
    for bad in ([], ["1"], [0], [-3], list(range(1, 1002)), "1"):
        alice.fail("get_profiles", "bad_request", account_ids=bad)
    alice.fail("get_profiles", "bad_request")
    alice.ok("ping")


# ---- names in message objects -------------------------------------------------------------------


def test_message_objects_carry_the_authors_current_name(server):
    alice, bob = server.user("alice"), server.user("bob")
    room = shared_room(alice, bob)
    alice.ok("send_message", room_id=room, body="hi", client_msg_id="m1")
    pushed = bob.next_event("message_created")["message"]
    assert pushed["account"] == {"account_id": alice.account_id, "name": "alice"}, pushed
    assert pushed["account_id"] == alice.account_id  # v1's field stays

    alice.ok("update_profile", name="Alice L.")
    # Old messages show the new name in history and in a sync replay.
    hist = bob.ok("history", room_id=room)["messages"]
    assert hist[0]["account"] == {"account_id": alice.account_id, "name": "Alice L."}, hist
    bob.ok("sync", since={str(room): 0})
    replayed = [e for e in bob.events_until("synced") if e.get("ev") == "message_created"]
    assert [e["message"]["account"]["name"] for e in replayed] == ["Alice L."], replayed
    # New messages and edits from the renamed connection carry it live.
    alice.ok("send_message", room_id=room, body="again", client_msg_id="m2")
    assert bob.next_event("message_created")["message"]["account"]["name"] == "Alice L."
    alice.ok("edit_message", room_id=room, message_id="1", body="hi!")
    assert bob.next_event("message_updated")["message"]["account"]["name"] == "Alice L."
    # A new connection of alice (its name comes from auth) too.
    alice2 = server.connect(alice.token)
    alice2.ok("send_message", room_id=room, body="third", client_msg_id="m3")
    assert bob.next_event("message_created")["message"]["account"]["name"] == "Alice L."
    # After a restart, history still names her as she is named now.
    server.restart()
    bob = server.connect(bob.token)
    names = {m["account"]["name"] for m in bob.ok("history", room_id=room)["messages"]}
    assert names == {"Alice L."}, names


# ---- contacts -----------------------------------------------------------------------------------


def test_a_rename_shows_everywhere(server):
    alice, bob, carol = (server.user(n) for n in ("alice", "bob", "carol"))
    room = shared_room(alice, bob)
    alice.ok("send_message", room_id=room, body="hi", client_msg_id="m1")
    make_contacts(alice, carol)
    dave = server.user("dave")
    alice.ok("request_contact", account_id=dave.account_id)

    alice.ok("update_profile", name="Alice L.")
    alice_as = {"account_id": alice.account_id, "name": "Alice L."}
    # A room member: members list, message authors (history and get_message), profiles, names.
    members = {m["account_id"]: m["name"] for m in bob.ok("get_members", room_id=room)["members"]}
    assert members[alice.account_id] == "Alice L.", members
    assert bob.ok("history", room_id=room)["messages"][0]["account"] == alice_as
    assert bob.ok("get_message", room_id=room, message_id="1")["message"]["account"] == alice_as
    assert bob.ok("get_profiles", account_ids=[alice.account_id])["profiles"][0]["name"] == \
        "Alice L."
    assert bob.ok("get_accounts", account_ids=[alice.account_id])["accounts"] == [alice_as]
    # A contact: the contacts list. Someone she asked: the incoming requests.
    contacts = carol.ok("contacts")["contacts"]
    assert [(c["account_id"], c["name"]) for c in contacts] == [(alice.account_id, "Alice L.")]
    reqs = dave.ok("incoming_requests")["requests"]
    assert [(r["request_id"], r["name"]) for r in reqs] == [(alice.account_id, "Alice L.")]
    # Her own connections: `me`, and the next auth.
    assert alice.ok("me")["name"] == "Alice L."
    assert server.connect(alice.token).name == "Alice L."


def test_names_of_known_accounts_only(server):
    alice, bob, carol = (server.user(n) for n in ("alice", "bob", "carol"))

    def profiles(c, *others):
        got = c.ok("get_profiles", account_ids=[o.account_id for o in others])["profiles"]
        return [p["name"] for p in got]

    assert profiles(alice, bob, carol) == []
    room = shared_room(alice, bob)
    assert profiles(alice, bob, carol) == ["bob"] and profiles(bob, alice) == ["alice"]
    # Once nobody shares a room any more (bob left), bob is a stranger again.
    bob.ok("leave_room", room_id=room)
    assert profiles(alice, bob) == [] and profiles(bob, alice) == []
    # Contacts know each other, with or without a shared group room.
    make_contacts(alice, carol)
    assert profiles(alice, carol) == ["carol"] and profiles(carol, alice) == ["alice"]
    assert profiles(bob, carol) == []


def test_get_accounts_names_known_accounts_only(server):
    alice, bob, carol = (server.user(n) for n in ("alice", "bob", "carol"))

    def names(c, *ids):
        return [(a["account_id"], a["name"]) for a in
                c.ok("get_accounts", account_ids=list(ids))["accounts"]]

    # Strangers and ids with no account are left out, as get_profiles does; itself is known.
    assert names(alice, bob.account_id, 999999, alice.account_id) == [(alice.account_id, "alice")]
    room = shared_room(alice, bob)
    assert names(alice, bob.account_id, carol.account_id, bob.account_id) == \
        [(bob.account_id, "bob")]
    assert names(bob, alice.account_id) == [(alice.account_id, "alice")]
    # Known no longer once nothing is shared (bob left the only room they shared).
    bob.ok("leave_room", room_id=room)
    assert names(alice, bob.account_id) == [] and names(bob, alice.account_id) == []
    # A waiting contact request: both sides know each other; then contacts.
    carol.ok("request_contact", account_id=alice.account_id)
    assert names(alice, carol.account_id) == [(carol.account_id, "carol")]
    assert names(carol, alice.account_id) == [(alice.account_id, "alice")]
    assert names(bob, carol.account_id) == []
    # Malformed ids: bad_request, and the connection keeps serving.
    for bad in ([], ["1"], [0], [-3], [1.5], [2 ** 53], list(range(1, 1002)), "1", 1, None):
        alice.fail("get_accounts", "bad_request", account_ids=bad)
    alice.fail("get_accounts", "bad_request")
    alice.ok("ping")


# ---- renames pushed live --------------------------------------------------------------------------


def test_a_rename_is_pushed_to_everyone_who_shares_something(server):
    alice, bob, carol, dave, erin, frank = (
        server.user(n) for n in ("alice", "bob", "carol", "dave", "erin", "frank"))
    alice2 = server.connect(alice.token)  # her second connection
    bob2 = server.connect(bob.token)
    room = shared_room(alice, bob)
    shared_room(alice, bob, name="second")  # two rooms and a contact: still one push each
    make_contacts(alice, bob)
    make_contacts(alice, carol)  # a contact: they share no group room
    alice.ok("request_contact", account_id=dave.account_id)  # she asked dave
    erin.ok("request_contact", account_id=alice.account_id)  # erin asked her
    shared_room(frank, bob, name="not hers")  # frank shares nothing with alice
    for c in (alice, alice2, bob, bob2, carol, dave, erin, frank):
        c.take_events()

    me = alice.ok("update_profile", name="Alice L.")
    assert me["name"] == "Alice L."
    expected = {"ev": "account_updated",
                "account": {"account_id": alice.account_id, "name": "Alice L."}}
    for c in (alice, alice2, bob, bob2, carol, dave, erin):
        assert c.next_event("account_updated") == expected
    for c in (alice, alice2, bob, bob2, carol, dave, erin, frank):
        c.no_event("account_updated")  # once per connection; nothing for frank
    # Her other connection sends under the new name without renaming itself.
    alice2.ok("send_message", room_id=room, body="hi", client_msg_id="m1")
    assert bob.next_event("message_created")["message"]["account"] == expected["account"]
    # The same name again is no rename: nothing pushed.
    alice2.ok("update_profile", name="Alice L.")
    bob.no_event("account_updated")


def test_an_operator_rename_is_pushed_too(server):
    alice, bob = server.user("alice"), server.user("bob")
    room = shared_room(alice, bob)
    r = server.operator_http("POST", "/api/admin/rename",
                             {"account_id": alice.account_id, "name": "Alice Liddell"})
    assert r[0] == 200, r
    for c in (alice, bob):
        assert c.next_event("account_updated")["account"] == \
            {"account_id": alice.account_id, "name": "Alice Liddell"}
    alice.ok("send_message", room_id=room, body="hi", client_msg_id="m1")
    assert bob.next_event("message_created")["message"]["account"]["name"] == "Alice Liddell"


def test_accept_gives_both_sides_their_direct_room_once(server):
    alice, bob = server.user("alice"), server.user("bob")
    alice.ok("request_contact", account_id=bob.account_id)
    room = bob.ok("accept_contact", request_id=alice.account_id)["room_id"]
    created = alice.next_event("room_created", pred=lambda e: e["room_id"] == room)
    assert created["type"] == "direct", created
    assert sorted((m["account_id"], m["role"]) for m in created["members"]) == \
        sorted([(alice.account_id, "admin"), (bob.account_id, "admin")])
    for c in (alice, bob):
        directs = [x["room_id"] for x in details(c).values() if x["type"] == "direct"]
        assert directs == [room], directs
    # Accepting again, or asking again, makes no second room and no second room_created.
    assert bob.ok("accept_contact", request_id=alice.account_id)["room_id"] == room
    alice.fail("request_contact", "conflict", account_id=bob.account_id)
    alice.no_event("room_created")
    for c in (alice, bob):
        assert [x["type"] for x in details(c).values()].count("direct") == 1




def test_request_accept_makes_contacts_with_one_direct_room(server):
    alice, bob = server.user("alice"), server.user("bob")
    alice.ok("update_profile", organization_name="Org A")
    assert alice.ok("request_contact", account_id=bob.account_id, message="hi, it's alice")
    e = bob.next_event("contact_request")
    assert e["request_id"] == alice.account_id and e["message"] == "hi, it's alice", e
    reqs = bob.ok("incoming_requests")["requests"]
    assert len(reqs) == 1, reqs
    assert reqs[0]["request_id"] == alice.account_id and reqs[0]["name"] == "alice", reqs
    assert reqs[0]["organization_name"] == "Org A" and reqs[0]["message"] == "hi, it's alice"
    assert alice.ok("incoming_requests")["requests"] == []
    assert bob.ok("contacts")["contacts"] == []

    acc = bob.ok("accept_contact", request_id=alice.account_id)
    room = acc["room_id"]
    assert acc["account_id"] == alice.account_id and acc["name"] == "alice", acc
    assert type(room) is int and room > 0
    added = alice.next_event("contact_added")
    assert added == {"ev": "contact_added", "account_id": bob.account_id, "room_id": room}, added
    assert bob.ok("incoming_requests")["requests"] == []

    for me, other in ((alice, bob), (bob, alice)):
        contacts = me.ok("contacts")["contacts"]
        assert [(c["account_id"], c["room_id"], c["name"]) for c in contacts] == \
            [(other.account_id, room, other.name)], contacts
        assert set(contacts[0]) >= PROFILE_FIELDS | {"room_id"}
        entry = details(me)[room]
        assert entry["type"] == "direct" and entry["role"] == "admin", entry
    # The direct room works like any room, and cannot gain members.
    alice.ok("send_message", room_id=room, body="hello bob", client_msg_id="d1")
    assert bob.next_event("message_created").get("room_id") == room
    carol = server.user("carol")
    alice.fail("add_members", "forbidden", room_id=room, account_ids=[carol.account_id])
    # Accepting again answers with the same room and makes no other.
    assert bob.ok("accept_contact", request_id=alice.account_id)["room_id"] == room
    assert [r for r in details(bob).values() if r["type"] == "direct"] == [details(bob)[room]]
    # Contacts may see each other's profile.
    assert alice.ok("get_profiles", account_ids=[bob.account_id])["profiles"][0]["name"] == "bob"
    # Durable.
    server.restart()
    bob = server.connect(bob.token)
    assert [c["room_id"] for c in bob.ok("contacts")["contacts"]] == [room]


def test_reject_removes_the_request(server):
    alice, bob = server.user("alice"), server.user("bob")
    alice.ok("request_contact", account_id=bob.account_id)
    bob.ok("reject_contact", request_id=alice.account_id)
    assert bob.ok("incoming_requests")["requests"] == []
    assert alice.ok("contacts")["contacts"] == [] and bob.ok("contacts")["contacts"] == []
    bob.fail("accept_contact", "not_found", request_id=alice.account_id)
    bob.fail("reject_contact", "not_found", request_id=alice.account_id)
    # After a rejection a new request may be sent (by either side).
    bob.ok("request_contact", account_id=alice.account_id)
    assert [r["request_id"] for r in alice.ok("incoming_requests")["requests"]] == [bob.account_id]


def test_contact_bad_inputs(server):
    alice, bob = server.user("alice"), server.user("bob")
    r = alice.fail("request_contact", "bad_request", account_id=alice.account_id)
    assert "another account" in r["error"]["message"], r
    alice.fail("request_contact", "not_found", account_id=999999)
    for bad in ({}, {"account_id": "2"}, {"account_id": 0}, {"account_id": -1},
                {"account_id": 1.5}, {"account_id": bob.account_id, "message": 3},
                {"account_id": bob.account_id, "message": "m" * 1001}):
        alice.fail("request_contact", "bad_request", **bad)
    alice.ok("request_contact", account_id=bob.account_id, message="m" * 1000)
    # The same request again, or one back, is a conflict.
    r = alice.fail("request_contact", "conflict", account_id=bob.account_id)
    assert "already" in r["error"]["message"], r
    r = bob.fail("request_contact", "conflict", account_id=alice.account_id)
    assert "accept" in r["error"]["message"], r
    # Only the one asked can accept or reject; requests that do not exist are not_found.
    alice.fail("accept_contact", "not_found", request_id=bob.account_id)
    alice.fail("reject_contact", "not_found", request_id=bob.account_id)
    alice.fail("accept_contact", "not_found", request_id=alice.account_id)
    bob.fail("accept_contact", "not_found", request_id=999999)
    bob.fail("reject_contact", "not_found", request_id=999999)
    for op in ("accept_contact", "reject_contact"):
        for bad in ({}, {"request_id": "1"}, {"request_id": 0}, {"request_id": None}):
            bob.fail(op, "bad_request", **bad)
    # Once contacts, another request is a conflict either way.
    bob.ok("accept_contact", request_id=alice.account_id)
    alice.fail("request_contact", "conflict", account_id=bob.account_id)
    bob.fail("request_contact", "conflict", account_id=alice.account_id)
    bob.fail("reject_contact", "not_found", request_id=alice.account_id)
    alice.ok("ping")
    bob.ok("ping")


def test_concurrent_accepts_make_one_direct_room(server):
    pairs = []
    for i in range(4):
        a, b = server.user(f"a{i}"), server.user(f"b{i}")
        a.ok("request_contact", account_id=b.account_id)
        pairs.append((a, b, server.connect(b.token), server.connect(b.token)))
    for a, b, b2, b3 in pairs:
        # Three connections of the one asked accept at once.
        ids = [(c, c.send("accept_contact", request_id=a.account_id)) for c in (b, b2, b3)]
        rooms = set()
        for c, rid in ids:
            r = c.reply(rid)
            assert r["ok"] is True, r
            rooms.add(r["room_id"])
        assert len(rooms) == 1, rooms
        room = rooms.pop()
        directs = [x for x in details(b).values() if x["type"] == "direct"]
        assert [x["room_id"] for x in directs] == [room], directs
        assert [c["room_id"] for c in a.ok("contacts")["contacts"]] == [room]


def test_both_sides_asking_at_once_leave_one_request(server):
    alice, bob = server.user("alice"), server.user("bob")
    results = {}

    def ask(name, c, other):
        results[name] = c.request("request_contact", account_id=other.account_id)

    threads = [threading.Thread(target=ask, args=("a", alice, bob)),
               threading.Thread(target=ask, args=("b", bob, alice))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    oks = [n for n, r in results.items() if r["ok"]]
    assert len(oks) == 1, results
    loser = [r for r in results.values() if not r["ok"]][0]
    assert loser["error"]["code"] == "conflict", loser
    asker, asked = (alice, bob) if oks == ["a"] else (bob, alice)
    room = asked.ok("accept_contact", request_id=asker.account_id)["room_id"]
    assert [c["room_id"] for c in asker.ok("contacts")["contacts"]] == [room]
