"""The Chatwork-compatible REST API on /v2 (docs/rest-api.md) against a real hibikid: every
endpoint, its errors, the per-token rate limit, the method override, keep-alive, the per-account
"new since my last call" position across a restart, and the access log without the token.

Requests go through `Rest`, a small keep-alive client on http.client; test_rest_clients.py drives
the same server with Chatwork API clients from PyPI."""

import http.client
import json
import os
import time
import urllib.parse

import pytest

from conftest import DEFAULT_TIMEOUT


class Rest:
    """One keep-alive HTTP connection calling /v2 with a token (form bodies, Chatwork style)."""

    def __init__(self, server, token):
        self.server = server
        self.token = token
        self.conn = None
        self.connects = 0

    def _connection(self):
        if self.conn is None:
            s = self.server
            if s.ssl_context is not None:
                self.conn = http.client.HTTPSConnection(s.host, s.port, timeout=DEFAULT_TIMEOUT,
                                                        context=s.ssl_context)
            else:
                self.conn = http.client.HTTPConnection(s.host, s.port, timeout=DEFAULT_TIMEOUT)
            self.connects += 1
        return self.conn

    def call(self, method, path, form=None, query=None, headers=None, raw_body=None, token=True):
        """Returns (status, parsed JSON or None, response headers as a lowercase dict)."""
        url = "/v2" + path
        if query:
            url += "?" + urllib.parse.urlencode(query)
        hdrs = {}
        if token:
            hdrs["X-ChatWorkToken"] = self.token if token is True else token
        body = raw_body
        if form is not None:
            body = urllib.parse.urlencode(form).encode()
            hdrs["Content-Type"] = "application/x-www-form-urlencoded"
        hdrs.update(headers or {})
        conn = self._connection()
        conn.request(method, url, body=body, headers=hdrs)
        resp = conn.getresponse()
        data = resp.read()
        h = {k.lower(): v for k, v in resp.getheaders()}
        if resp.will_close:
            self.close()
        parsed = json.loads(data) if data else None
        return resp.status, parsed, h

    def ok(self, method, path, status=200, **kw):
        st, body, _ = self.call(method, path, **kw)
        assert st == status, f"{method} {path}: HTTP {st} {body!r}"
        return body

    def error(self, method, path, status, **kw):
        st, body, _ = self.call(method, path, **kw)
        assert st == status, f"{method} {path}: expected {status}, got {st} {body!r}"
        assert isinstance(body, dict) and isinstance(body.get("errors"), list), body
        assert body["errors"] and all(isinstance(e, str) and e for e in body["errors"]), body
        return body["errors"][0]

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


@pytest.fixture
def server(server_factory):
    return server_factory()


def people(server, *names):
    """Signs up each name; returns [(account_id, Rest)]."""
    out = []
    for n in names:
        account, token = server.signup(n)
        out.append((account, Rest(server, token)))
    return out


def image_url(server, path):
    """The absolute URL of a picture of the web root as the REST API gives it to this client
    (the scheme and the Host header http.client sends)."""
    scheme = "https" if server.ssl_context is not None else "http"
    return f"{scheme}://{server.host}:{server.port}{path}"


def avatar(server):
    return image_url(server, "/img/avatar.svg")


def make_room(rest, name, admins=(), members=(), readonly=()):
    form = {"name": name, "members_admin_ids": ",".join(str(a) for a in admins)}
    if members:
        form["members_member_ids"] = ",".join(str(a) for a in members)
    if readonly:
        form["members_readonly_ids"] = ",".join(str(a) for a in readonly)
    body = rest.ok("POST", "/rooms", form=form)
    assert set(body) == {"room_id"} and type(body["room_id"]) is int and body["room_id"] > 0
    return body["room_id"]


def check_message_shape(m):
    assert set(m) == {"message_id", "account", "body", "send_time", "update_time"}, m
    assert isinstance(m["message_id"], str) and m["message_id"].isdigit()
    assert set(m["account"]) == {"account_id", "name", "avatar_image_url"}
    assert type(m["account"]["account_id"]) is int
    assert type(m["send_time"]) is int and m["send_time"] > 1_600_000_000
    assert type(m["update_time"]) is int


