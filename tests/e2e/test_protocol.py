"""ws-protocol-v1, op by op, against a real hibikid (docs/protocol.md).

Where the contract is silent the tests follow docs/protocol.md ("rules where the contract is
silent"); those checks say so.
"""

import json
import random
import threading
import time

import pytest

from conftest import send_many


def is_digits(s):
    return isinstance(s, str) and s.isdigit() and len(s) > 0


def create_room(admin, name, members=(), **extra):
    r = admin.ok("create_room", name=name, members=[m.account_id for m in members], **extra)
    assert isinstance(r["room_id"], int) and r["room_id"] > 0, r
    return r["room_id"]


def in_room(room_id):
    return lambda e: e.get("room_id") == room_id


def room_entry(client, room_id):
    rooms = client.ok("list_rooms")["rooms"]
    found = [x for x in rooms if x["room_id"] == room_id]
    assert len(found) <= 1, rooms
    return found[0] if found else None


def check_message(m, account_id=None, body=None):
    assert set(m) >= {"message_id", "account_id", "body", "send_time", "update_time", "deleted"}, m
    assert is_digits(m["message_id"]), m
    assert isinstance(m["send_time"], int) and m["send_time"] > 1_600_000_000, m
    assert isinstance(m["update_time"], int), m
    assert isinstance(m["deleted"], bool), m
    if account_id is not None:
        assert m["account_id"] == account_id, m
    if body is not None:
        assert m["body"] == body, m


# ---- connection, ping, auth, HTTP accounts -----------------------------------------------------


def test_healthz_and_signup(server):
    status, body = server.http("GET", "/healthz")
    assert status == 200
    json.loads(body)  # a JSON body
    a_id, a_tok = server.signup("alice")
    b_id, b_tok = server.signup("bob")
    assert a_id != b_id
    assert a_tok != b_tok
    # At least 128 random bits: 22 characters even in base64.
    assert len(a_tok) >= 22 and len(b_tok) >= 22


def test_ping_before_and_after_auth(server):
    _, token = server.signup("alice")
    c = server.connect()
    r = c.request("ping")
    assert r["ok"] is True and r["re"] == 1, r
    c.ok("auth", token=token)
    r = c.ok("ping")
    assert set(r) == {"re", "ok"}, r


def test_auth_good_and_bad_token(server):
    account_id, token = server.signup("alice")
    c = server.connect()
    c.fail("auth", "unauthenticated", token="0" * 64)
    c.fail("auth", "unauthenticated", token=token[:-1] + ("0" if token[-1] != "0" else "1"))
    # A bad token leaves the connection open: ping and a good auth still work.
    c.ok("ping")
    r = c.ok("auth", token=token)
    assert r["account_id"] == account_id and r["name"] == "alice", r
    assert not c.closed


def test_subprotocol_hibiki_v1_is_accepted(server):
    _, token = server.signup("alice")
    c = server.connect(subprotocols=["hibiki.v1"])
    assert c.ws.subprotocol == "hibiki.v1"
    c.ok("auth", token=token)
    c.ok("ping")


def test_each_connection_of_an_account_authenticates(server):
    account_id, token = server.signup("alice")
    c1 = server.connect(token)
    c2 = server.connect(token)
    assert c1.account_id == c2.account_id == account_id


# ---- rooms and members -------------------------------------------------------------------------


def test_create_room_pushes_room_created_to_every_initial_member(server):
    alice, bob, carol, dave = (server.user(n) for n in ("alice", "bob", "carol", "dave"))
    alice2 = server.connect(alice.token)
    room = create_room(alice, "team", [bob, carol], description="the team")

    for c in (bob, carol, alice2):
        e = c.next_event("room_created", pred=in_room(room))
        assert e["seq"] == 1 and e["name"] == "team", e
        # Compatible extension: the initial members with their roles.
        members = {m["account_id"]: m["role"] for m in e["members"]}
        assert members == {
            alice.account_id: "admin",
            bob.account_id: "member",
            carol.account_id: "member",
        }, e
    dave.no_event("room_created")

    a = room_entry(alice, room)
    assert a == {
        "room_id": room,
        "name": "team",
        "role": "admin",
        "unread_num": 0,
        "mention_num": 0,
        "message_num": 0,
        "last_seq": 1,
    }, a
    b = room_entry(bob, room)
    assert b["role"] == "member" and b["last_seq"] == 1 and b["name"] == "team", b
    assert room_entry(dave, room) is None


