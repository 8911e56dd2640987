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
    # Only the first room exists besides alice's my room; the server is still serving.
    rooms = alice.ok("list_rooms", details=True)["rooms"]
    assert [x["room_id"] for x in rooms if x["type"] != "my"] == [room], rooms


def test_list_rooms_details_add_the_type(server):
    alice = server.user("alice")
    room = create_room(alice, "team")
    plain = entry(alice, room)
    assert "type" not in plain, plain  # the v1 entry is unchanged
    detailed = entry(alice, room, details=True)
    assert detailed["type"] == "group", detailed
    assert {k: v for k, v in detailed.items() if k in plain} == plain
    alice.fail("list_rooms", "bad_request", details="yes")


def my_room_of(client):
    """The account's my room, from list_rooms alone (sign-up made it; no `me` needed)."""
    mine = [x for x in client.ok("list_rooms", details=True)["rooms"] if x["type"] == "my"]
    assert len(mine) == 1, mine
    return mine[0]["room_id"]


def test_my_and_direct_rooms_keep_their_members_and_names(server):
    alice, bob, carol = (server.user(n) for n in ("alice", "bob", "carol"))
    my = my_room_of(alice)
    alice.ok("request_contact", account_id=bob.account_id)
    direct = bob.ok("accept_contact", request_id=alice.account_id)["room_id"]
    assert alice.ok("get_room", room_id=direct)["room"]["type"] == "direct"
    assert alice.ok("get_room", room_id=my)["room"]["type"] == "my"
    for room, who in ((my, (alice,)), (direct, (alice, bob))):
        for c in who:
            # No new member, no role change, nobody removed or leaving, no new list of members.
            c.fail("add_members", "forbidden", room_id=room, account_ids=[carol.account_id])
            c.fail("add_members", "forbidden", room_id=room, account_ids=[c.account_id],
                   role="member")
            c.fail("set_members", "forbidden", room_id=room, members_admin_ids=[c.account_id])
            c.fail("leave_room", "forbidden", room_id=room)
            # Not renamed, no icon, not deleted; the description may change.
            r = c.fail("update_room", "forbidden", room_id=room, name="renamed")
            assert "name" in r["error"]["message"], r
            c.fail("update_room", "forbidden", room_id=room, icon_preset="star")
            c.fail("delete_room", "forbidden", room_id=room)
            c.ok("update_room", room_id=room, description="notes by %s" % c.name)
    bob.fail("remove_member", "forbidden", room_id=direct, account_id=alice.account_id)
    carol.fail("get_room", "forbidden", room_id=direct)
    carol.fail("update_room", "forbidden", room_id=direct, name="mine")
    # Nothing changed but the description.
    info = bob.ok("get_room", room_id=direct)["room"]
    assert (info["name"], info["member_num"], info["icon_preset"], info["description"]) == \
        ("", 2, "group", "notes by bob"), info
    members = {m["account_id"]: m["role"] for m in bob.ok("get_members", room_id=direct)["members"]}
    assert members == {alice.account_id: "admin", bob.account_id: "admin"}, members
    assert [m["account_id"] for m in alice.ok("get_members", room_id=my)["members"]] == \
        [alice.account_id]
    # Messages and tasks work there as anywhere: a note to self, a task for the contact.
    alice.ok("send_message", room_id=my, body="note [toall]", client_msg_id="n1")
    alice.ok("add_task", room_id=my, body="for me", to_ids=[alice.account_id])
    alice.fail("add_task", "bad_request", room_id=my, body="x", to_ids=[bob.account_id])
    alice.ok("add_task", room_id=direct, body="for bob", to_ids=[bob.account_id])
    bob.next_event("task_added", pred=in_room(direct))
    assert sorted(t["body"] for t in alice.ok("my_tasks")["tasks"]) == ["for me"]
    assert [t["body"] for t in bob.ok("my_tasks")["tasks"]] == ["for bob"]
    alice.ok("ping")


# ---- room management ----------------------------------------------------------------------------


def test_get_room_shows_counts_and_settings(server):
    alice, bob, carol = (server.user(n) for n in ("alice", "bob", "carol"))
    room = create_room(alice, "team", [bob], description="the team")
    bob.next_event("room_created", pred=in_room(room))
    alice.ok("send_message", room_id=room, body="hi [To:%d]" % bob.account_id, client_msg_id="a1")
    sent = bob.ok("history", room_id=room)["messages"][-1]["send_time"]
    info = bob.ok("get_room", room_id=room)["room"]
    assert info == {
        "room_id": room,
        "name": "team",
        "description": "the team",
        "type": "group",
        "icon_preset": "group",
        "role": "member",
        "unread_num": 1,
        "mention_num": 1,
        "message_num": 1,
        "member_num": 2,
        "task_num": 0,
        "mytask_num": 0,
        "file_num": 0,
        "last_update_time": sent,
        "last_seq": 2,
    }, info
    carol.fail("get_room", "forbidden", room_id=room)
    carol.fail("get_room", "not_found", room_id=987654)
    carol.fail("get_room", "bad_request", room_id="1")
    carol.fail("get_room", "bad_request")