def test_rooms_messages_and_members_roles(server):
    (alice, ra), (bob, rb), (carol, rc), (dave, rd) = people(server, "alice", "bob", "carol",
                                                             "dave")
    room = make_room(ra, "team", admins=[alice, bob], members=[carol], readonly=[dave])

    # Each member sees the room with their role, in Chatwork's room shape.
    roles = {}
    for account, r in ((alice, ra), (bob, rb), (carol, rc), (dave, rd)):
        rooms = [x for x in r.ok("GET", "/rooms") if x["type"] != "my"]  # besides the my room
        assert [x["room_id"] for x in rooms] == [room]
        x = rooms[0]
        assert x["name"] == "team" and x["type"] == "group"
        for k in ("unread_num", "mention_num", "message_num", "mytask_num", "task_num",
                  "file_num"):
            assert type(x[k]) is int
        roles[account] = x["role"]
    assert roles == {alice: "admin", bob: "admin", carol: "member", dave: "readonly"}

    # Post: a form body (alice) and the parameters in the query string (bob), as clients do.
    m1 = ra.ok("POST", f"/rooms/{room}/messages", form={"body": "hello [To:%d]" % carol})
    assert set(m1) == {"message_id"} and m1["message_id"].isdigit()
    m2 = rb.ok("POST", f"/rooms/{room}/messages", query={"body": "from bob"})
    assert int(m2["message_id"]) == int(m1["message_id"]) + 1

    # Carol's first fetch returns both, with names; the next one nothing new (204).
    msgs = rc.ok("GET", f"/rooms/{room}/messages")
    assert [m["message_id"] for m in msgs] == [m1["message_id"], m2["message_id"]]
    for m in msgs:
        check_message_shape(m)
    assert msgs[0]["account"] == {"account_id": alice, "name": "alice",
                                  "avatar_image_url": avatar(server)}
    assert msgs[0]["body"] == "hello [To:%d]" % carol
    assert msgs[1]["account"]["name"] == "bob"
    st, body, _ = rc.call("GET", f"/rooms/{room}/messages")
    assert st == 204 and body is None
    st, _, _ = rc.call("GET", f"/rooms/{room}/messages", query={"force": "0"})
    assert st == 204
    m3 = ra.ok("POST", f"/rooms/{room}/messages", form={"body": "third"})
    assert [m["body"] for m in rc.ok("GET", f"/rooms/{room}/messages")] == ["third"]
    # force=1: the latest messages whatever was fetched; the positions are per account.
    assert len(rc.ok("GET", f"/rooms/{room}/messages", query={"force": "1"})) == 3
    assert len(rd.ok("GET", f"/rooms/{room}/messages")) == 3

    # Carol's counts: the mention and three unread; read up to m1, then everything.
    status = rc.ok("GET", "/my/status")
    assert status == {"unread_room_num": 1, "mention_room_num": 1, "mytask_room_num": 0,
                      "unread_num": 3, "mention_num": 1, "mytask_num": 0}
    # A task for carol (made over the WebSocket) shows in her counts and the room's.
    ws_alice = server.connect(ra.token)
    task_message = ws_alice.ok("add_task", room_id=room, body="review", to_ids=[carol])[
        "message_id"]
    ws_alice.close()
    status = rc.ok("GET", "/my/status")
    assert (status["mytask_room_num"], status["mytask_num"]) == (1, 1), status
    def listed(r):
        (x,) = [x for x in r.ok("GET", "/rooms") if x["room_id"] == room]
        return x

    x = listed(rc)
    assert (x["task_num"], x["mytask_num"]) == (1, 1), x
    assert listed(ra)["mytask_num"] == 0
    read = rc.ok("PUT", f"/rooms/{room}/messages/read", form={"message_id": m1["message_id"]})
    # Unread after m1: m2, m3 and the message the task posted.
    assert read == {"unread_num": 3, "mention_num": 0}
    assert rc.ok("PUT", f"/rooms/{room}/messages/read") == {"unread_num": 0, "mention_num": 0}
    assert listed(rc)["unread_num"] == 0

    # One message; edit with the ?method=PUT override on a POST, delete with ?method=DELETE.
    one = rc.ok("GET", f"/rooms/{room}/messages/{m1['message_id']}")
    check_message_shape(one)
    assert one["body"] == "hello [To:%d]" % carol and one["update_time"] == 0
    assert ra.ok("POST", f"/rooms/{room}/messages/{m1['message_id']}",
                 query={"method": "PUT"}, form={"body": "edited"}) == {
                     "message_id": m1["message_id"]}
    edited = rb.ok("GET", f"/rooms/{room}/messages/{m1['message_id']}")
    assert edited["body"] == "edited" and edited["update_time"] >= edited["send_time"]
    assert ra.ok("POST", f"/rooms/{room}/messages/{m3['message_id']}",
                 query={"method": "delete"}) == {"message_id": m3["message_id"]}
    rb.error("GET", f"/rooms/{room}/messages/{m3['message_id']}", 404)
    assert [m["message_id"] for m in rb.ok("GET", f"/rooms/{room}/messages",
                                             query={"force": "1"})] == [
        m1["message_id"], m2["message_id"], task_message]
    # DELETE with a real verb too.
    assert rb.ok("DELETE", f"/rooms/{room}/messages/{m2['message_id']}") == {
        "message_id": m2["message_id"]}

    # Leave (DELETE action_type=leave): 204, then the room is gone for carol only.
    st, body, _ = rc.call("DELETE", f"/rooms/{room}", form={"action_type": "leave"})
    assert st == 204 and body is None
    assert [x["type"] for x in rc.ok("GET", "/rooms")] == ["my"]
    rc.error("GET", f"/rooms/{room}/messages", 403, query={"force": "1"})
    assert [x["room_id"] for x in ra.ok("GET", "/rooms") if x["type"] != "my"] == [room]

    # Every request of each person went over one keep-alive connection.
    for r in (ra, rb, rc, rd):
        assert r.connects == 1


