"""Room management over the Chatwork-compatible REST API (docs/rest-api.md) against a real
hibikid: GET/PUT/DELETE /rooms/{id}, GET/PUT /rooms/{id}/members and
PUT /rooms/{id}/messages/unread, each with its success and every error (token, not a member,
read-only, not an admin, not found, bad parameters, over the rate limit)."""

import time

import pytest

from test_rest import Rest, make_room, people

ROOM_FIELDS = {"room_id", "name", "type", "role", "sticky", "unread_num", "mention_num",
               "mytask_num", "message_num", "file_num", "task_num", "icon_path",
               "last_update_time", "description"}
MEMBER_FIELDS = {"account_id", "role", "name", "chatwork_id", "organization_id",
                 "organization_name", "department", "avatar_image_url"}


@pytest.fixture
def server(server_factory):
    return server_factory()


def test_get_room(server):
    (alice, ra), (bob, rb), (carol, rc), (eve, re_) = people(server, "alice", "bob", "carol",
                                                             "eve")
    before = int(time.time())
    room = make_room(ra, "team", admins=[alice], members=[bob], readonly=[carol])
    # A fresh room: last updated when it was made.
    fresh = ra.ok("GET", f"/rooms/{room}")
    assert before - 1 <= fresh["last_update_time"] <= time.time() + 1, fresh
    m1 = ra.ok("POST", f"/rooms/{room}/messages", form={"body": f"hi [To:{bob}]"})
    ws = server.connect(ra.token)
    ws.ok("add_task", room_id=room, body="review", to_ids=[bob])
    ws.ok("update_room", room_id=room, description="the team's room")

    got = rb.ok("GET", f"/rooms/{room}")
    assert set(got) == ROOM_FIELDS, got
    assert got["room_id"] == room and got["name"] == "team" and got["type"] == "group"
    assert got["description"] == "the team's room"
    assert (got["role"], got["sticky"], got["icon_path"], got["file_num"]) == (
        "member", False, "", 0), got
    assert (got["unread_num"], got["mention_num"], got["message_num"]) == (1, 1, 1), got
    assert (got["task_num"], got["mytask_num"]) == (1, 1), got
    send_time = rb.ok("GET", f"/rooms/{room}/messages/{m1['message_id']}")["send_time"]
    assert type(got["last_update_time"]) is int and got["last_update_time"] == send_time, got
    # Each member sees their own role and counts.
    assert ra.ok("GET", f"/rooms/{room}")["role"] == "admin"
    mine = rc.ok("GET", f"/rooms/{room}")
    assert (mine["role"], mine["mention_num"], mine["mytask_num"]) == ("readonly", 0, 0), mine
    # The same object as in GET /rooms, plus last_update_time and description.
    (listed,) = [x for x in rb.ok("GET", "/rooms") if x["room_id"] == room]
    assert {k: v for k, v in got.items() if k in listed} == listed

    # Errors: no or a wrong token, not a member, no such room, a bad id, a wrong method.
    re_.error("GET", f"/rooms/{room}", 401, token=False)
    re_.error("GET", f"/rooms/{room}", 401, token="0" * 64)
    assert "member" in re_.error("GET", f"/rooms/{room}", 403)
    ra.error("GET", "/rooms/987654", 404)
    assert "room_id" in ra.error("GET", "/rooms/abc", 400)
    ra.error("GET", "/rooms/0", 400)
    st, body, h = ra.call("POST", f"/rooms/{room}")
    assert st == 405 and h.get("allow") == "GET, PUT, DELETE" and body["errors"]