def test_update_room_admins_only_and_pushed(server):
    alice, bob, carol = (server.user(n) for n in ("alice", "bob", "carol"))
    room = create_room(alice, "team", [bob])
    bob.next_event("room_created", pred=in_room(room))
    r = alice.ok("update_room", room_id=room, name="renamed", icon_preset="beer")
    assert r["room_id"] == room and r["seq"] == 2, r
    e = bob.next_event("room_updated", pred=in_room(room))
    assert e == {
        "ev": "room_updated",
        "room_id": room,
        "seq": 2,
        "name": "renamed",
        "description": "",
        "icon_preset": "beer",
    }, e
    assert entry(bob, room)["name"] == "renamed"
    assert bob.ok("get_room", room_id=room)["room"]["icon_preset"] == "beer"

    bob.fail("update_room", "forbidden", room_id=room, name="mine")
    carol.fail("update_room", "forbidden", room_id=room, name="mine")
    alice.fail("update_room", "not_found", room_id=987654, name="x")
    alice.fail("update_room", "bad_request", room_id=room)
    alice.fail("update_room", "bad_request", room_id=room, name="")
    alice.fail("update_room", "bad_request", room_id=room, name=5)
    alice.fail("update_room", "bad_request", room_id=room, icon_preset="rocket")
    alice.fail("update_room", "too_large", room_id=room, name="x" * 256)
    # Nothing changed by the refusals; the same values again record nothing.
    r = alice.ok("update_room", room_id=room, name="renamed")
    assert r["seq"] == 2, r
    bob.no_event("room_updated")


def test_get_members_with_roles_and_names(server):
    alice, bob, carol = (server.user(n) for n in ("alice", "bob", "carol"))
    room = create_room(alice, "team", [bob])
    alice.ok("add_members", room_id=room, account_ids=[carol.account_id], role="readonly")
    members = carol.ok("get_members", room_id=room)["members"]
    assert members == [
        {"account_id": alice.account_id, "role": "admin", "name": "alice"},
        {"account_id": bob.account_id, "role": "member", "name": "bob"},
        {"account_id": carol.account_id, "role": "readonly", "name": "carol"},
    ], members
    dave = server.user("dave")
    dave.fail("get_members", "forbidden", room_id=room)
    dave.fail("get_members", "not_found", room_id=987654)
    dave.fail("get_members", "bad_request", room_id=0)


def test_set_members_replaces_the_lists(server):
    alice, bob, carol, dave = (server.user(n) for n in ("alice", "bob", "carol", "dave"))
    room = create_room(alice, "team", [bob, carol])
    carol.next_event("room_created", pred=in_room(room))
    r = alice.ok(
        "set_members",
        room_id=room,
        members_admin_ids=[alice.account_id, bob.account_id],
        members_readonly_ids=[dave.account_id],
    )
    assert r["admin"] == sorted([alice.account_id, bob.account_id]), r
    assert r["member"] == [] and r["readonly"] == [dave.account_id], r
    e = carol.next_event("member_removed", pred=in_room(room))
    assert e["account_id"] == carol.account_id, e
    assert entry(carol, room) is None
    assert entry(dave, room)["role"] == "readonly"
    assert entry(bob, room)["role"] == "admin"

    dave.fail("set_members", "forbidden", room_id=room, members_admin_ids=[dave.account_id])
    carol.fail("set_members", "forbidden", room_id=room, members_admin_ids=[carol.account_id])
    alice.fail("set_members", "bad_request", room_id=room, members_admin_ids=[])
    alice.fail("set_members", "bad_request", room_id=room, members_member_ids=[bob.account_id])
    alice.fail("set_members", "bad_request", room_id=room, members_admin_ids="1,2")
    alice.fail(
        "set_members",
        "bad_request",
        room_id=room,
        members_admin_ids=[alice.account_id],
        members_member_ids=[alice.account_id],
    )
    alice.fail("set_members", "not_found", room_id=room, members_admin_ids=[987654321])
    alice.fail("set_members", "not_found", room_id=987654, members_admin_ids=[alice.account_id])
    # The refusals changed nothing.
    members = {m["account_id"]: m["role"] for m in alice.ok("get_members", room_id=room)["members"]}
    assert members == {alice.account_id: "admin", bob.account_id: "admin", dave.account_id: "readonly"}