ME_FIELDS = {"account_id", "room_id", "name", "chatwork_id", "organization_id",
             "organization_name", "department", "title", "url", "introduction", "mail",
             "avatar_image_url", "login_mail"}
CONTACT_FIELDS = {"account_id", "room_id", "name", "chatwork_id", "organization_id",
                  "organization_name", "department", "avatar_image_url"}
REQUEST_FIELDS = {"request_id", "account_id", "message", "name", "chatwork_id",
                  "organization_id", "organization_name", "department", "avatar_image_url"}


def test_me_is_the_profile_with_the_my_room(server):
    (alice, ra), = people(server, "alice")
    ws = server.connect(ra.token)
    ws.ok("update_profile", chatwork_id="alice_1", organization_name="Hibiki Inc.",
          department="R&D", title="engineer", introduction="Hello.\nI build chat.")
    me = ra.ok("GET", "/me")
    assert set(me) == ME_FIELDS, me
    assert me["account_id"] == alice and me["name"] == "alice", me
    assert (me["chatwork_id"], me["organization_name"], me["department"], me["title"],
            me["introduction"]) == ("alice_1", "Hibiki Inc.", "R&D", "engineer",
                                    "Hello.\nI build chat."), me
    assert me["organization_id"] == 0 and me["url"] == me["mail"] == me["login_mail"] == "", me
    assert me["avatar_image_url"] == avatar(server), me
    # room_id is the `my` room: the same as the WebSocket's `me`, listed with type my.
    assert type(me["room_id"]) is int and me["room_id"] > 0
    assert ws.ok("me")["room_id"] == me["room_id"]
    assert ra.ok("GET", "/me")["room_id"] == me["room_id"]
    rooms = ra.ok("GET", "/rooms")
    assert [(x["room_id"], x["type"]) for x in rooms] == [(me["room_id"], "my")], rooms
    # A rename shows at once.
    ws.ok("update_profile", name="Alice Liddell")
    assert ra.ok("GET", "/me")["name"] == "Alice Liddell"
    # Only GET.
    st, body, h = ra.call("POST", "/me")
    assert st == 405 and h.get("allow") == "GET" and body["errors"]