def test_update_room(server):
    (alice, ra), (bob, rb), (carol, rc), (eve, re_) = people(server, "alice", "bob", "carol",
                                                             "eve")
    room = make_room(ra, "team", admins=[alice], members=[bob], readonly=[carol])
    ws_bob = server.connect(rb.token)

    # An admin changes the name, the description and the icon at once: {"room_id"}.
    assert ra.ok("PUT", f"/rooms/{room}", form={
        "name": "core team", "description": "where we ship", "icon_preset": "star"}) == {
            "room_id": room}
    got = rb.ok("GET", f"/rooms/{room}")
    assert (got["name"], got["description"]) == ("core team", "where we ship"), got
    assert ws_bob.ok("get_room", room_id=room)["room"]["icon_preset"] == "star"
    assert [x["name"] for x in rb.ok("GET", "/rooms") if x["room_id"] == room] == ["core team"]
    ev = ws_bob.next_event("room_updated")
    assert (ev["room_id"], ev["name"], ev["icon_preset"]) == (room, "core team", "star"), ev
    # One field only (in the query string, as some clients send it); the others stay.
    assert ra.ok("PUT", f"/rooms/{room}", query={"description": ""}) == {"room_id": room}
    got = rb.ok("GET", f"/rooms/{room}")
    assert (got["name"], got["description"]) == ("core team", ""), got

    # Errors: not an admin (member, read-only), not a member, no such room, bad values.
    assert "admin" in rb.error("PUT", f"/rooms/{room}", 403, form={"name": "mine"})
    rc.error("PUT", f"/rooms/{room}", 403, form={"name": "mine"})
    re_.error("PUT", f"/rooms/{room}", 403, form={"name": "mine"})
    ra.error("PUT", "/rooms/987654", 404, form={"name": "x"})
    ra.error("PUT", "/rooms/x1", 400, form={"name": "x"})
    assert "name" in ra.error("PUT", f"/rooms/{room}", 400)
    ra.error("PUT", f"/rooms/{room}", 400, form={"name": ""})
    assert "icon_preset" in ra.error("PUT", f"/rooms/{room}", 400,
                                     form={"icon_preset": "unicorn"})
    ra.error("PUT", f"/rooms/{room}", 413, form={"name": "x" * 256})
    ra.error("PUT", f"/rooms/{room}", 413, form={"description": "x" * 10001})
    ra.error("PUT", f"/rooms/{room}", 401, token=False, form={"name": "x"})
    # None of it changed the room.
    assert rb.ok("GET", f"/rooms/{room}")["name"] == "core team"
    # my chats keep their name.
    my_room = ra.ok("GET", "/me")["room_id"]
    ra.error("PUT", f"/rooms/{my_room}", 403, form={"name": "renamed"})


def test_create_room_with_an_icon(server):
    (alice, ra), (bob, rb) = people(server, "alice", "bob")
    room = ra.ok("POST", "/rooms", form={"name": "icons", "members_admin_ids": str(alice),
                                         "members_member_ids": str(bob),
                                         "icon_preset": "beer"})["room_id"]
    ws = server.connect(rb.token)
    assert ws.ok("get_room", room_id=room)["room"]["icon_preset"] == "beer"
    # An unknown preset is refused before anything is made.
    before = [x["room_id"] for x in ra.ok("GET", "/rooms")]
    assert "icon_preset" in ra.error("POST", "/rooms", 400, form={
        "name": "n", "members_admin_ids": str(alice), "icon_preset": "unicorn"})
    assert [x["room_id"] for x in ra.ok("GET", "/rooms")] == before


def test_delete_room(server):
    (alice, ra), (bob, rb), (eve, re_) = people(server, "alice", "bob", "eve")
    room = make_room(ra, "doomed", admins=[alice], members=[bob])
    other = make_room(ra, "stays", admins=[alice], members=[bob])
    ra.ok("POST", f"/rooms/{room}/messages", form={"body": "soon gone"})
    ws_bob = server.connect(rb.token)

    # Only an admin deletes; members and strangers get 403, nothing happens.
    assert "admin" in rb.error("DELETE", f"/rooms/{room}", 403, form={"action_type": "delete"})
    re_.error("DELETE", f"/rooms/{room}", 403, form={"action_type": "delete"})
    ra.error("DELETE", "/rooms/987654", 404, form={"action_type": "delete"})
    my_room = ra.ok("GET", "/me")["room_id"]
    ra.error("DELETE", f"/rooms/{my_room}", 403, form={"action_type": "delete"})
    assert rb.ok("GET", f"/rooms/{room}")["message_num"] == 1

    # The admin deletes (in the query string here): 204; the room vanishes for everyone.
    st, body, _ = ra.call("DELETE", f"/rooms/{room}", query={"action_type": "delete"})
    assert st == 204 and body is None
    assert ws_bob.next_event("room_deleted")["room_id"] == room
    for r in (ra, rb):
        assert [x["room_id"] for x in r.ok("GET", "/rooms") if x["type"] == "group"] == [other]
        assert "deleted" in r.error("GET", f"/rooms/{room}", 404)
        r.error("GET", f"/rooms/{room}/messages", 404, query={"force": "1"})
        r.error("POST", f"/rooms/{room}/messages", 404, form={"body": "anyone?"})
    ra.error("DELETE", f"/rooms/{room}", 404, form={"action_type": "delete"})
    assert rb.ok("GET", f"/rooms/{other}")["name"] == "stays"