def test_delete_room_vanishes_from_every_read(server):
    alice, bob, carol = (server.user(n) for n in ("alice", "bob", "carol"))
    room = create_room(alice, "team", [bob])
    bob.next_event("room_created", pred=in_room(room))
    alice.ok("send_message", room_id=room, body="secret", client_msg_id="a1")
    bob.fail("delete_room", "forbidden", room_id=room)
    carol.fail("delete_room", "forbidden", room_id=room)
    alice.fail("delete_room", "not_found", room_id=987654)
    alice.fail("delete_room", "bad_request", room_id="x")

    alice.ok("delete_room", room_id=room)
    e = bob.next_event("room_deleted", pred=in_room(room))
    assert e == {"ev": "room_deleted", "room_id": room, "seq": 3}, e
    for c in (alice, bob):
        assert entry(c, room) is None
        c.fail("history", "not_found", room_id=room)
        c.fail("get_room", "not_found", room_id=room)
        c.fail("get_members", "not_found", room_id=room)
        c.fail("send_message", "not_found", room_id=room, body="x", client_msg_id="z")
    alice.fail("delete_room", "not_found", room_id=room)
    # A sync naming it replays nothing for it.
    bob.take_events()
    bob.ok("sync", since={str(room): 0})
    bob.next_event("synced")
    bob.no_event("message_created", pred=in_room(room))


def test_delete_room_takes_messages_tasks_and_counts_from_every_read(server):
    alice, bob = server.user("alice"), server.user("bob")
    room = create_room(alice, "team", [bob])
    other = create_room(alice, "other", [bob])
    bob.next_event("room_created", pred=in_room(other))
    mid = alice.ok("send_message", room_id=room, body="hi [To:%d]" % bob.account_id,
                   client_msg_id="a1")["message_id"]
    alice.ok("add_task", room_id=room, body="in team", to_ids=[bob.account_id, alice.account_id])
    alice.ok("add_task", room_id=other, body="in other", to_ids=[bob.account_id])
    before = bob.ok("my_status")
    # Unread: the message and the two tasks' messages (one in each room).
    assert (before["unread_num"], before["mention_num"], before["mytask_num"],
            before["mytask_room_num"]) == (3, 1, 2, 2), before
    assert len(bob.ok("my_tasks")["tasks"]) == 2

    alice.ok("delete_room", room_id=room)
    bob.next_event("room_deleted", pred=in_room(room))
    after = bob.ok("my_status")
    assert after == dict(before, re=after["re"], unread_room_num=1, mention_room_num=0,
                         mytask_room_num=1, unread_num=1, mention_num=0, mytask_num=1), after
    assert [(t["room"]["room_id"], t["body"]) for t in bob.ok("my_tasks")["tasks"]] == \
        [(other, "in other")]
    assert alice.ok("my_status")["mytask_num"] == 0
    assert alice.ok("my_tasks")["tasks"] == []
    for c in (alice, bob):
        assert entry(c, room, details=True) is None
        assert entry(c, other, details=True)["task_num"] == 1
        c.fail("get_message", "not_found", room_id=room, message_id=mid)
        c.fail("list_tasks", "not_found", room_id=room)
        c.fail("get_task", "not_found", room_id=room, task_id=1)
        c.fail("set_task_status", "not_found", room_id=room, task_id=1, status="done")
        c.fail("add_task", "not_found", room_id=room, body="x", to_ids=[c.account_id])
        c.fail("mark_read", "not_found", room_id=room, message_id=mid)
        c.fail("mark_unread", "not_found", room_id=room, message_id=mid)
        c.fail("history", "not_found", room_id=room, after="0")
        c.fail("fetch_messages", "not_found", room_id=room, force=True)
        c.fail("update_room", "not_found", room_id=room, description="x")
        c.fail("set_members", "not_found", room_id=room, members_admin_ids=[c.account_id])
        c.fail("leave_room", "not_found", room_id=room)
    # The other room is untouched, and everything holds after a restart (read models rebuilt
    # from the same rows).
    server.restart()
    bob = server.connect(bob.token)
    assert bob.ok("my_status")["mytask_num"] == 1
    assert entry(bob, room) is None
    bob.fail("get_message", "not_found", room_id=room, message_id=mid)


# ---- tasks --------------------------------------------------------------------------------------