def test_contacts_and_incoming_requests(server):
    (alice, ra), (bob, rb), (carol, rc) = people(server, "alice", "bob", "carol")
    wa, wb = server.connect(ra.token), server.connect(rb.token)
    wc = server.connect(rc.token)
    wa.ok("update_profile", chatwork_id="alice_1", department="R&D")
    # Nobody has contacts or requests yet: empty arrays.
    assert rb.ok("GET", "/contacts") == []
    assert rb.ok("GET", "/incoming_requests") == []

    # Requests are sent over the WebSocket (Chatwork's API has no endpoint for it).
    wa.ok("request_contact", account_id=bob, message="hi, it's alice")
    wc.ok("request_contact", account_id=bob)
    got = rb.ok("GET", "/incoming_requests")
    assert [q["request_id"] for q in got] == [alice, carol], got
    for q in got:
        assert set(q) == REQUEST_FIELDS, q
    assert got[0]["account_id"] == alice and got[0]["message"] == "hi, it's alice", got
    assert got[0]["name"] == "alice" and got[0]["chatwork_id"] == "alice_1", got
    assert got[0]["department"] == "R&D" and got[0]["organization_id"] == 0, got
    # The one who asked sees no request for them.
    assert ra.ok("GET", "/incoming_requests") == []

    # Accept alice's (PUT): the new contact with the direct room, as Chatwork answers.
    accepted = rb.ok("PUT", f"/incoming_requests/{alice}")
    assert set(accepted) == CONTACT_FIELDS, accepted
    assert accepted["account_id"] == alice and accepted["name"] == "alice", accepted
    direct = accepted["room_id"]
    assert type(direct) is int and direct > 0
    # Accepting again changes nothing and names the same room.
    assert rb.ok("PUT", f"/incoming_requests/{alice}")["room_id"] == direct
    # Reject carol's (DELETE): 204, and it is gone.
    st, body, _ = rb.call("DELETE", f"/incoming_requests/{carol}")
    assert st == 204 and body is None
    assert rb.ok("GET", "/incoming_requests") == []
    # Both sides list each other, with the direct room, which is a `direct` room in /rooms.
    for r, other in ((ra, bob), (rb, alice)):
        contacts = r.ok("GET", "/contacts")
        assert [c["account_id"] for c in contacts] == [other], contacts
        assert set(contacts[0]) == CONTACT_FIELDS and contacts[0]["room_id"] == direct
        assert {x["room_id"]: x["type"] for x in r.ok("GET", "/rooms")}[direct] == "direct"
    assert rc.ok("GET", "/contacts") == []
    # The direct room works over REST like any other.
    ra.ok("POST", f"/rooms/{direct}/messages", form={"body": "hello bob"})
    msgs = rb.ok("GET", f"/rooms/{direct}/messages")
    assert [(m["body"], m["account"]["name"]) for m in msgs] == [("hello bob", "alice")]


def test_incoming_requests_bad_inputs(server):
    (alice, ra), (bob, rb), (eve, re_) = people(server, "alice", "bob", "eve")
    server.connect(ra.token).ok("request_contact", account_id=bob)
    # No request from that account waiting for you: 404, for accepting and rejecting alike.
    assert re_.error("PUT", f"/incoming_requests/{alice}", 404)
    assert re_.error("DELETE", f"/incoming_requests/{alice}", 404)
    # Your own request is not yours to accept.
    ra.error("PUT", f"/incoming_requests/{bob}", 404)
    ra.error("PUT", f"/incoming_requests/{alice}", 404)
    rb.error("PUT", "/incoming_requests/987654", 404)
    # Ids that are not positive integers: 400, naming request_id.
    for bad in ("0", "x", "-1", "01", "9007199254740992"):
        assert "request_id" in rb.error("PUT", f"/incoming_requests/{bad}", 400), bad
        rb.error("DELETE", f"/incoming_requests/{bad}", 400)
    # Wrong methods and paths.
    st, body, h = rb.call("GET", f"/incoming_requests/{alice}")
    assert st == 405 and h.get("allow") == "PUT, DELETE" and body["errors"]
    st, body, h = rb.call("POST", "/incoming_requests")
    assert st == 405 and h.get("allow") == "GET"
    st, body, h = rb.call("PUT", "/contacts")
    assert st == 405 and h.get("allow") == "GET"
    rb.error("GET", f"/incoming_requests/{alice}/x", 404)
    rb.error("GET", "/contacts/1", 404)
    # No token: 401.
    rb.error("GET", "/contacts", 401, token=False)
    rb.error("PUT", f"/incoming_requests/{alice}", 401, token="0" * 64)
    # None of it lost the request: bob still has it and can accept it.
    assert [q["account_id"] for q in rb.ok("GET", "/incoming_requests")] == [alice]
    assert rb.ok("PUT", f"/incoming_requests/{alice}")["account_id"] == alice
    # Rejecting an accepted request: nothing waits any more.
    rb.error("DELETE", f"/incoming_requests/{alice}", 404)
    assert [c["account_id"] for c in ra.ok("GET", "/contacts")] == [bob]