def test_create_room_with_no_other_members(server):
    alice = server.user("alice")
    room = create_room(alice, "solo")
    other = create_room(alice, "solo 2")
    assert other != room
    entry = room_entry(alice, room)
    assert entry["role"] == "admin" and entry["last_seq"] == 1, entry
    alice.ok("send_message", room_id=room, body="note to self", client_msg_id="n1")


def test_create_room_with_unknown_account_is_not_found(server):
    alice = server.user("alice")
    alice.fail("create_room", "not_found", name="x", members=[987654321])
    # Only the account's my room (made with the account) is there.
    assert [x["type"] for x in alice.ok("list_rooms", details=True)["rooms"]] == ["my"]


def test_add_members_roles_and_pushes(server):
    alice, bob, dave, erin, frank = (
        server.user(n) for n in ("alice", "bob", "dave", "erin", "frank")
    )
    alice2 = server.connect(alice.token)
    room = create_room(alice, "team", [bob])
    bob.next_event("room_created", pred=in_room(room))
    # Messages before dave joins: dave must start with nothing unread.
    send_many(alice, room, ["one", "two [To:%d]" % dave.account_id])
    bob.wait_events(2, "message_created", room_id=room)

    assert alice.ok("add_members", room_id=room, account_ids=[dave.account_id], role="readonly")
    for c in (bob, dave, alice2):
        e = c.next_event("member_added", pred=in_room(room))
        assert e == {
            "ev": "member_added",
            "room_id": room,
            "seq": 4,
            "account_id": dave.account_id,
            "role": "readonly",
        }, e
    d = room_entry(dave, room)
    assert d["role"] == "readonly" and d["unread_num"] == 0 and d["mention_num"] == 0, d
    assert d["message_num"] == 2 and d["last_seq"] == 4, d

    alice.ok("add_members", room_id=room, account_ids=[erin.account_id], role="admin")
    e = dave.next_event("member_added", pred=in_room(room))
    assert e["seq"] == 5 and e["account_id"] == erin.account_id and e["role"] == "admin", e
    assert room_entry(erin, room)["role"] == "admin"

    # The default role is member; a new admin may add members.
    erin.ok("add_members", room_id=room, account_ids=[frank.account_id])
    e = bob.next_event("member_added", pred=lambda e: e.get("account_id") == frank.account_id)
    assert e["seq"] == 6 and e["account_id"] == frank.account_id and e["role"] == "member", e
    e = frank.next_event("member_added", pred=in_room(room))
    assert e["seq"] == 6, e
    assert room_entry(frank, room)["role"] == "member"

    # Only admins add; unknown accounts are not_found; nothing is pushed for a refused command.
    bob.take_events()
    bob.fail("add_members", "forbidden", room_id=room, account_ids=[alice.account_id])
    dave.fail("add_members", "forbidden", room_id=room, account_ids=[bob.account_id])
    alice.fail("add_members", "not_found", room_id=room, account_ids=[987654321])
    bob.no_event("member_added")
    assert room_entry(alice, room)["last_seq"] == 6


def test_readonly_member_reads_but_cannot_post(server):
    alice, ro = server.user("alice"), server.user("reader")
    room = create_room(alice, "announcements")
    alice.ok("add_members", room_id=room, account_ids=[ro.account_id], role="readonly")
    mid = alice.ok("send_message", room_id=room, body="news", client_msg_id="a1")["message_id"]
    ro.next_event("message_created", pred=in_room(room))
    ro.fail("send_message", "forbidden", room_id=room, body="me too", client_msg_id="r1")
    msgs = ro.ok("history", room_id=room)["messages"]
    assert [m["body"] for m in msgs] == ["news"]
    ro.ok("mark_read", room_id=room, message_id=mid)
    assert room_entry(alice, room)["last_seq"] == 3  # the refused send made no event