def test_members(server):
    (alice, ra), (bob, rb), (carol, rc), (dave, rd), (eve, re_) = people(
        server, "alice", "bob", "carol", "dave", "eve")
    server.connect(rb.token).ok("update_profile", chatwork_id="bob_b", department="Sales",
                                organization_name="Hibiki Inc.")
    room = make_room(ra, "team", admins=[alice], members=[bob], readonly=[carol])

    got = rc.ok("GET", f"/rooms/{room}/members")
    for m in got:
        assert set(m) == MEMBER_FIELDS, m
    assert [(m["account_id"], m["role"], m["name"]) for m in got] == [
        (alice, "admin", "alice"), (bob, "member", "bob"), (carol, "readonly", "carol")]
    b = got[1]
    assert (b["chatwork_id"], b["department"], b["organization_name"]) == (
        "bob_b", "Sales", "Hibiki Inc."), b
    assert b["organization_id"] == 0 and b["avatar_image_url"] == ""

    # Replace the lists (comma-separated): bob admin, dave joins read-only, carol removed.
    answer = ra.ok("PUT", f"/rooms/{room}/members", form={
        "members_admin_ids": f"{alice},{bob}", "members_readonly_ids": f"{dave}"})
    assert answer == {"admin": [alice, bob], "member": [], "readonly": [dave]}, answer
    assert [(m["account_id"], m["role"]) for m in rd.ok("GET", f"/rooms/{room}/members")] == [
        (alice, "admin"), (bob, "admin"), (dave, "readonly")]
    rc.error("GET", f"/rooms/{room}/members", 403)
    assert [x["type"] for x in rc.ok("GET", "/rooms")] == ["my"]  # only carol's my room left
    assert [x["role"] for x in rd.ok("GET", "/rooms") if x["room_id"] == room] == ["readonly"]
    # An admin may step down while another admin stays; then it is no longer an admin.
    answer = ra.ok("PUT", f"/rooms/{room}/members", form={
        "members_admin_ids": str(bob), "members_member_ids": f"{alice}, {carol}",
        "members_readonly_ids": str(dave)})
    assert answer == {"admin": [bob], "member": [alice, carol], "readonly": [dave]}, answer
    assert "admin" in ra.error("PUT", f"/rooms/{room}/members", 403,
                               form={"members_admin_ids": str(alice)})

    # Errors. The last-admin rule: members_admin_ids is required and names at least one.
    assert "members_admin_ids" in rb.error("PUT", f"/rooms/{room}/members", 400)
    rb.error("PUT", f"/rooms/{room}/members", 400, form={"members_admin_ids": ""})
    assert "members_member_ids" in rb.error("PUT", f"/rooms/{room}/members", 400, form={
        "members_admin_ids": str(bob), "members_member_ids": "1,x"})
    rb.error("PUT", f"/rooms/{room}/members", 400, form={"members_admin_ids": "0"})
    rb.error("PUT", f"/rooms/{room}/members", 400, form={"members_admin_ids": f"{bob},"})
    assert "more than one" in rb.error("PUT", f"/rooms/{room}/members", 400, form={
        "members_admin_ids": str(bob), "members_member_ids": str(bob)})
    rb.error("PUT", f"/rooms/{room}/members", 404, form={"members_admin_ids": "987654"})
    rd.error("PUT", f"/rooms/{room}/members", 403, form={"members_admin_ids": str(dave)})
    re_.error("PUT", f"/rooms/{room}/members", 403, form={"members_admin_ids": str(eve)})
    re_.error("GET", f"/rooms/{room}/members", 403)
    rb.error("GET", "/rooms/987654/members", 404)
    rb.error("PUT", "/rooms/987654/members", 404, form={"members_admin_ids": str(bob)})
    rb.error("GET", "/rooms/abc/members", 400)
    rb.error("GET", f"/rooms/{room}/members", 401, token=False)
    rb.error("PUT", f"/rooms/{room}/members", 401, token="0" * 64,
             form={"members_admin_ids": str(bob)})
    st, body, h = rb.call("POST", f"/rooms/{room}/members")
    assert st == 405 and h.get("allow") == "GET, PUT" and body["errors"]
    # Direct chats keep their two members.
    ws_a = server.connect(ra.token)
    ws_a.ok("request_contact", account_id=bob)
    direct = rb.ok("PUT", f"/incoming_requests/{alice}")["room_id"]
    rb.error("PUT", f"/rooms/{direct}/members", 403, form={"members_admin_ids": f"{bob},{eve}"})
    # Nothing above changed the room.
    assert [(m["account_id"], m["role"]) for m in rb.ok("GET", f"/rooms/{room}/members")] == [
        (alice, "member"), (bob, "admin"), (carol, "member"), (dave, "readonly")]