def test_tasks_one_per_assignee_pushed_and_counted(server):
    alice, bob, carol, dave = (server.user(n) for n in ("alice", "bob", "carol", "dave"))
    room = create_room(alice, "team", [bob, carol])
    carol.next_event("room_created", pred=in_room(room))
    r = alice.ok("add_task", room_id=room, body="write the spec",
                 to_ids=[bob.account_id, carol.account_id], limit=1900000000)
    # The message that shows the tasks (seq 2), then one task each (seqs 3 and 4).
    assert r["task_ids"] == [1, 2] and r["seq"] == 4 and r["message_id"] == "1", r
    e = carol.next_event("message_created", pred=in_room(room))
    assert e["seq"] == 2 and e["message"]["message_id"] == "1", e
    e = carol.next_event("task_added", pred=in_room(room))
    assert e["seq"] == 3 and e["task"]["task_id"] == 1, e
    e = carol.next_event("task_added", pred=in_room(room))
    t = e["task"]
    assert t == {
        "task_id": 2,
        "room_id": room,
        "account": {"account_id": carol.account_id, "name": "carol"},
        "assigned_by_account": {"account_id": alice.account_id, "name": "alice"},
        "message_id": "1",
        "body": "write the spec",
        "limit_time": 1900000000,
        "limit_type": "time",
        "status": "open",
        "time": t["time"],
        "update_time": 0,
    }, e
    assert bob.ok("get_task", room_id=room, task_id=1)["task"]["account"]["account_id"] == bob.account_id

    detailed = entry(bob, room, details=True)
    assert detailed["task_num"] == 2 and detailed["mytask_num"] == 1, detailed
    status = bob.ok("my_status")
    # The task's message is unread for bob (its text mentions nobody).
    assert status == {"re": status["re"], "ok": True, "unread_room_num": 1, "mention_room_num": 0,
                      "mytask_room_num": 1, "unread_num": 1, "mention_num": 0, "mytask_num": 1}, status
    mine = bob.ok("my_tasks")["tasks"]
    assert [(x["task_id"], x["room"]) for x in mine] == [
        (1, {"room_id": room, "name": "team", "icon_preset": "group"})], mine

    # Done by the assignee, open again by the creator; pushed as task_updated.
    r = bob.ok("set_task_status", room_id=room, task_id=1, status="done")
    assert r["task_id"] == 1, r
    e = alice.next_event("task_updated", pred=in_room(room))
    assert e["task"]["status"] == "done" and e["task"]["task_id"] == 1, e
    assert bob.ok("my_tasks", status="open")["tasks"] == []
    assert len(bob.ok("my_tasks", status="done")["tasks"]) == 1
    assert bob.ok("my_status")["mytask_num"] == 0
    alice.ok("set_task_status", room_id=room, task_id=1, status="open")
    assert bob.ok("my_status")["mytask_num"] == 1

    # Filters.
    assert [t["task_id"] for t in alice.ok("list_tasks", room_id=room)["tasks"]] == [1, 2]
    got = alice.ok("list_tasks", room_id=room, account_id=carol.account_id)["tasks"]
    assert [t["task_id"] for t in got] == [2]
    got = alice.ok("list_tasks", room_id=room, assigned_by_account_id=bob.account_id)["tasks"]
    assert got == []
    alice.ok("set_task_status", room_id=room, task_id=2, status="done")
    got = alice.ok("list_tasks", room_id=room, status="done")["tasks"]
    assert [t["task_id"] for t in got] == [2]
    assert dave.ok("my_tasks")["tasks"] == []


def test_task_bad_inputs(server):
    alice, bob, carol, dave = (server.user(n) for n in ("alice", "bob", "carol", "dave"))
    room = create_room(alice, "team", [bob])
    alice.ok("add_members", room_id=room, account_ids=[carol.account_id], role="readonly")
    alice.ok("add_task", room_id=room, body="x", to_ids=[bob.account_id])
    carol.fail("add_task", "forbidden", room_id=room, body="x", to_ids=[bob.account_id])
    dave.fail("add_task", "forbidden", room_id=room, body="x", to_ids=[bob.account_id])
    dave.fail("list_tasks", "forbidden", room_id=room)
    dave.fail("get_task", "forbidden", room_id=room, task_id=1)
    dave.fail("set_task_status", "forbidden", room_id=room, task_id=1, status="done")
    carol.fail("set_task_status", "forbidden", room_id=room, task_id=1, status="done")
    alice.fail("add_task", "not_found", room_id=987654, body="x", to_ids=[bob.account_id])
    alice.fail("add_task", "bad_request", room_id=room, body="x", to_ids=[dave.account_id])
    alice.fail("add_task", "bad_request", room_id=room, body="x", to_ids=[])
    alice.fail("add_task", "bad_request", room_id=room, body="", to_ids=[bob.account_id])
    alice.fail("add_task", "bad_request", room_id=room, body="x", to_ids=[bob.account_id], limit=-5)
    alice.fail("add_task", "bad_request", room_id=room, body="x", to_ids=[bob.account_id],
               limit_type="week")
    alice.fail("add_task", "bad_request", room_id=room, body="x", to_ids=[bob.account_id],
               limit_type="date")
    alice.fail("add_task", "bad_request", room_id=room, body="x", to_ids="2")
    alice.fail("get_task", "not_found", room_id=room, task_id=99)
    alice.fail("get_task", "bad_request", room_id=room, task_id="1")
    alice.fail("set_task_status", "not_found", room_id=room, task_id=99, status="done")
    alice.fail("set_task_status", "bad_request", room_id=room, task_id=1, status="finished")
    alice.fail("list_tasks", "bad_request", room_id=room, status="later")
    alice.fail("my_tasks", "bad_request", assigned_by_account_id=0)
    # Nothing was added by the refusals.
    assert [t["task_id"] for t in alice.ok("list_tasks", room_id=room)["tasks"]] == [1]


