"""Room management, room types, tasks and the message extensions over the WebSocket, against a
real hibikid (docs/protocol.md, "Rooms the Chatwork way"). Every op is also tried with its bad
inputs: not a member, read-only, not admin, not found, bad parameters.
"""

import pytest


def create_room(admin, name, members=(), **extra):
    r = admin.ok("create_room", name=name, members=[m.account_id for m in members], **extra)
    return r["room_id"]


def in_room(room_id):
    return lambda e: e.get("room_id") == room_id


def entry(client, room_id, **extra):
    rooms = client.ok("list_rooms", **extra)["rooms"]
    found = [x for x in rooms if x["room_id"] == room_id]
    return found[0] if found else None


# ---- room types ---------------------------------------------------------------------------------


def test_clients_create_group_rooms_only(server):
    alice, bob = server.user("alice"), server.user("bob")
    room = create_room(alice, "team", [bob], type="group")
    e = bob.next_event("room_created", pred=in_room(room))
    assert e["type"] == "group", e
    for bad in ("my", "direct", "channel", 3):
        r = alice.fail("create_room", "bad_request", name="x", members=[bob.account_id], type=bad)
        assert "type" in r["error"]["message"], r
    # Only the first room exists; the server is still serving.
    rooms = alice.ok("list_rooms")["rooms"]
    assert [x["room_id"] for x in rooms] == [room], rooms


def test_list_rooms_details_add_the_type(server):
    alice = server.user("alice")
    room = create_room(alice, "team")
    plain = entry(alice, room)
    assert "type" not in plain, plain  # the v1 entry is unchanged
    detailed = entry(alice, room, details=True)
    assert detailed["type"] == "group", detailed
    assert {k: v for k, v in detailed.items() if k in plain} == plain
    alice.fail("list_rooms", "bad_request", details="yes")