def test_remove_member(server):
    alice, bob, carol = (server.user(n) for n in ("alice", "bob", "carol"))
    room = create_room(alice, "team", [bob, carol])
    carol.next_event("room_created", pred=in_room(room))

    # Only admins remove others.
    carol.fail("remove_member", "forbidden", room_id=room, account_id=bob.account_id)
    alice.ok("remove_member", room_id=room, account_id=bob.account_id)
    e = carol.next_event("member_removed", pred=in_room(room))
    assert e == {
        "ev": "member_removed",
        "room_id": room,
        "seq": 2,
        "account_id": bob.account_id,
    }, e

    # A removed member no longer reads, posts or receives the room's events.
    assert room_entry(bob, room) is None
    bob.fail("history", "forbidden", room_id=room)
    bob.fail("send_message", "forbidden", room_id=room, body="hi", client_msg_id="b1")
    alice.ok("send_message", room_id=room, body="after bob", client_msg_id="a1")
    carol.next_event("message_created", pred=in_room(room))
    bob.no_event("message_created")

    # Removing someone who is not a member changes nothing.
    r = alice.request("remove_member", room_id=room, account_id=bob.account_id)
    assert r["ok"] is False and r["error"]["code"] in ("not_found", "conflict"), r


def test_leave_room(server):
    alice, bob, carol = (server.user(n) for n in ("alice", "bob", "carol"))
    room = create_room(alice, "team", [bob, carol])
    carol.next_event("room_created", pred=in_room(room))
    bob.ok("leave_room", room_id=room)
    e = carol.next_event("member_removed", pred=in_room(room))
    assert e["account_id"] == bob.account_id and e["seq"] == 2, e
    assert room_entry(bob, room) is None
    bob.fail("history", "forbidden", room_id=room)
    bob.fail("leave_room", ("forbidden", "not_found"), room_id=room)

    # docs/protocol.md: the last admin cannot leave members without an admin.
    alice.fail("leave_room", "conflict", room_id=room)
    carol.ok("leave_room", room_id=room)
    # The last member may leave.
    alice.ok("leave_room", room_id=room)
    assert [x["type"] for x in alice.ok("list_rooms", details=True)["rooms"]] == ["my"]


def test_non_member_and_unknown_room(server):
    alice, mallory = server.user("alice"), server.user("mallory")
    room = create_room(alice, "private")
    mid = alice.ok("send_message", room_id=room, body="secret", client_msg_id="s")["message_id"]
    mallory.fail("history", "forbidden", room_id=room)
    mallory.fail("send_message", "forbidden", room_id=room, body="x", client_msg_id="m")
    mallory.fail("edit_message", "forbidden", room_id=room, message_id=mid, body="x")
    mallory.fail("delete_message", "forbidden", room_id=room, message_id=mid)
    mallory.fail("mark_read", "forbidden", room_id=room, message_id=mid)
    mallory.fail("add_members", "forbidden", room_id=room, account_ids=[mallory.account_id])
    mallory.fail("leave_room", ("forbidden", "not_found"), room_id=room)
    mallory.no_event()

    unknown = room + 100000
    alice.fail("history", "not_found", room_id=unknown)
    alice.fail("send_message", "not_found", room_id=unknown, body="x", client_msg_id="u")
    alice.fail("add_members", "not_found", room_id=unknown, account_ids=[mallory.account_id])
    alice.fail("mark_read", "not_found", room_id=unknown, message_id="1")
    alice.fail("edit_message", "not_found", room_id=room, message_id="99999", body="x")
    alice.fail("delete_message", "not_found", room_id=room, message_id="99999")
    assert [m["body"] for m in alice.ok("history", room_id=room)["messages"]] == ["secret"]


# ---- messages ----------------------------------------------------------------------------------


def test_send_message_reply_and_pushes(server):
    alice, bob, carol = (server.user(n) for n in ("alice", "bob", "carol"))
    alice2 = server.connect(alice.token)
    bob2 = server.connect(bob.token)
    room = create_room(alice, "team", [bob])
    for c in (bob, bob2, alice2):
        c.next_event("room_created", pred=in_room(room))

    before = int(time.time())
    r = alice.ok("send_message", room_id=room, body="hello", client_msg_id="m-1")
    after = int(time.time())
    assert set(r) == {"re", "ok", "message_id", "seq"}, r
    assert is_digits(r["message_id"]) and r["seq"] == 2, r

    for c in (bob, bob2, alice2):
        e = c.next_event("message_created", pred=in_room(room))
        assert e["room_id"] == room and e["seq"] == 2, e
        m = e["message"]
        check_message(m, alice.account_id, "hello")
        assert m["message_id"] == r["message_id"]
        assert before - 1 <= m["send_time"] <= after + 1, m
        assert m["update_time"] == 0 and m["deleted"] is False, m
    # Not to non-members.
    carol.no_event(timeout=0.3)
    alice.take_events()

    r2 = bob.ok("send_message", room_id=room, body="hi alice", client_msg_id="m-1")
    assert r2["seq"] == 3 and int(r2["message_id"]) > int(r["message_id"]), r2
    e = alice.next_event("message_created", pred=in_room(room))
    assert e["seq"] == 3 and e["message"]["account_id"] == bob.account_id, e

    hist = alice.ok("history", room_id=room)["messages"]
    assert [(m["message_id"], m["body"]) for m in hist] == [
        (r["message_id"], "hello"),
        (r2["message_id"], "hi alice"),
    ]
    entry = room_entry(alice, room)
    assert entry["message_num"] == 2 and entry["last_seq"] == 3, entry