def test_leaving_takes_your_tasks(server):
    alice, bob = server.user("alice"), server.user("bob")
    room = create_room(alice, "team", [bob])
    alice.ok("add_task", room_id=room, body="x", to_ids=[bob.account_id, alice.account_id])
    assert len(bob.ok("my_tasks")["tasks"]) == 1
    bob.ok("leave_room", room_id=room)
    assert bob.ok("my_tasks")["tasks"] == []
    assert bob.ok("my_status")["mytask_num"] == 0
    tasks = alice.ok("list_tasks", room_id=room)["tasks"]
    assert [t["account"]["account_id"] for t in tasks] == [alice.account_id], tasks
    # Deleting the room takes the rest.
    alice.ok("delete_room", room_id=room)
    assert alice.ok("my_tasks")["tasks"] == []


def test_leaving_or_being_removed_takes_your_tasks_and_their_counts(server):
    alice, bob, carol = (server.user(n) for n in ("alice", "bob", "carol"))
    room = create_room(alice, "team", [bob, carol])
    other = create_room(alice, "other", [bob])
    bob.next_event("room_created", pred=in_room(other))
    alice.ok("add_task", room_id=room, body="bob's", to_ids=[bob.account_id])
    alice.ok("add_task", room_id=room, body="carol's", to_ids=[carol.account_id])
    alice.ok("add_task", room_id=other, body="bob's other", to_ids=[bob.account_id])
    # A task bob gave carol stays when bob goes: only the tasks assigned to him go with him.
    bob.ok("add_task", room_id=room, body="from bob", to_ids=[carol.account_id])
    st = bob.ok("my_status")
    assert (st["mytask_num"], st["mytask_room_num"]) == (2, 2), st
    assert entry(alice, room, details=True)["task_num"] == 3

    bob.ok("leave_room", room_id=room)
    st = bob.ok("my_status")
    assert (st["mytask_num"], st["mytask_room_num"]) == (1, 1), st
    assert [t["body"] for t in bob.ok("my_tasks")["tasks"]] == ["bob's other"]
    assert sorted(t["body"] for t in alice.ok("list_tasks", room_id=room)["tasks"]) == \
        ["carol's", "from bob"]
    assert entry(alice, room, details=True)["task_num"] == 2
    bob.fail("list_tasks", "forbidden", room_id=room)

    # Removed by an admin (remove_member, or left out of set_members): the same.
    alice.ok("remove_member", room_id=room, account_id=carol.account_id)
    assert carol.ok("my_tasks")["tasks"] == []
    assert carol.ok("my_status")["mytask_num"] == 0
    assert alice.ok("list_tasks", room_id=room)["tasks"] == []
    assert entry(alice, room, details=True)["task_num"] == 0
    alice.ok("set_members", room_id=other, members_admin_ids=[alice.account_id])
    assert bob.ok("my_tasks")["tasks"] == []
    st = bob.ok("my_status")
    assert (st["mytask_num"], st["mytask_room_num"]) == (0, 0), st