def test_errors(server):
    (alice, ra), (bob, rb), (carol, rc) = people(server, "alice", "bob", "carol")
    room = make_room(ra, "r", admins=[alice], members=[bob], readonly=[carol])
    mid = ra.ok("POST", f"/rooms/{room}/messages", form={"body": "x"})["message_id"]
    (eve, re_), = people(server, "eve")

    # Tokens: missing, wrong.
    assert "token" in ra.error("GET", "/rooms", 401, token=False).lower()
    assert "token" in ra.error("GET", "/rooms", 401, token="0" * 64).lower()
    # Not a member; read-only; not the author; no such room / message / path.
    assert re_.error("GET", f"/rooms/{room}/messages", 403, query={"force": "1"})
    assert re_.error("POST", f"/rooms/{room}/messages", 403, form={"body": "hi"})
    assert rc.error("POST", f"/rooms/{room}/messages", 403, form={"body": "hi"})
    assert rb.error("PUT", f"/rooms/{room}/messages/{mid}", 403, form={"body": "mine?"})
    assert rb.error("DELETE", f"/rooms/{room}/messages/{mid}", 403)
    ra.error("GET", "/rooms/999999/messages", 404, query={"force": "1"})
    ra.error("POST", "/rooms/999999/messages", 404, form={"body": "x"})
    ra.error("GET", f"/rooms/{room}/messages/999", 404)
    ra.error("PUT", f"/rooms/{room}/messages/999", 404, form={"body": "x"})
    assert "no such endpoint" in ra.error("GET", "/nope", 404)
    ra.error("GET", f"/rooms/{room}/files/1/x", 404)  # the files endpoints: test_files.py
    ra.error("GET", f"/rooms/{room}/link", 404)
    ra.error("GET", f"/rooms/{room}/members/1", 404)
    ra.error("GET", f"/rooms/{room}/tasks/1/x", 404)
    # Bad parameters.
    assert "room_id" in ra.error("GET", "/rooms/abc/messages", 400)
    ra.error("GET", "/rooms/0/messages", 400)
    ra.error("GET", "/rooms/-1/messages", 400)
    assert "message_id" in ra.error("GET", f"/rooms/{room}/messages/x1", 400)
    assert "body" in ra.error("POST", f"/rooms/{room}/messages", 400)
    assert "body" in ra.error("POST", f"/rooms/{room}/messages", 400, form={"body": ""})
    assert "body" in ra.error("PUT", f"/rooms/{room}/messages/{mid}", 400)
    ra.error("POST", f"/rooms/{room}/messages", 413, form={"body": "a" * 65536})
    ra.error("POST", f"/rooms/{room}/messages", 400, form={"body": "x", "self_unread": "yes"})
    assert "force" in ra.error("GET", f"/rooms/{room}/messages", 400, query={"force": "2"})
    assert "name" in ra.error("POST", "/rooms", 400, form={"members_admin_ids": str(alice)})
    assert "members_admin_ids" in ra.error("POST", "/rooms", 400, form={"name": "n"})
    assert "members_member_ids" in ra.error(
        "POST", "/rooms", 400, form={"name": "n", "members_admin_ids": str(alice),
                                     "members_member_ids": "1,x"})
    ra.error("POST", "/rooms", 400, form={"name": "n", "members_admin_ids": str(alice),
                                         "members_member_ids": str(alice)})
    ra.error("POST", "/rooms", 404, form={"name": "n", "members_admin_ids": "987654"})
    ra.error("POST", "/rooms", 413, form={"name": "x" * 256, "members_admin_ids": str(alice)})
    assert "action_type" in ra.error("DELETE", f"/rooms/{room}", 400)
    ra.error("DELETE", f"/rooms/{room}", 400, form={"action_type": "vanish"})
    ra.error("PUT", f"/rooms/{room}/messages/read", 400, form={"message_id": "abc"})
    ra.error("GET", "/rooms", 400, query={"method": "PATCH"})
    # Broken form encoding; a JSON body.
    assert "escape" in ra.error("POST", f"/rooms/{room}/messages", 400, raw_body=b"body=%zz",
                                headers={"Content-Type": "application/x-www-form-urlencoded"})
    ra.error("POST", f"/rooms/{room}/messages", 400, raw_body=b'{"body": "x"}',
             headers={"Content-Type": "application/json"})
    # Wrong method: 405 with Allow; HEAD gets the header only and the connection goes on.
    st, body, h = ra.call("PUT", "/rooms")
    assert st == 405 and h.get("allow") == "GET, POST" and body["errors"]
    st, body, h = ra.call("HEAD", "/rooms")
    assert st == 405 and body is None
    assert ra.ok("GET", "/rooms")
    # The last admin may not leave while others stay (a conflict).
    ra.error("DELETE", f"/rooms/{room}", 409, form={"action_type": "leave"})

    # Nothing above broke the server or the room.
    assert [m["body"] for m in rb.ok("GET", f"/rooms/{room}/messages",
                                      query={"force": "1"})] == ["x"]


