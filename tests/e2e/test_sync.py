"""sync: a client that saw seq k of a room gets the events after k pushed in seq order, then
`synced`; more than 1000 missing events become one `gap`; rooms it is not in are skipped."""

import threading
import time

from conftest import send_many


def create_room(admin, name, members=()):
    return admin.ok("create_room", name=name, members=[m.account_id for m in members])["room_id"]


def in_room(room_id):
    return lambda e: e.get("room_id") == room_id


def do_sync(client, since, timeout=30):
    """Runs sync and returns the pushes up to and including `synced`."""
    client.take_events()
    r = client.ok("sync", since={str(k): v for k, v in since.items()})
    assert set(r) == {"re", "ok"}, r
    events = client.events_until("synced", timeout=timeout)
    assert events[-1] == {"ev": "synced"}, events[-1]
    return events[:-1]


def test_sync_pushes_missed_events_in_seq_order(server):
    alice, bob = server.user("alice"), server.user("bob")
    room = create_room(alice, "team", [bob])
    sent = send_many(alice, room, [f"m{i}" for i in range(6)])
    ids = [r["message_id"] for _, _, r in sent]
    alice.ok("edit_message", room_id=room, message_id=ids[1], body="m1 edited")
    alice.ok("delete_message", room_id=room, message_id=ids[2])
    carol = server.user("carol")
    alice.ok("add_members", room_id=room, account_ids=[carol.account_id], role="readonly")
    # seq: 1 room_created, 2..7 messages, 8 updated, 9 deleted, 10 member_added.
    live = bob.wait_events(10, room_id=room)
    assert [e["seq"] for e in live] == list(range(1, 11)), live

    # A new connection of bob that saw up to seq 3 gets 4..10 exactly, as they were pushed.
    bob2 = server.connect(bob.token)
    events = do_sync(bob2, {room: 3})
    assert [e["seq"] for e in events] == list(range(4, 11)), events
    assert all(e["room_id"] == room for e in events)
    assert [e["ev"] for e in events] == ["message_created"] * 4 + [
        "message_updated",
        "message_deleted",
        "member_added",
    ]
    by_seq = {e["seq"]: e for e in live}
    for e in events:
        if e["ev"] != "message_created":
            assert e == by_seq[e["seq"]], (e, by_seq[e["seq"]])
        else:
            live_m, m = by_seq[e["seq"]]["message"], e["message"]
            assert m["message_id"] == live_m["message_id"] and m["account_id"] == alice.account_id
    assert events[4]["message"]["body"] == "m1 edited"
    assert events[5]["message_id"] == ids[2]
    assert events[6]["account_id"] == carol.account_id and events[6]["role"] == "readonly"

    # From 0: the room's whole log, room_created first.
    events = do_sync(bob2, {room: 0})
    assert [e["seq"] for e in events] == list(range(1, 11)), events
    assert events[0]["ev"] == "room_created" and events[0]["name"] == "team"

    # Up to date: nothing but synced.
    assert do_sync(bob2, {room: 10}) == []
    # No rooms at all.
    assert do_sync(bob2, {}) == []
    # The connection keeps getting live events afterwards.
    alice.ok("send_message", room_id=room, body="live", client_msg_id="live")
    e = bob2.next_event("message_created", pred=in_room(room))
    assert e["seq"] == 11


def test_sync_skips_rooms_the_account_is_not_in(server):
    alice, bob, carol = server.user("alice"), server.user("bob"), server.user("carol")
    shared = create_room(alice, "shared", [bob])
    private = create_room(carol, "carol only")
    left = create_room(alice, "bob leaves", [bob])
    send_many(carol, private, ["secret 1", "secret 2"])
    send_many(alice, shared, ["s1", "s2"])
    send_many(alice, left, ["l1"])
    bob.ok("leave_room", room_id=left)
    alice.ok("send_message", room_id=left, body="after bob left", client_msg_id="x")

    bob2 = server.connect(bob.token)
    events = do_sync(bob2, {private: 0, shared: 1, left: 0, 987654: 0})
    assert {e["room_id"] for e in events} == {shared}, events
    assert [e["seq"] for e in events] == [2, 3]
    assert not any("secret" in str(e) for e in events)