def test_task_status_limits_and_pushes(server):
    alice, bob, carol, dave = (server.user(n) for n in ("alice", "bob", "carol", "dave"))
    alice2 = server.connect(alice.token)
    room = create_room(alice, "team", [bob, carol])
    carol.next_event("room_created", pred=in_room(room))
    # limit_type: date and time with a limit; none (or nothing) without one.
    r = alice.ok("add_task", room_id=room, body="by friday", to_ids=[bob.account_id],
                 limit=1900000000, limit_type="date")
    (dated,) = r["task_ids"]
    t = bob.ok("get_task", room_id=room, task_id=dated)["task"]
    assert (t["limit_type"], t["limit_time"]) == ("date", 1900000000), t
    r = alice.ok("add_task", room_id=room, body="whenever", to_ids=[bob.account_id],
                 limit_type="none")
    t = bob.ok("get_task", room_id=room, task_id=r["task_ids"][0])["task"]
    assert (t["limit_type"], t["limit_time"]) == ("none", 0), t
    for bad in ({"limit": 1900000000, "limit_type": "none"}, {"limit_type": "time"},
                {"limit": "1900000000"}, {"limit": 1.5}, {"limit_type": 1},
                {"limit_type": "Date"}):
        alice.fail("add_task", "bad_request", room_id=room, body="x", to_ids=[bob.account_id],
                   **bad)
    # Every member gets the pushes, the ones not assigned too; the actor's other connection too.
    for c in (bob, carol, alice2):
        e = c.next_event("task_added", pred=lambda e: e["task"]["task_id"] == dated)
        assert e["room_id"] == room, e
    # Status: the assignee or the creator only; another member or a stranger cannot.
    carol.fail("set_task_status", "forbidden", room_id=room, task_id=dated, status="done")
    dave.fail("set_task_status", "forbidden", room_id=room, task_id=dated, status="done")
    bob.ok("set_task_status", room_id=room, task_id=dated, status="done")
    for c in (alice, carol, alice2):
        e = c.next_event("task_updated", pred=lambda e: e["task"]["task_id"] == dated)
        assert e["task"]["status"] == "done" and e["task"]["update_time"] > 0, e
    r = alice.ok("set_task_status", room_id=room, task_id=dated, status="open")
    seq = r["seq"]
    # The status it already has: nothing happens, the seq stays.
    assert alice.ok("set_task_status", room_id=room, task_id=dated, status="open")["seq"] == seq
    for bad in ({"status": "DONE"}, {"status": 1}, {}, {"status": "done", "task_id": 0}):
        fields = dict({"task_id": dated}, **bad)
        alice.fail("set_task_status", "bad_request", room_id=room, **fields)
    # Lists by assignee, creator and status, alone and together.
    tasks = alice.ok("list_tasks", room_id=room, account_id=bob.account_id,
                     assigned_by_account_id=alice.account_id, status="open")["tasks"]
    assert len(tasks) == 2, tasks
    assert alice.ok("list_tasks", room_id=room, account_id=carol.account_id)["tasks"] == []
    assert alice.ok("list_tasks", room_id=room, status="done")["tasks"] == []
    alice.fail("list_tasks", "bad_request", room_id=room, account_id="2")
    alice.fail("list_tasks", "bad_request", room_id=room, assigned_by_account_id=-1)
    mine = bob.ok("my_tasks", assigned_by_account_id=alice.account_id, status="open")["tasks"]
    assert len(mine) == 2, mine
    assert bob.ok("my_tasks", assigned_by_account_id=carol.account_id)["tasks"] == []
    bob.fail("my_tasks", "bad_request", status="closed")
    alice.ok("ping")


# ---- the hibiki CLI -----------------------------------------------------------------------------

from test_cli import CLI, run_cli  # noqa: E402  (the CLI helpers of test_cli.py)


@pytest.mark.skipif(CLI is None, reason="set HIBIKI_CLI to the hibiki binary")
def test_cli_members_and_tasks(server, tmp_path):
    alice, bob, carol = (server.user(n) for n in ("alice", "bob", "carol"))
    room = create_room(alice, "team", [bob])

    def cli(*args):
        return run_cli(server, tmp_path, *[str(a) for a in args], token=alice.token)

    r = cli("set-members", room, "%d" % alice.account_id, "%d,%d" % (bob.account_id, carol.account_id))
    assert r.returncode == 0, r.stderr
    r = cli("members", room)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["ACCOUNT_ID", "ROLE", "NAME"], r.stdout
    assert lines[1].split() == [str(alice.account_id), "admin", "alice"], r.stdout
    assert lines[3].split() == [str(carol.account_id), "member", "carol"], r.stdout

    r = cli("add-task", room, "ship it", bob.account_id, carol.account_id)
    assert r.returncode == 0, r.stderr
    assert "task_ids: [1,2]" in r.stdout, r.stdout
    r = cli("tasks", room)
    assert r.returncode == 0, r.stderr
    rows = [line.split(None, 5) for line in r.stdout.splitlines()[1:]]
    assert [(x[1], x[2], x[4], x[5]) for x in rows] == [
        ("1", str(bob.account_id), "open", "ship it"),
        ("2", str(carol.account_id), "open", "ship it"),
    ], r.stdout
    r = cli("done", room, 1)
    assert r.returncode == 0, r.stderr
    assert bob.ok("get_task", room_id=room, task_id=1)["task"]["status"] == "done"
    r = run_cli(server, tmp_path, "my-tasks", token=carol.token)
    assert r.returncode == 0, r.stderr
    assert len(r.stdout.splitlines()) == 2 and "ship it" in r.stdout, r.stdout

    # Errors: the server's refusal on stderr with exit 1; usage errors exit 2.
    r = run_cli(server, tmp_path, "done", str(room), "2", token=bob.token)
    assert r.returncode == 1 and "forbidden" in r.stderr, (r.stdout, r.stderr)
    r = cli("set-members", room, "")
    assert r.returncode == 2, r.stderr
    r = cli("set-members", room, "1,x")
    assert r.returncode == 2, r.stderr
    r = cli("tasks")
    assert r.returncode == 2, r.stderr