def test_body_over_the_limit(server_factory):
    server = server_factory("--api-max-body=2048")
    (alice, ra), = people(server, "alice")
    room = make_room(ra, "r", admins=[alice])
    assert "limit" in ra.error("POST", f"/rooms/{room}/messages", 413,
                               form={"body": "a" * 4000})
    # The connection was closed after the 413; a new one works.
    assert ra.ok("POST", f"/rooms/{room}/messages", form={"body": "a" * 1000})


def test_disabled_account_and_revoked_token(server):
    (alice, ra), (bob, rb) = people(server, "alice", "bob")
    room = make_room(ra, "r", admins=[alice], members=[bob])
    # Bob's keep-alive connection is authenticated; disabling him closes its session.
    assert rb.ok("GET", "/rooms")
    st, body = server.operator_http("POST", "/api/admin/disable-account", {"account_id": bob})
    assert st == 200, body
    assert "disabled" in rb.error("GET", "/rooms", 401)
    server.operator_http("POST", "/api/admin/enable-account", {"account_id": bob})
    assert rb.ok("GET", "/rooms")
    st, body = server.operator_http("POST", "/api/admin/create-token", {"account_id": bob})
    assert st == 200
    new_token = json.loads(body)["token"]
    rb.error("GET", "/rooms", 401)  # the old token, on the same connection
    rb.token = new_token
    assert [r["room_id"] for r in rb.ok("GET", "/rooms") if r["type"] != "my"] == [room]
    st, _ = server.operator_http("POST", "/api/admin/revoke-tokens", {"account_id": bob})
    assert st == 200
    rb.error("POST", f"/rooms/{room}/messages", 401, form={"body": "x"})


def test_rate_limit_per_token(server_factory):
    server = server_factory("--api-rate=5/min")
    (alice, ra), (bob, rb) = people(server, "alice", "bob")
    remaining = []
    for _ in range(5):
        st, body, h = ra.call("GET", "/rooms")
        assert st == 200, body
        assert h["x-ratelimit-limit"] == "5"
        remaining.append(int(h["x-ratelimit-remaining"]))
        reset = int(h["x-ratelimit-reset"])
        assert time.time() - 5 < reset <= time.time() + 61
    assert remaining == [4, 3, 2, 1, 0]
    st, body, h = ra.call("GET", "/rooms")
    assert st == 429 and "rate limit" in body["errors"][0].lower()
    assert h["x-ratelimit-remaining"] == "0" and int(h["retry-after"]) >= 1
    # Another token has its own budget; the limited one stays limited on a new connection.
    st, _, h = rb.call("GET", "/rooms")
    assert st == 200 and h["x-ratelimit-remaining"] == "4"
    ra.close()
    assert ra.call("POST", "/rooms", form={"name": "n", "members_admin_ids": str(alice)})[0] == 429