def test_mark_unread(server):
    (alice, ra), (bob, rb), (eve, re_) = people(server, "alice", "bob", "eve")
    room = make_room(ra, "r", admins=[alice], members=[bob])
    ids = [ra.ok("POST", f"/rooms/{room}/messages", form={"body": body})["message_id"]
           for body in ("one", f"two [To:{bob}]", "three")]
    assert rb.ok("PUT", f"/rooms/{room}/messages/read") == {"unread_num": 0, "mention_num": 0}
    # Unread from the second message: it and the third are unread again, with the mention.
    assert rb.ok("PUT", f"/rooms/{room}/messages/unread", form={"message_id": ids[1]}) == {
        "unread_num": 2, "mention_num": 1}
    x = rb.ok("GET", f"/rooms/{room}")
    assert (x["unread_num"], x["mention_num"]) == (2, 1), x
    assert rb.ok("GET", "/my/status")["unread_num"] == 2
    # From the first (query string): all three.
    assert rb.ok("PUT", f"/rooms/{room}/messages/unread", query={"message_id": ids[0]}) == {
        "unread_num": 3, "mention_num": 1}

    # Errors: message_id missing or not digits, no such message, not a member, no such room.
    assert "message_id" in rb.error("PUT", f"/rooms/{room}/messages/unread", 400)
    assert "message_id" in rb.error("PUT", f"/rooms/{room}/messages/unread", 400,
                                    form={"message_id": "x"})
    rb.error("PUT", f"/rooms/{room}/messages/unread", 400, form={"message_id": "-2"})
    rb.error("PUT", f"/rooms/{room}/messages/unread", 404, form={"message_id": "999"})
    re_.error("PUT", f"/rooms/{room}/messages/unread", 403, form={"message_id": ids[0]})
    rb.error("PUT", "/rooms/987654/messages/unread", 404, form={"message_id": "1"})
    rb.error("PUT", f"/rooms/{room}/messages/unread", 401, token=False,
             form={"message_id": ids[0]})
    st, body, h = rb.call("GET", f"/rooms/{room}/messages/unread")
    assert st == 405 and h.get("allow") == "PUT" and body["errors"]
    assert rb.ok("GET", f"/rooms/{room}")["unread_num"] == 3

    # self_unread=1 on a post: the poster's own message stays unread for them; by default
    # posting reads the room up to it.
    ra.ok("PUT", f"/rooms/{room}/messages/read")
    ra.ok("POST", f"/rooms/{room}/messages", form={"body": "note to self", "self_unread": "1"})
    assert ra.ok("GET", f"/rooms/{room}")["unread_num"] == 1
    ra.ok("POST", f"/rooms/{room}/messages", form={"body": "read now", "self_unread": "0"})
    assert ra.ok("GET", f"/rooms/{room}")["unread_num"] == 0


def test_rate_limit_on_room_endpoints(server_factory):
    server = server_factory("--api-rate=4/min")
    (alice, ra), = people(server, "alice")
    room = make_room(ra, "r", admins=[alice])
    assert ra.ok("GET", f"/rooms/{room}")["name"] == "r"
    assert ra.ok("GET", f"/rooms/{room}/members")[0]["account_id"] == alice
    st, _, h = ra.call("PUT", f"/rooms/{room}", form={"name": "r2"})
    assert st == 200 and h["x-ratelimit-remaining"] == "0"
    for method, path, form in (("GET", f"/rooms/{room}", None),
                               ("PUT", f"/rooms/{room}/members",
                                {"members_admin_ids": str(alice)}),
                               ("DELETE", f"/rooms/{room}", {"action_type": "delete"})):
        st, body, h = ra.call(method, path, form=form)
        assert st == 429 and "rate limit" in body["errors"][0].lower(), (method, path, body)
        assert int(h["retry-after"]) >= 1
    # Refused requests changed nothing: the room is still there (seen over the WebSocket).
    assert server.connect(ra.token).ok("get_room", room_id=room)["room"]["name"] == "r2"