# ---- message extensions -------------------------------------------------------------------------


def test_get_message(server):
    alice, bob, carol = (server.user(n) for n in ("alice", "bob", "carol"))
    room = create_room(alice, "team", [bob])
    mid = alice.ok("send_message", room_id=room, body="hello", client_msg_id="a1")["message_id"]
    m = bob.ok("get_message", room_id=room, message_id=mid)["message"]
    assert m["message_id"] == mid and m["body"] == "hello" and m["account_id"] == alice.account_id, m
    alice.ok("delete_message", room_id=room, message_id=mid)
    m = bob.ok("get_message", room_id=room, message_id=mid)["message"]
    assert m["deleted"] is True and m["body"] == "", m
    bob.fail("get_message", "not_found", room_id=room, message_id="99")
    carol.fail("get_message", "forbidden", room_id=room, message_id=mid)
    carol.fail("get_message", "not_found", room_id=987654, message_id="1")
    bob.fail("get_message", "bad_request", room_id=room, message_id=1)
    bob.fail("get_message", "bad_request", room_id=room)


def test_mark_unread_moves_the_cursor_back(server):
    alice, bob, carol = (server.user(n) for n in ("alice", "bob", "carol"))
    bob2 = server.connect(bob.token)
    room = create_room(alice, "team", [bob])
    for i, body in enumerate(["one", "two [To:%d]" % bob.account_id, "three"]):
        alice.ok("send_message", room_id=room, body=body, client_msg_id="a%d" % i)
    bob.ok("mark_read", room_id=room, message_id="3")
    r = bob.ok("mark_unread", room_id=room, message_id="2")
    assert r["unread_num"] == 2 and r["mention_num"] == 1, r
    e = bob2.next_event("read", pred=lambda e: e.get("unread_num") == 2)
    assert e["room_id"] == room and e["mention_num"] == 1, e
    entry_ = entry(bob, room)
    assert entry_["unread_num"] == 2 and entry_["mention_num"] == 1, entry_
    # Already unread from there: the current counts, nothing moves.
    r = bob.ok("mark_unread", room_id=room, message_id="3")
    assert r["unread_num"] == 2, r
    bob.fail("mark_unread", "not_found", room_id=room, message_id="99")
    carol.fail("mark_unread", "forbidden", room_id=room, message_id="1")
    bob.fail("mark_unread", "bad_request", room_id=room, message_id="0")
    bob.fail("mark_unread", "not_found", room_id=987654, message_id="1")


def test_self_unread_on_send(server):
    alice, bob = server.user("alice"), server.user("bob")
    room = create_room(alice, "team", [bob])
    alice.ok("send_message", room_id=room, body="for later", client_msg_id="a1", self_unread=True)
    assert entry(alice, room)["unread_num"] == 1
    alice.ok("send_message", room_id=room, body="now", client_msg_id="a2")
    assert entry(alice, room)["unread_num"] == 0
    alice.fail("send_message", "bad_request", room_id=room, body="x", client_msg_id="a3",
               self_unread="yes")


def test_toall_and_replies_are_mentions(server):
    alice, bob, carol = (server.user(n) for n in ("alice", "bob", "carol"))
    room = create_room(alice, "team", [bob, carol])
    mid = alice.ok("send_message", room_id=room, body="[toall] standup", client_msg_id="a1")[
        "message_id"]
    assert entry(bob, room)["mention_num"] == 1
    assert entry(carol, room)["mention_num"] == 1
    assert entry(alice, room)["mention_num"] == 0
    bob.ok("send_message", room_id=room, body="[rp aid=%d to=%d-%s] ok" % (alice.account_id, room, mid),
           client_msg_id="b1")
    assert entry(alice, room)["mention_num"] == 1
    assert entry(carol, room)["mention_num"] == 1


def test_history_after_zero_is_from_the_start(server):
    alice = server.user("alice")
    room = create_room(alice, "team")
    for i in range(3):
        alice.ok("send_message", room_id=room, body="m%d" % i, client_msg_id="a%d" % i)
    got = alice.ok("history", room_id=room, after="0", limit=2)["messages"]
    assert [m["body"] for m in got] == ["m0", "m1"], got
    alice.fail("history", "bad_request", room_id=room, after="00")
    alice.fail("history", "bad_request", room_id=room, before="0")