def test_token_switch_on_one_connection(server):
    (alice, ra), (bob, rb) = people(server, "alice", "bob")
    make_room(ra, "only alice", admins=[alice])
    # One connection, requests alternating between two tokens: each sees its own rooms.
    for _ in range(3):
        assert len(ra.call("GET", "/rooms")[1]) == 2  # alice's my room and "only alice"
        st, body, _ = ra.call("GET", "/rooms", token=rb.token)
        assert st == 200 and [x["type"] for x in body] == ["my"]
    assert ra.connects == 1


def test_fetch_position_survives_a_restart(server):
    (alice, ra), (bob, rb) = people(server, "alice", "bob")
    room = make_room(ra, "r", admins=[alice], members=[bob])
    for i in range(3):
        ra.ok("POST", f"/rooms/{room}/messages", form={"body": f"m{i}"})
    assert [m["body"] for m in rb.ok("GET", f"/rooms/{room}/messages")] == ["m0", "m1", "m2"]
    rb.close()
    ra.close()
    server.restart()
    # Durable: nothing new after the restart, then only what came after.
    st, _, _ = rb.call("GET", f"/rooms/{room}/messages")
    assert st == 204
    ra.ok("POST", f"/rooms/{room}/messages", form={"body": "after"})
    assert [m["body"] for m in rb.ok("GET", f"/rooms/{room}/messages")] == ["after"]


def test_more_than_100_new_messages_come_in_pages(server):
    (alice, ra), (bob, rb) = people(server, "alice", "bob")
    room = make_room(ra, "r", admins=[alice], members=[bob])
    c = server.connect(ra.token)
    sent = [c.send("send_message", room_id=room, body=f"n{i}", client_msg_id=f"c{i}")
            for i in range(130)]
    assert all(c.reply(rid)["ok"] for rid in sent)
    first = rb.ok("GET", f"/rooms/{room}/messages")
    assert [m["body"] for m in first] == [f"n{i}" for i in range(100)]
    second = rb.ok("GET", f"/rooms/{room}/messages")
    assert [m["body"] for m in second] == [f"n{i}" for i in range(100, 130)]
    assert rb.call("GET", f"/rooms/{room}/messages")[0] == 204
    # force=1: the latest 100.
    latest = rb.ok("GET", f"/rooms/{room}/messages", query={"force": "1"})
    assert [m["body"] for m in latest] == [f"n{i}" for i in range(30, 130)]


def test_metrics_and_access_log(server_factory, tmp_path):
    log_dir = tmp_path / "logs"
    server = server_factory(f"--log-dir={log_dir}")
    (alice, ra), = people(server, "alice")
    room = make_room(ra, "r", admins=[alice])
    ra.ok("POST", f"/rooms/{room}/messages", form={"body": "x"})
    ra.error("GET", "/rooms/abc", 400)
    ra.error("GET", "/rooms", 401, token="f" * 64)
    st, body = server.http("GET", "/metrics")
    assert st == 200
    text = body.decode()
    assert 'hibiki_rest_requests_total{code="200",endpoint="messages_post"} 1' in text
    assert 'hibiki_rest_requests_total{code="200",endpoint="rooms_create"} 1' in text
    assert 'hibiki_rest_requests_total{code="400",endpoint="unknown"} 1' in text
    assert 'hibiki_rest_requests_total{code="401",endpoint="rooms_list"} 1' in text
    assert 'hibiki_http_requests_total{code="200",path="rest"}' in text
    ra.close()
    # The access log has the REST requests (paths without query strings), never the token.
    access = log_dir / "access.log"
    deadline = time.time() + DEFAULT_TIMEOUT
    records = []
    while time.time() < deadline:
        if access.exists():
            records = [json.loads(line) for line in access.read_text().splitlines() if line]
            if sum(1 for r in records if r.get("path", "").startswith("/v2/")) >= 4:
                break
        time.sleep(0.1)
    v2 = [r for r in records if r.get("path", "").startswith("/v2/")]
    assert {(r["method"], r["path"], r["status"]) for r in v2} >= {
        ("POST", "/v2/rooms", 200), (("POST", f"/v2/rooms/{room}/messages", 200)),
        ("GET", "/v2/rooms/abc", 400), ("GET", "/v2/rooms", 401)}
    for path in log_dir.iterdir():
        assert ra.token.encode() not in path.read_bytes(), path
        assert ra.token[:32].encode() not in path.read_bytes(), path