def test_sending_connection_gets_the_reply_not_a_push(server):
    """The push goes to the other members' connections and the sender's OTHER connections; the
    sending connection has the reply (ws-protocol-v1: events "from every other connection")."""
    alice, bob = server.user("alice"), server.user("bob")
    alice2 = server.connect(alice.token)
    room = create_room(alice, "team", [bob])
    r = alice.ok("send_message", room_id=room, body="hello", client_msg_id="m-1")
    for c in (bob, alice2):
        e = c.next_event("message_created", pred=in_room(room))
        assert e["message"]["message_id"] == r["message_id"]
    alice.no_event("message_created", timeout=0.5)


def test_unicode_body_round_trips(server):
    alice, bob = server.user("alice"), server.user("bob")
    room = create_room(alice, "unicode", [bob])
    body = "héllo 世界 😀 \"quotes\" \\ back\nslash \u0001"
    alice.ok("send_message", room_id=room, body=body, client_msg_id="u1")
    e = bob.next_event("message_created", pred=in_room(room))
    assert e["message"]["body"] == body
    assert bob.ok("history", room_id=room)["messages"][0]["body"] == body


def test_edit_and_delete_message(server):
    alice, bob = server.user("alice"), server.user("bob")
    room = create_room(alice, "team", [bob])
    bob.next_event("room_created", pred=in_room(room))
    a = alice.ok("send_message", room_id=room, body="first", client_msg_id="a1")
    b = bob.ok("send_message", room_id=room, body="bob's", client_msg_id="b1")
    bob.next_event("message_created", pred=in_room(room))
    alice.next_event("message_created", pred=in_room(room))

    # Only the author edits or deletes, admins included.
    bob.fail("edit_message", "forbidden", room_id=room, message_id=a["message_id"], body="x")
    bob.fail("delete_message", "forbidden", room_id=room, message_id=a["message_id"])
    alice.fail("edit_message", "forbidden", room_id=room, message_id=b["message_id"], body="x")
    alice.fail("delete_message", "forbidden", room_id=room, message_id=b["message_id"])
    alice.fail("edit_message", "bad_request", room_id=room, message_id=a["message_id"], body="")

    r = alice.ok("edit_message", room_id=room, message_id=a["message_id"], body="first, edited")
    assert r["seq"] == 4 and set(r) == {"re", "ok", "seq"}, r
    e = bob.next_event("message_updated", pred=in_room(room))
    assert e["seq"] == 4 and e["room_id"] == room, e
    check_message(e["message"], alice.account_id, "first, edited")
    assert e["message"]["message_id"] == a["message_id"]
    assert e["message"]["update_time"] >= e["message"]["send_time"] > 0, e
    assert e["message"]["deleted"] is False

    r = alice.ok("delete_message", room_id=room, message_id=a["message_id"])
    assert r["seq"] == 5, r
    e = bob.next_event("message_deleted", pred=in_room(room))
    assert e == {
        "ev": "message_deleted",
        "room_id": room,
        "seq": 5,
        "message_id": a["message_id"],
    }, e

    hist = bob.ok("history", room_id=room)["messages"]
    assert [m["message_id"] for m in hist] == [a["message_id"], b["message_id"]]
    deleted = hist[0]
    assert deleted["body"] == "" and deleted["deleted"] is True, deleted
    assert deleted["account_id"] == alice.account_id
    assert hist[1]["body"] == "bob's" and hist[1]["deleted"] is False

    # A deleted message cannot be edited or deleted again (docs/protocol.md: not_found).
    alice.fail("edit_message", "not_found", room_id=room, message_id=a["message_id"], body="x")
    alice.fail("delete_message", "not_found", room_id=room, message_id=a["message_id"])
    # The id is not reused.
    c = alice.ok("send_message", room_id=room, body="third", client_msg_id="a2")
    assert int(c["message_id"]) > int(b["message_id"]) and c["seq"] == 6, c