# ---- every new op's mistyped and missing fields -------------------------------------------------


def test_new_ops_refuse_mistyped_and_missing_fields(server_factory):
    # Some 200 requests back to back: above the default per-connection burst, which is not what
    # this test is about.
    server = server_factory("--connection-rate=10000", "--connection-burst=10000",
                            "--account-rate=10000", "--account-burst=10000")
    alice, bob = server.user("alice"), server.user("bob")
    room = create_room(alice, "team", [bob])
    mid = alice.ok("send_message", room_id=room, body="m", client_msg_id="m")["message_id"]
    task = alice.ok("add_task", room_id=room, body="t", to_ids=[bob.account_id])["task_ids"][0]
    me = alice.account_id
    bad_ids = ("1", 0, -1, 1.5, None, [1], {"a": 1}, 2 ** 53)
    cases = []
    for op, base, field in (
        ("get_room", {}, "room_id"), ("get_members", {}, "room_id"),
        ("update_room", {"description": "d"}, "room_id"), ("delete_room", {}, "room_id"),
        ("set_members", {"members_admin_ids": [me]}, "room_id"),
        ("add_task", {"body": "x", "to_ids": [me]}, "room_id"),
        ("list_tasks", {}, "room_id"), ("get_task", {"task_id": task}, "room_id"),
        ("get_task", {"room_id": room}, "task_id"),
        ("set_task_status", {"room_id": room, "status": "done"}, "task_id"),
        ("get_message", {"message_id": mid}, "room_id"),
        ("mark_unread", {"message_id": mid}, "room_id"),
        ("fetch_messages", {}, "room_id"),
        ("request_contact", {}, "account_id"), ("accept_contact", {}, "request_id"),
        ("reject_contact", {}, "request_id"),
    ):
        fields = dict(base, room_id=room) if field != "room_id" else dict(base)
        cases.append((op, fields))  # the field missing
        cases += [(op, dict(fields, **{field: bad})) for bad in bad_ids]
    for op, field in (("get_message", "message_id"), ("mark_unread", "message_id")):
        for bad in (1, "", "x", "-1", "1.0", None, "0"):
            cases.append((op, {"room_id": room, field: bad}))
    for bad in ("1,2", [me, "2"], [0], [], None, 5):
        cases.append(("set_members", {"room_id": room, "members_admin_ids": bad}))
        cases.append(("add_task", {"room_id": room, "body": "x", "to_ids": bad}))
    for field, bad in (("name", 5), ("description", None), ("icon_preset", ["star"]),
                       ("name", "")):
        cases.append(("update_room", {"room_id": room, field: bad}))
    for field, bad in (("body", 5), ("body", None), ("limit", "1"), ("limit", -1),
                       ("limit_type", "week"), ("limit_type", None)):
        cases.append(("add_task", dict({"room_id": room, "body": "x", "to_ids": [me]},
                                       **{field: bad})))
    for field, bad in (("account_id", "2"), ("assigned_by_account_id", 0), ("status", 1),
                       ("status", "closed")):
        cases.append(("list_tasks", {"room_id": room, field: bad}))
        if field != "account_id":  # my_tasks has no account_id (unknown fields are ignored)
            cases.append(("my_tasks", {field: bad}))
    for bad in ("yes", 1, None):
        cases.append(("list_rooms", {"details": bad}))
        cases.append(("fetch_messages", {"room_id": room, "force": bad}))
    for field, bad in (("name", 5), ("title", "x\u0001y"), ("chatwork_id", "a b"),
                       ("introduction", ["x"])):
        cases.append(("update_profile", {field: bad}))
    cases += [("update_profile", {}), ("get_profiles", {"account_ids": "1"}),
              ("request_contact", {"account_id": bob.account_id, "message": 5})]
    failures = []
    for op, fields in cases:
        r = alice.request(op, **fields)
        err = r.get("error", {})
        if r.get("ok") is not False or err.get("code") != "bad_request" or not err.get("message"):
            failures.append((op, fields, r))
    assert not failures, "expected bad_request:\n" + "\n".join(map(repr, failures))
    # Nothing changed, and the connection and server still serve.
    info = alice.ok("get_room", room_id=room)["room"]
    assert (info["name"], info["description"], info["member_num"], info["task_num"]) == \
        ("team", "", 2, 1), info
    assert [t["task_id"] for t in alice.ok("list_tasks", room_id=room)["tasks"]] == [task]
    assert alice.ok("me")["name"] == "alice"
    assert bob.ok("incoming_requests")["requests"] == []
    assert not alice.closed
