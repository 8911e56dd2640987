"""Room management over the Chatwork-compatible REST API (docs/rest-api.md) against a real
hibikid: GET/PUT/DELETE /rooms/{id}, GET/PUT /rooms/{id}/members and
PUT /rooms/{id}/messages/unread, each with its success and every error (token, not a member,
read-only, not an admin, not found, bad parameters, over the rate limit)."""

import http.client
import time

import pytest

from test_rest import Rest, avatar, image_url, make_room, people

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
    shown = ws.ok("add_task", room_id=room, body="review", to_ids=[bob])["message_id"]
    ws.ok("update_room", room_id=room, description="the team's room")

    got = rb.ok("GET", f"/rooms/{room}")
    assert set(got) == ROOM_FIELDS, got
    assert got["room_id"] == room and got["name"] == "team" and got["type"] == "group"
    assert got["description"] == "the team's room"
    assert (got["role"], got["sticky"], got["icon_path"], got["file_num"]) == (
        "member", False, image_url(server, "/img/icon/group.svg"), 0), got
    # The task posted a message of its own (as Chatwork does): two messages, one mention.
    assert (got["unread_num"], got["mention_num"], got["message_num"]) == (2, 1, 2), got
    assert (got["task_num"], got["mytask_num"]) == (1, 1), got
    assert int(shown) == int(m1["message_id"]) + 1
    send_time = rb.ok("GET", f"/rooms/{room}/messages/{shown}")["send_time"]
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
    assert b["organization_id"] == 0 and b["avatar_image_url"] == avatar(server)

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


def test_room_list_last_update_time(server):
    """GET /rooms carries each room's last_update_time (Chatwork's field): when the newest message
    was sent or edited, else when the room was made; the same number GET /rooms/{id} gives."""
    (alice, ra), (bob, rb) = people(server, "alice", "bob")
    before = int(time.time())
    quiet = make_room(ra, "quiet", admins=[alice], members=[bob])
    busy = make_room(ra, "busy", admins=[alice], members=[bob])

    def listed(rest):
        return {x["room_id"]: x for x in rest.ok("GET", "/rooms")}

    rooms = listed(rb)
    for r in rooms.values():
        assert type(r["last_update_time"]) is int, r
    assert before - 1 <= rooms[quiet]["last_update_time"] <= time.time() + 1
    made = rooms[busy]["last_update_time"]
    # A message moves it to the message's send_time, in the list and in the room alike.
    time.sleep(1.1)  # Unix seconds: the next second, so the change is visible
    m = ra.ok("POST", f"/rooms/{busy}/messages", form={"body": "news"})
    sent = rb.ok("GET", f"/rooms/{busy}/messages/{m['message_id']}")["send_time"]
    assert sent > made
    rooms = listed(rb)
    assert rooms[busy]["last_update_time"] == sent == rb.ok("GET", f"/rooms/{busy}")[
        "last_update_time"]
    assert rooms[quiet]["last_update_time"] <= made
    # The WebSocket's list_rooms with details has it too (and the icon preset); without details
    # the v1 entry is unchanged.
    ws = server.connect(rb.token)
    (entry,) = [x for x in ws.ok("list_rooms", details=True)["rooms"] if x["room_id"] == busy]
    assert entry["last_update_time"] == sent and entry["icon_preset"] == "group", entry
    (v1,) = [x for x in ws.ok("list_rooms")["rooms"] if x["room_id"] == busy]
    assert "last_update_time" not in v1 and "icon_preset" not in v1
    # It is kept in the read model: a restart serves the same value.
    server.restart()
    assert listed(Rest(server, rb.token))[busy]["last_update_time"] == sent


def fetch(server, url, host=None):
    """GET `url` (absolute, on this server) → (status, content type, body bytes)."""
    path = url.split("://", 1)[1]
    path = path[path.index("/"):]
    conn = http.client.HTTPConnection(server.host, server.port, timeout=30)
    try:
        conn.request("GET", path, headers={"Host": host} if host else {})
        resp = conn.getresponse()
        return resp.status, resp.getheader("Content-Type"), resp.read()
    finally:
        conn.close()


def test_icons_and_avatars_are_served_pictures(server):
    """icon_path and avatar_image_url are absolute URLs of pictures the server serves (one per
    icon preset, one default avatar), built from the request's Host header."""
    (alice, ra), (bob, rb) = people(server, "alice", "bob")
    room = make_room(ra, "pub", admins=[alice], members=[bob])
    ra.ok("PUT", f"/rooms/{room}", form={"icon_preset": "beer"})
    (pub,) = [x for x in rb.ok("GET", "/rooms") if x["room_id"] == room]
    assert pub["icon_path"] == image_url(server, "/img/icon/beer.svg"), pub
    assert rb.ok("GET", f"/rooms/{room}")["icon_path"] == pub["icon_path"]
    # my rooms keep the default preset's picture
    (mine,) = [x for x in rb.ok("GET", "/rooms") if x["type"] == "my"]
    assert mine["icon_path"] == image_url(server, "/img/icon/group.svg")
    ws = server.connect(ra.token)
    ws.ok("add_task", room_id=room, body="order", to_ids=[bob])
    (task,) = rb.ok("GET", "/my/tasks")
    assert task["room"]["icon_path"] == pub["icon_path"], task
    assert task["account"]["avatar_image_url"] == avatar(server)
    members = rb.ok("GET", f"/rooms/{room}/members")
    assert {m["avatar_image_url"] for m in members} == {avatar(server)}
    msgs = rb.ok("GET", f"/rooms/{room}/messages", query={"force": "1"})
    assert {m["account"]["avatar_image_url"] for m in msgs} == {avatar(server)}
    assert rb.ok("GET", "/me")["avatar_image_url"] == avatar(server)
    if server.ssl_context is None:
        # Every URL answers with a picture.
        for url in {pub["icon_path"], mine["icon_path"], avatar(server)}:
            status, ctype, body = fetch(server, url)
            assert status == 200 and ctype == "image/svg+xml", (url, status, ctype)
            assert body.startswith(b"<svg"), url
        # Every preset has its picture.
        for preset in ("group check document meeting event project business study security "
                       "star idea heart magcup beer music sports travel").split():
            status, ctype, _ = fetch(server, image_url(server, f"/img/icon/{preset}.svg"))
            assert (status, ctype) == (200, "image/svg+xml"), preset

    # Another Host header gives URLs on that host (a proxy's name, say); a Host that is not a
    # plain host[:port] is not put in a URL at all: the answer has paths.
    st, got, _ = rb.call("GET", "/me", headers={"Host": "chat.example.com:8443"})
    assert st == 200 and got["avatar_image_url"].endswith("://chat.example.com:8443/img/avatar.svg")
    for bad in ("evil.example/x?", "a b", "user@host", "x\\y"):
        st, got, _ = rb.call("GET", "/me", headers={"Host": bad})
        if st == 400:  # refused by the HTTP parser: nothing to check, the server stays up
            rb.close()
            continue
        assert st == 200 and got["avatar_image_url"] == "/img/avatar.svg", (bad, got)
    assert rb.ok("GET", "/me")["avatar_image_url"] == avatar(server)


def test_public_url_names_the_pictures(server_factory):
    """--public-url (a server behind a proxy) replaces the request's scheme and Host."""
    server = server_factory("--public-url=https://chat.example.com")
    (alice, ra), = people(server, "alice")
    assert ra.ok("GET", "/me")["avatar_image_url"] == "https://chat.example.com/img/avatar.svg"
    (mine,) = ra.ok("GET", "/rooms")
    assert mine["icon_path"] == "https://chat.example.com/img/icon/group.svg"