def test_history_pagination(server):
    alice, bob = server.user("alice"), server.user("bob")
    room = create_room(alice, "busy", [bob])
    sent = send_many(alice, room, [f"msg {i}" for i in range(120)])
    ids = [r["message_id"] for _, _, r in sent]
    assert all(is_digits(i) for i in ids)
    assert [int(i) for i in ids] == sorted(int(i) for i in ids)
    assert len(set(ids)) == 120
    assert [r["seq"] for _, _, r in sent] == list(range(2, 122))

    def page(**kw):
        msgs = bob.ok("history", room_id=room, **kw)["messages"]
        for m in msgs:
            check_message(m, alice.account_id)
        return [(m["message_id"], m["body"]) for m in msgs]

    every = [(i, f"msg {n}") for n, i in enumerate(ids)]
    # No cursor: the newest page, oldest first; default limit 50.
    assert page() == every[-50:]
    assert page(limit=100) == every[-100:]
    assert page(limit=1) == every[-1:]
    # before: the messages just before the cursor, oldest first.
    assert page(before=ids[60], limit=10) == every[50:60]
    assert page(before=ids[5]) == every[:5]
    assert page(before=ids[0]) == []
    # after: the messages just after the cursor, oldest first.
    assert page(after=ids[60], limit=10) == every[61:71]
    assert page(after=ids[100]) == every[101:]
    assert page(after=ids[-1]) == []

    # Walking backwards and forwards covers every message exactly once.
    back, cursor = [], None
    while True:
        kw = {"limit": 17}
        if cursor:
            kw["before"] = cursor
        p = page(**kw)
        if not p:
            break
        back = p + back
        cursor = p[0][0]
    assert back == every
    fwd = page(before=ids[1], limit=1)
    assert fwd == every[:1]
    while True:
        p = page(after=fwd[-1][0], limit=100)
        if not p:
            break
        fwd += p
    assert fwd == every


def test_mark_read_unread_and_mentions(server):
    alice, bob, carol = (server.user(n) for n in ("alice", "bob", "carol"))
    bob2 = server.connect(bob.token)
    room = create_room(alice, "team", [bob, carol])
    for c in (bob, bob2, carol):
        c.next_event("room_created", pred=in_room(room))
    bodies = [
        f"[To:{bob.account_id}] hello bob",
        "plain",
        f"[To:{carol.account_id}] and [To:{bob.account_id}] both",
        "last",
    ]
    sent = send_many(alice, room, bodies)
    ids = [r["message_id"] for _, _, r in sent]
    carol.wait_events(4, "message_created", room_id=room)

    b = room_entry(bob, room)
    assert (b["unread_num"], b["mention_num"], b["message_num"], b["last_seq"]) == (4, 2, 4, 5), b
    c = room_entry(carol, room)
    assert (c["unread_num"], c["mention_num"]) == (4, 1), c
    # docs/protocol.md: a member's own message marks the room read up to it.
    a = room_entry(alice, room)
    assert (a["unread_num"], a["mention_num"]) == (0, 0), a

    bob2.take_events()
    r = bob.ok("mark_read", room_id=room, message_id=ids[1])
    assert (r["unread_num"], r["mention_num"]) == (2, 1), r
    e = bob2.next_event("read", pred=in_room(room))
    assert e == {
        "ev": "read",
        "room_id": room,
        "message_id": ids[1],
        "unread_num": 2,
        "mention_num": 1,
    }, e
    # The reader's other connections only.
    bob.no_event("read", timeout=0.3)
    alice.no_event("read", timeout=0.0)
    carol.no_event("read", timeout=0.0)

    b = room_entry(bob, room)
    assert (b["unread_num"], b["mention_num"]) == (2, 1), b
    # Other members' counts do not move.
    c = room_entry(carol, room)
    assert (c["unread_num"], c["mention_num"]) == (4, 1), c

    # docs/protocol.md: marking an older message never moves the cursor back.
    r = bob.ok("mark_read", room_id=room, message_id=ids[0])
    assert (r["unread_num"], r["mention_num"]) == (2, 1), r

    r = carol.ok("mark_read", room_id=room, message_id=ids[3])
    assert (r["unread_num"], r["mention_num"]) == (0, 0), r

    # New messages count again; a mention of a non-member counts for nobody.
    alice.ok("send_message", room_id=room, body=f"[To:{bob.account_id}] again", client_msg_id="x")
    alice.ok("send_message", room_id=room, body="[To:987654] stranger", client_msg_id="y")
    bob.wait_events(6, "message_created", room_id=room)
    b = room_entry(bob, room)
    assert (b["unread_num"], b["mention_num"], b["message_num"]) == (4, 2, 6), b
    c = room_entry(carol, room)
    assert (c["unread_num"], c["mention_num"]) == (2, 0), c

    # docs/protocol.md: deleted messages are not unread.
    alice.ok("delete_message", room_id=room, message_id=ids[2])
    b = room_entry(bob, room)
    assert (b["unread_num"], b["mention_num"]) == (3, 1), b