def test_sync_several_rooms_each_in_seq_order(server):
    alice, bob = server.user("alice"), server.user("bob")
    rooms = [create_room(alice, f"r{i}", [bob]) for i in range(3)]
    for i, room in enumerate(rooms):
        send_many(alice, room, [f"r{i}-{k}" for k in range(5 + i)])
    bob2 = server.connect(bob.token)
    events = do_sync(bob2, {rooms[0]: 0, rooms[1]: 4, rooms[2]: 7})
    for i, (room, since) in enumerate(zip(rooms, (0, 4, 7))):
        seqs = [e["seq"] for e in events if e["room_id"] == room]
        assert seqs == list(range(since + 1, 5 + i + 2)), (room, seqs)


def test_sync_more_than_1000_missing_is_a_gap(server):
    alice, bob = server.user("alice"), server.user("bob")
    room = create_room(alice, "huge", [bob])
    # 1000 messages: seq 2..1001. Several connections share the work (per-connection rate limits).
    senders = [alice] + [server.connect(alice.token) for _ in range(4)]
    for i, c in enumerate(senders):
        c.account_id = alice.account_id
        send_many(c, room, [f"c{i}-{k}" for k in range(200)], id_prefix=f"s{i}")
    assert [x for x in bob.ok("list_rooms")["rooms"] if x["room_id"] == room][0]["last_seq"] == 1001

    bob2 = server.connect(bob.token)
    # 1001 missing: one gap with the current seq instead of the events.
    events = do_sync(bob2, {room: 0})
    assert events == [{"ev": "gap", "room_id": room, "seq": 1001}], events[:3]
    # Exactly 1000 missing: not more than 1000, so the events themselves.
    events = do_sync(bob2, {room: 1}, timeout=60)
    assert [e["seq"] for e in events] == list(range(2, 1002))
    assert all(e["ev"] == "message_created" and e["room_id"] == room for e in events)
    mids = [int(e["message"]["message_id"]) for e in events]
    assert mids == sorted(mids) and len(set(mids)) == 1000
    # 999 missing.
    events = do_sync(bob2, {room: 2}, timeout=60)
    assert [e["seq"] for e in events] == list(range(3, 1002))


def test_sync_while_others_keep_sending_loses_nothing(server):
    """A connection that syncs from seq 1 while messages keep arriving sees, between the sync
    replay and the live pushes, every seq of the room: nothing falls between the two."""
    alice, bob = server.user("alice"), server.user("bob")
    room = create_room(alice, "busy", [bob])
    send_many(alice, room, [f"early {i}" for i in range(100)])
    senders = [server.connect(alice.token) for _ in range(3)]
    errors = []

    def run(i, c):
        try:
            c.account_id = alice.account_id
            send_many(c, room, [f"late {i}-{k}" for k in range(150)], id_prefix=f"late{i}")
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(senders)]
    for t in threads:
        t.start()
    time.sleep(0.2)
    bob2 = server.connect(bob.token)
    bob2.ok("sync", since={str(room): 1})
    bob2.events_until("synced", timeout=60)
    for t in threads:
        t.join(120)
    assert not errors, errors
    last = [x for x in alice.ok("list_rooms")["rooms"] if x["room_id"] == room][0]["last_seq"]
    assert last == 1 + 100 + 450
    events = bob2.wait_events(0, "message_created", room_id=room)
    deadline = time.monotonic() + 30
    while max((e["seq"] for e in events), default=0) < last and time.monotonic() < deadline:
        time.sleep(0.05)
        events = bob2.wait_events(0, "message_created", room_id=room)
    assert {e["seq"] for e in events} == set(range(2, last + 1))