def test_unread_counts_across_members_and_late_joiner(server):
    alice, bob, carol = (server.user(n) for n in ("alice", "bob", "carol"))
    room = create_room(alice, "team", [bob])
    send_many(alice, room, [f"a{i}" for i in range(5)])
    send_many(bob, room, [f"b{i}" for i in range(3)])
    # Each member's unread counts the others' messages after its read cursor.
    assert room_entry(alice, room)["unread_num"] == 3
    assert room_entry(bob, room)["unread_num"] == 0  # its own message marked the room read
    alice.ok("add_members", room_id=room, account_ids=[carol.account_id])
    c = room_entry(carol, room)
    assert (c["unread_num"], c["mention_num"], c["message_num"]) == (0, 0, 8), c
    alice.ok("send_message", room_id=room, body="welcome carol", client_msg_id="w")
    assert room_entry(carol, room)["unread_num"] == 1
    assert room_entry(bob, room)["unread_num"] == 1


# ---- ordering and idempotency ------------------------------------------------------------------


def test_pipelined_sends_from_many_clients_are_ordered(server):
    n_senders, per_sender = 4, 50
    admin = server.user("admin")
    senders = [server.user(f"sender{i}") for i in range(n_senders)]
    observer = server.user("observer")
    room = create_room(admin, "race", senders + [observer])
    observer.next_event("room_created", pred=in_room(room))

    replies = [None] * n_senders
    errors = []

    def run(i):
        try:
            c = senders[i]
            ids = [
                c.send("send_message", room_id=room, body=f"s{i}-{k}", client_msg_id=f"k{k}")
                for k in range(per_sender)
            ]
            replies[i] = [c.reply(rid, timeout=60) for rid in ids]
        except BaseException as e:  # reported in the main thread
            errors.append(e)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n_senders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    total = n_senders * per_sender

    all_seqs = []
    for i, rs in enumerate(replies):
        assert all(r["ok"] is True for r in rs), [r for r in rs if not r["ok"]][:3]
        # Requests from one connection are one client's send order.
        mids = [int(r["message_id"]) for r in rs]
        assert mids == sorted(mids) and len(set(mids)) == per_sender, (i, mids)
        seqs = [r["seq"] for r in rs]
        assert seqs == sorted(seqs), (i, seqs)
        all_seqs += seqs
    assert sorted(all_seqs) == list(range(2, 2 + total))

    def check_stream(events):
        seqs = [e["seq"] for e in events]
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), seqs
        mids = [int(e["message"]["message_id"]) for e in events]
        assert all(a < b for a, b in zip(mids, mids[1:])), mids

    # The observer sees every message once, seq strictly increasing by one, ids increasing.
    events = observer.wait_events(total, "message_created", room_id=room, timeout=60)
    assert len(events) == total
    check_stream(events)
    assert events[0]["seq"] == 2
    by_seq = {e["seq"]: e["message"] for e in events}
    for i, rs in enumerate(replies):
        for k, r in enumerate(rs):
            m = by_seq[r["seq"]]
            assert m["message_id"] == r["message_id"] and m["body"] == f"s{i}-{k}", (r, m)
            assert m["account_id"] == senders[i].account_id
    # Each sender sees the others' messages in order too; with its own replies, every seq.
    # (Whether a sender's own connection also gets pushes of its own sends is checked in
    # test_sending_connection_gets_the_reply_not_a_push, not here.)
    for i, c in enumerate(senders):
        own = {r["seq"] for r in replies[i]}
        deadline = time.monotonic() + 60
        while True:
            evs = c.wait_events(0, "message_created", room_id=room)
            seqs = [e["seq"] for e in evs]
            if set(seqs) | own == set(range(2, 2 + total)) or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs), seqs
        missing = set(range(2, 2 + total)) - set(seqs) - own
        assert not missing, f"sender {i} never saw seqs {sorted(missing)[:10]}"
    hist = observer.ok("history", room_id=room, limit=100)["messages"]
    assert [m["message_id"] for m in hist] == [by_seq[s]["message_id"] for s in sorted(by_seq)][
        -100:
    ]


def test_idempotent_retry(server):
    alice, bob = server.user("alice"), server.user("bob")
    room = create_room(alice, "team", [bob])
    bob.next_event("room_created", pred=in_room(room))

    r1 = alice.ok("send_message", room_id=room, body="once", client_msg_id="retry-1")
    r2 = alice.ok("send_message", room_id=room, body="once", client_msg_id="retry-1")
    assert (r2["message_id"], r2["seq"]) == (r1["message_id"], r1["seq"])
    e = bob.next_event("message_created", pred=in_room(room))
    assert e["message"]["message_id"] == r1["message_id"]
    bob.no_event("message_created", timeout=0.5)

    # Back-to-back, pipelined: both replies name the same single message.
    a = alice.send("send_message", room_id=room, body="twice", client_msg_id="retry-2")
    b = alice.send("send_message", room_id=room, body="twice", client_msg_id="retry-2")
    ra, rb = alice.reply(a), alice.reply(b)
    assert ra["ok"] and rb["ok"], (ra, rb)
    assert (ra["message_id"], ra["seq"]) == (rb["message_id"], rb["seq"])
    assert ra["seq"] == r1["seq"] + 1
    bob.next_event("message_created", pred=in_room(room))
    bob.no_event("message_created", timeout=0.5)

    # The same client_msg_id from another account, or in another room, is another message.
    rb1 = bob.ok("send_message", room_id=room, body="bob once", client_msg_id="retry-1")
    assert rb1["message_id"] not in (r1["message_id"], ra["message_id"])
    room2 = create_room(alice, "other")
    r3 = alice.ok("send_message", room_id=room2, body="once", client_msg_id="retry-1")
    assert r3["seq"] == 2

    hist = alice.ok("history", room_id=room)["messages"]
    assert [m["body"] for m in hist] == ["once", "twice", "bob once"]
    entry = room_entry(alice, room)
    assert entry["message_num"] == 3 and entry["last_seq"] == 4, entry


def test_role_changes_and_last_admin(server):
    """docs/protocol.md: add_members on a member with another role changes it (a member_added
    push with the new role); the same role does nothing; no change may leave members without an
    admin (conflict)."""
    alice, bob, carol = (server.user(n) for n in ("alice", "bob", "carol"))
    room = create_room(alice, "team", [bob, carol])
    carol.next_event("room_created", pred=in_room(room))
    alice.ok("add_members", room_id=room, account_ids=[bob.account_id], role="admin")
    e = carol.next_event("member_added", pred=in_room(room))
    assert (e["seq"], e["account_id"], e["role"]) == (2, bob.account_id, "admin"), e
    assert room_entry(bob, room)["role"] == "admin"
    # The same role again changes nothing and pushes nothing.
    alice.ok("add_members", room_id=room, account_ids=[bob.account_id], role="admin")
    carol.no_event("member_added", timeout=0.5)
    assert room_entry(alice, room)["last_seq"] == 2
    # Bob, now admin, demotes alice; then bob is the last admin and cannot demote himself.
    bob.ok("add_members", room_id=room, account_ids=[alice.account_id], role="readonly")
    assert room_entry(alice, room)["role"] == "readonly"
    alice.fail("send_message", "forbidden", room_id=room, body="x", client_msg_id="x")
    bob.fail("add_members", "conflict", room_id=room, account_ids=[bob.account_id], role="member")
    bob.fail("leave_room", "conflict", room_id=room)
    assert room_entry(bob, room)["role"] == "admin"


def test_removed_member_added_again(server):
    alice, bob = server.user("alice"), server.user("bob")
    room = create_room(alice, "team", [bob])
    send_many(alice, room, ["before 1", "before 2"])
    alice.ok("remove_member", room_id=room, account_id=bob.account_id)
    send_many(alice, room, ["while away"])
    alice.ok("add_members", room_id=room, account_ids=[bob.account_id])
    e = bob.next_event("member_added", pred=in_room(room))
    assert e["account_id"] == bob.account_id and e["role"] == "member", e
    entry = room_entry(bob, room)
    assert entry["role"] == "member" and entry["unread_num"] == 0 and entry["last_seq"] == 6, entry
    # Back in: bob reads the whole history and receives new events again.
    assert [m["body"] for m in bob.ok("history", room_id=room)["messages"]] == [
        "before 1",
        "before 2",
        "while away",
    ]
    bob.take_events()
    alice.ok("send_message", room_id=room, body="welcome back", client_msg_id="wb")
    assert bob.next_event("message_created", pred=in_room(room))["seq"] == 7


def test_pipelined_create_room_gives_unique_rooms(server):
    users = [server.user(f"u{i}") for i in range(4)]
    pending = [(c, c.send("create_room", name=f"{c.name}-{k}", members=[])) for c in users
               for k in range(25)]
    ids = []
    for c, rid in pending:
        r = c.reply(rid)
        assert r["ok"] is True, r
        ids.append(r["room_id"])
    assert len(set(ids)) == 100
    for c in users:
        # Each account's 25 rooms, besides its my room (made at sign-up).
        rooms = [x for x in c.ok("list_rooms", details=True)["rooms"] if x["type"] == "group"]
        assert len(rooms) == 25 and all(x["role"] == "admin" and x["last_seq"] == 1 for x in rooms)
        assert sorted(x["name"] for x in rooms) == sorted(f"{c.name}-{k}" for k in range(25))


def test_events_of_rooms_joined_later_reach_existing_connections(server):
    alice, bob = server.user("alice"), server.user("bob")
    bob2 = server.connect(bob.token)  # connected before any room exists
    room = create_room(alice, "later")
    alice.ok("add_members", room_id=room, account_ids=[bob.account_id])
    for c in (bob, bob2):
        c.next_event("member_added", pred=in_room(room))
    alice.ok("send_message", room_id=room, body="hello", client_msg_id="h")
    for c in (bob, bob2):
        e = c.next_event("message_created", pred=in_room(room))
        assert e["message"]["body"] == "hello" and e["seq"] == 3, e


def test_fan_out_to_many_members_and_connections(server):
    admin = server.user("admin")
    members = [server.user(f"m{i}") for i in range(40)]
    extra = [server.connect(m.token) for m in members[:10]]  # second connections
    room = admin.ok("create_room", name="big", members=[m.account_id for m in members])["room_id"]
    r = admin.ok("send_message", room_id=room, body="to everyone", client_msg_id="all")
    for c in members + extra:
        e = c.next_event("message_created", pred=in_room(room))
        assert e["seq"] == r["seq"] and e["message"]["body"] == "to everyone", e
        assert c.next_event("room_created", pred=in_room(room))["seq"] == 1


@pytest.mark.parametrize("first_char", [ord("a"), 0x1F600], ids=["ascii", "4-byte"])
def test_history_of_100_maximal_messages(server, first_char):
    """A full history page of 65,535-character bodies (6.5 MB in one reply, 26 MB with 4-byte
    characters) must be answered like any other, to a reader that reads."""
    alice, bob = server.user("alice"), server.user("bob")
    room = create_room(alice, "long bodies", [bob])
    bodies = [chr(first_char + i % 26) * 65535 for i in range(100)]
    send_many(alice, room, bodies, window=2)
    r = bob.ok("history", room_id=room, limit=100, timeout=60)
    assert [m["body"] for m in r["messages"]] == bodies
    assert not bob.closed and not alice.closed
    bob.ok("ping")


def test_concurrent_mark_read_keeps_the_furthest_cursor(server):
    alice, bob = server.user("alice"), server.user("bob")
    bob2 = server.connect(bob.token)
    room = create_room(alice, "reads", [bob])
    sent = send_many(alice, room, [f"m{i}" for i in range(60)])
    ids = [r["message_id"] for _, _, r in sent]
    order = list(range(50))
    random.shuffle(order)
    pending = [((bob, bob2)[k % 2], (bob, bob2)[k % 2].send("mark_read", room_id=room,
                                                            message_id=ids[i]))
               for k, i in enumerate(order)]
    for c, rid in pending:
        r = c.reply(rid)
        assert r["ok"] is True, r
        assert r["unread_num"] <= 60 - 1, r
    entry = room_entry(bob, room)
    # Message 50 (index 49) was marked: 10 remain, whatever order the marks arrived in.
    assert entry["unread_num"] == 10, entry
