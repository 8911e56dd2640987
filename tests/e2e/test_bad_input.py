"""Bad input: malformed frames, mistyped fields, limits, close codes, forbidden actions.

After every kind of abuse the server must still serve a new client and report healthy.
"""

import base64
import json
import os
import socket
import struct
import time

import pytest

from conftest import send_many


def create_room(admin, name, members=()):
    return admin.ok("create_room", name=name, members=[m.account_id for m in members])["room_id"]


def still_serving(server):
    assert server.healthz() == 200
    c = server.user("after-abuse")
    c.ok("ping")
    room = create_room(c, "still fine")
    c.ok("send_message", room_id=room, body="ok", client_msg_id="ok")
    assert [m["body"] for m in c.ok("history", room_id=room)["messages"]] == ["ok"]


# ---- malformed frames --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "frame",
    [
        "not json",
        "{",
        '{"id": 1, "op": "ping"',  # truncated
        "",
        "[1, 2]",
        "42",
        '"ping"',
        "null",
        '{"op": "ping"}',  # no id
        '{"id": 1.5, "op": "ping"}',  # a float is not an id
        '{"id": "7", "op": "ping"}',  # a string is not an id
        '{"id": null, "op": "ping"}',
    ],
)
def test_malformed_frame_gets_bad_request_with_null_re(server, frame):
    c = server.user("alice")
    c.send_text(frame)
    r = c.null_reply()
    assert r["ok"] is False and r["error"]["code"] == "bad_request", r
    assert isinstance(r["error"]["message"], str)
    # The connection stays open and keeps working.
    c.ok("ping")
    c.ok("list_rooms")
    assert not c.closed


def test_malformed_frame_before_auth_keeps_connection_open(server):
    c = server.connect()
    c.send_text("{{{")
    r = c.null_reply()
    assert r["ok"] is False and r["error"]["code"] == "bad_request", r
    c.ok("ping")


def test_unknown_op_and_bad_op(server):
    c = server.user("alice")
    rid = c.send("nope")
    r = c.reply(rid)
    assert r["re"] == rid and r["ok"] is False and r["error"]["code"] == "bad_request", r
    rid = c.new_id()
    c.send_json({"id": rid, "op": 5})
    r = c.reply(rid)
    assert r["ok"] is False and r["error"]["code"] == "bad_request", r
    rid = c.new_id()
    c.send_json({"id": rid})
    r = c.reply(rid)
    assert r["ok"] is False and r["error"]["code"] == "bad_request", r
    c.ok("ping")


def test_mistyped_and_missing_fields(server):
    alice, bob = server.user("alice"), server.user("bob")
    room = create_room(alice, "team", [bob])
    mid = alice.ok("send_message", room_id=room, body="m", client_msg_id="m")["message_id"]
    cases = [
        # auth
        ("auth", {}),
        ("auth", {"token": 5}),
        # create_room
        ("create_room", {"members": []}),
        ("create_room", {"name": 5, "members": []}),
        ("create_room", {"name": "x"}),
        ("create_room", {"name": "x", "members": "2"}),
        ("create_room", {"name": "x", "members": [str(bob.account_id)]}),
        ("create_room", {"name": "x", "members": [-1]}),
        ("create_room", {"name": "x", "members": [0]}),
        ("create_room", {"name": "x", "members": [1.5]}),
        ("create_room", {"name": "", "members": []}),
        ("create_room", {"name": "x", "members": [], "description": 5}),
        # add_members
        ("add_members", {"room_id": room}),
        ("add_members", {"account_ids": [bob.account_id]}),
        ("add_members", {"room_id": str(room), "account_ids": [bob.account_id]}),
        ("add_members", {"room_id": room, "account_ids": bob.account_id}),
        ("add_members", {"room_id": room, "account_ids": [bob.account_id], "role": "owner"}),
        ("add_members", {"room_id": room, "account_ids": [bob.account_id], "role": 1}),
        # remove_member / leave_room
        ("remove_member", {"room_id": room}),
        ("remove_member", {"room_id": room, "account_id": str(bob.account_id)}),
        ("remove_member", {"room_id": room, "account_id": -3}),
        ("leave_room", {}),
        ("leave_room", {"room_id": None}),
        # send_message
        ("send_message", {"room_id": room, "body": "x"}),
        ("send_message", {"room_id": room, "client_msg_id": "c"}),
        ("send_message", {"body": "x", "client_msg_id": "c"}),
        ("send_message", {"room_id": str(room), "body": "x", "client_msg_id": "c"}),
        ("send_message", {"room_id": float(room) + 0.5, "body": "x", "client_msg_id": "c"}),
        ("send_message", {"room_id": -room, "body": "x", "client_msg_id": "c"}),
        ("send_message", {"room_id": 0, "body": "x", "client_msg_id": "c"}),
        ("send_message", {"room_id": 2**53, "body": "x", "client_msg_id": "c"}),
        ("send_message", {"room_id": room, "body": 5, "client_msg_id": "c"}),
        ("send_message", {"room_id": room, "body": "x", "client_msg_id": 5}),
        ("send_message", {"room_id": room, "body": "", "client_msg_id": "c"}),
        ("send_message", {"room_id": room, "body": "x", "client_msg_id": ""}),
        # edit / delete: message_id is a string of digits
        ("edit_message", {"room_id": room, "message_id": int(mid), "body": "x"}),
        ("edit_message", {"room_id": room, "message_id": "abc", "body": "x"}),
        ("edit_message", {"room_id": room, "message_id": "-1", "body": "x"}),
        ("edit_message", {"room_id": room, "message_id": "", "body": "x"}),
        ("edit_message", {"room_id": room, "message_id": mid}),
        ("delete_message", {"room_id": room, "message_id": int(mid)}),
        ("delete_message", {"room_id": room, "message_id": "1e3"}),
        ("delete_message", {"room_id": room}),
        # history
        ("history", {}),
        ("history", {"room_id": room, "limit": 0}),
        ("history", {"room_id": room, "limit": 101}),
        ("history", {"room_id": room, "limit": -1}),
        ("history", {"room_id": room, "limit": "5"}),
        ("history", {"room_id": room, "limit": 5.5}),
        ("history", {"room_id": room, "before": mid, "after": mid}),
        ("history", {"room_id": room, "before": int(mid)}),
        ("history", {"room_id": room, "after": "x1"}),
        # mark_read
        ("mark_read", {"room_id": room}),
        ("mark_read", {"room_id": room, "message_id": int(mid)}),
        # sync
        ("sync", {}),
        ("sync", {"since": [[room, 0]]}),
        ("sync", {"since": {"abc": 0}}),
        ("sync", {"since": {str(room): "0"}}),
        ("sync", {"since": {str(room): -1}}),
    ]
    failures = []
    for op, fields in cases:
        r = alice.request(op, **fields)
        if r.get("ok") is not False or r.get("error", {}).get("code") != "bad_request":
            failures.append((op, fields, r))
    assert not failures, "expected bad_request:\n" + "\n".join(map(repr, failures))
    # None of it changed anything, and the connection still works.
    msgs = alice.ok("history", room_id=room)["messages"]
    assert [m["body"] for m in msgs] == ["m"]
    entry = [x for x in alice.ok("list_rooms")["rooms"] if x["room_id"] == room][0]
    assert entry["last_seq"] == 2, entry
    assert [x["type"] for x in alice.ok("list_rooms", details=True)["rooms"]] == ["my", "group"]
    assert not alice.closed


def test_limits_at_their_bounds_are_accepted(server):
    alice = server.user("alice")
    room = create_room(alice, "bounds")
    alice.ok("send_message", room_id=room, body="x", client_msg_id="c" * 64)
    r = alice.request("send_message", room_id=room, body="x", client_msg_id="c" * 65)
    assert r["ok"] is False and r["error"]["code"] in ("bad_request", "too_large"), r
    assert len(alice.ok("history", room_id=room, limit=1)["messages"]) == 1
    assert len(alice.ok("history", room_id=room, limit=100)["messages"]) == 1
    # docs/protocol.md: room names 1-255 characters, descriptions up to 10,000 (code points).
    alice.ok("create_room", name="あ" * 255, members=[], description="é" * 10000)
    for fields in ({"name": "あ" * 256}, {"name": "x", "description": "é" * 10001}):
        r = alice.request("create_room", members=[], **fields)
        assert r["ok"] is False and r["error"]["code"] in ("bad_request", "too_large"), r
    names = sorted(x["name"] for x in alice.ok("list_rooms", details=True)["rooms"]
                   if x["type"] == "group")
    assert names == sorted(["bounds", "あ" * 255])


def test_body_length_counts_code_points(server):
    alice, bob = server.user("alice"), server.user("bob")
    room = create_room(alice, "long", [bob])
    # 65,535 characters are fine whatever their UTF-8 size (3 and 4 bytes each here).
    kana = "あ" * 65535
    emoji = "😀" * 65535
    rid = alice.new_id()
    # Raw UTF-8 in the frame...
    alice.send_text(
        json.dumps(
            {"id": rid, "op": "send_message", "room_id": room, "body": kana, "client_msg_id": "k"},
            ensure_ascii=False,
        )
    )
    r = alice.reply(rid)
    assert r["ok"] is True, r
    # ...and \u escapes with surrogate pairs.
    alice.ok("send_message", room_id=room, body=emoji, client_msg_id="e")
    alice.ok("send_message", room_id=room, body="a" * 65535, client_msg_id="a")
    # One more character is too large.
    alice.fail("send_message", "too_large", room_id=room, body="a" * 65536, client_msg_id="a2")
    alice.fail("send_message", "too_large", room_id=room, body="あ" * 65536, client_msg_id="k2")
    alice.fail("send_message", "too_large", room_id=room, body="😀" * 65536, client_msg_id="e2")
    msgs = bob.ok("history", room_id=room)["messages"]
    assert [m["body"] for m in msgs] == [kana, emoji, "a" * 65535]
    # Edits obey the same limit.
    mid = msgs[0]["message_id"]
    alice.fail("edit_message", "too_large", room_id=room, message_id=mid, body="é" * 65536)
    alice.ok("edit_message", room_id=room, message_id=mid, body="é" * 65535)


# ---- close codes -------------------------------------------------------------------------------


def test_frame_over_the_default_limit_closes_1009(server):
    c = server.user("alice")
    room = create_room(c, "big")
    body = "a" * (1024 * 1024 + 4096)  # over the default 1 MiB frame limit
    try:
        c.send_json({"id": 99, "op": "send_message", "room_id": room, "body": body,
                     "client_msg_id": "big"})
    except Exception:
        pass  # the server may close before the whole frame is written
    assert c.wait_closed() == 1009
    still_serving(server)


def test_frame_over_a_configured_limit_closes_1009(server_factory):
    server = server_factory("--max-frame-bytes=4096")
    c = server.user("alice")
    room = create_room(c, "small frames")
    c.ok("send_message", room_id=room, body="a" * 3000, client_msg_id="fits")
    try:
        c.send_json({"id": 99, "op": "send_message", "room_id": room, "body": "a" * 5000,
                     "client_msg_id": "big"})
    except Exception:
        pass
    assert c.wait_closed() == 1009
    still_serving(server)


def test_binary_frame_closes_1003(server):
    c = server.user("alice")
    c.send_bytes(b'{"id": 1, "op": "ping"}')
    assert c.wait_closed() == 1003
    c2 = server.connect()
    c2.send_bytes(b"\x00\x01\x02")
    assert c2.wait_closed() == 1003
    still_serving(server)


@pytest.mark.parametrize(
    "op,fields",
    [
        ("list_rooms", {}),
        ("send_message", {"room_id": 1, "body": "x", "client_msg_id": "c"}),
        ("create_room", {"name": "x", "members": []}),
        ("sync", {"since": {}}),
    ],
)
def test_request_before_auth_is_refused_and_closed_1008(server, op, fields):
    c = server.connect()
    c.ok("ping")  # allowed before auth
    rid = c.send(op, **fields)
    r = c.reply(rid)
    assert r["ok"] is False and r["error"]["code"] == "unauthenticated", r
    assert c.wait_closed() == 1008
    still_serving(server)


def test_failed_auth_then_request_is_closed_1008(server):
    c = server.connect()
    c.fail("auth", "unauthenticated", token="f" * 64)
    c.fail("list_rooms", "unauthenticated")
    assert c.wait_closed() == 1008


# ---- forbidden actions leave the server healthy ------------------------------------------------


def test_forbidden_actions_then_server_still_serves(server):
    alice, bob, mallory = server.user("alice"), server.user("bob"), server.user("mallory")
    room = create_room(alice, "team", [bob])
    mid = alice.ok("send_message", room_id=room, body="mine", client_msg_id="a")["message_id"]
    bob.fail("edit_message", "forbidden", room_id=room, message_id=mid, body="theirs")
    bob.fail("delete_message", "forbidden", room_id=room, message_id=mid)
    bob.fail("add_members", "forbidden", room_id=room, account_ids=[mallory.account_id])
    bob.fail("remove_member", "forbidden", room_id=room, account_id=alice.account_id)
    mallory.fail("history", "forbidden", room_id=room)
    mallory.fail("send_message", "forbidden", room_id=room, body="hi", client_msg_id="m")
    mallory.fail("add_members", "forbidden", room_id=room, account_ids=[mallory.account_id])
    assert [m["body"] for m in alice.ok("history", room_id=room)["messages"]] == ["mine"]
    still_serving(server)


# ---- HTTP --------------------------------------------------------------------------------------


def test_http_bad_requests(server):
    for body in (
        "not json",
        "{",
        "[]",
        {},
        {"name": 5},
        {"name": None},
        {"name": ""},
        {"name": "x" * 10000},
    ):
        status, text = server.http("POST", "/api/signup", body)
        assert status == 400, (body if len(str(body)) < 100 else "long name", status, text[:200])
    status, _ = server.http("GET", "/nope")
    assert status == 404
    # The contract names no code for an unknown path with POST; 404 or 405 are both HTTP.
    status, _ = server.http("POST", "/api/nope", {"name": "x"})
    assert status in (404, 405)
    # Nothing was created by the refused sign-ups; a good one still works.
    a, _ = server.signup("first-real")
    b, _ = server.signup("second-real")
    assert b != a
    assert server.healthz() == 200


def test_rate_limited_requests_are_not_executed(server):
    """docs/protocol.md: past the per-connection token bucket (100/s, burst 200) requests get
    rate_limited and are not executed. Each request still gets exactly one reply."""
    alice = server.user("alice")
    room = create_room(alice, "flood")
    n = 600
    rids = [
        alice.send("send_message", room_id=room, body=f"f{i}", client_msg_id=f"f{i}")
        for i in range(n)
    ]
    replies = [alice.reply(rid, timeout=60) for rid in rids]
    ok = [r for r in replies if r["ok"] is True]
    limited = [r for r in replies if r["ok"] is False]
    assert all(r["error"]["code"] == "rate_limited" for r in limited), limited[:3]
    assert ok, "every send was refused"
    if not limited:
        return  # a machine fast enough to refill the bucket: nothing to check
    time.sleep(2.5)  # let the bucket refill
    entry = [x for x in alice.ok("list_rooms")["rooms"] if x["room_id"] == room][0]
    assert entry["message_num"] == len(ok), (entry, len(ok), len(limited))
    msgs = []
    before = None
    while True:
        kw = {"room_id": room, "limit": 100}
        if before:
            kw["before"] = before
        page = alice.ok("history", **kw)["messages"]
        if not page:
            break
        msgs = page + msgs
        before = page[0]["message_id"]
    assert sorted(m["message_id"] for m in msgs) == sorted(r["message_id"] for r in ok)


class RawWebSocket:
    """A bare-bones WebSocket client over a plain socket, so that a test can stop reading (the
    `websockets` library always drains its socket)."""

    def __init__(self, host, port, rcvbuf=4096):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(15)
        self.sock.connect((host, port))
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            (
                f"GET /ws HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(1)
            assert chunk, "connection closed during the handshake"
            head += chunk
        assert head.startswith(b"HTTP/1.1 101"), head

    def send_text(self, text):
        payload = text.encode()
        mask = os.urandom(4)
        n = len(payload)
        if n < 126:
            header = bytes([0x81, 0x80 | n])
        elif n < 65536:
            header = bytes([0x81, 0x80 | 126]) + struct.pack(">H", n)
        else:
            header = bytes([0x81, 0x80 | 127]) + struct.pack(">Q", n)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def read_frame_text(self):
        """Reads one unfragmented frame (used only before the test stops reading)."""

        def exact(n):
            buf = b""
            while len(buf) < n:
                chunk = self.sock.recv(n - len(buf))
                assert chunk, "closed"
                buf += chunk
            return buf

        b0, b1 = exact(2)
        n = b1 & 0x7F
        if n == 126:
            n = int.from_bytes(exact(2), "big")
        elif n == 127:
            n = int.from_bytes(exact(8), "big")
        return exact(n).decode()

    def drain_until_closed(self, timeout):
        """Reads everything; returns (bytes read, True when the server closed the connection)."""
        total = 0
        deadline = time.monotonic() + timeout
        self.sock.settimeout(1)
        while time.monotonic() < deadline:
            try:
                chunk = self.sock.recv(1 << 16)
            except socket.timeout:
                continue
            except OSError:  # reset by the server
                return total, True
            if not chunk:
                return total, True
            total += len(chunk)
        return total, False


def test_slow_reader_is_disconnected(server_factory):
    """docs/protocol.md: a connection whose unsent output passes --max-outgoing-bytes is closed;
    the server never buffers without bound for a client that does not read."""
    server = server_factory("--max-outgoing-bytes=1048576")
    alice = server.user("alice")
    slow_id, slow_token = server.signup("slow")
    room = create_room(alice, "flood")
    alice.ok("add_members", room_id=room, account_ids=[slow_id])
    slow = RawWebSocket(server.host, server.port)
    slow.send_text(json.dumps({"id": 1, "op": "auth", "token": slow_token}))
    assert json.loads(slow.read_frame_text())["ok"] is True
    # From here on the slow client reads nothing while about 24 MB of pushes are due to it. The
    # readers send 4 at a time so that their own bursts stay far below the limit.
    body = "z" * 60000
    flooders = [server.connect(alice.token) for _ in range(2)]

    pushed = 0
    for i, c in enumerate(flooders):
        c.account_id = alice.account_id
        pushed += len(send_many(c, room, [body] * 200, window=4, id_prefix=f"flood{i}")) * len(body)
    received, closed = slow.drain_until_closed(timeout=30)
    assert closed, f"slow reader still connected after {received} of {pushed} bytes"
    assert received < pushed
    still_serving(server)


def test_idle_timeout_spares_a_client_that_answers_pings(server_factory):
    """A client that sends nothing for several idle timeouts but answers WebSocket pings (as every
    library does) stays connected, and still gets pushes."""
    server = server_factory("--idle-timeout=1")
    alice, bob = server.user("alice"), server.user("bob")
    room = create_room(alice, "quiet", [bob])
    time.sleep(3.5)
    assert not bob.closed, f"idle client closed with {bob.close_code}"
    alice2 = server.connect(alice.token)
    alice2.ok("send_message", room_id=room, body="still there?", client_msg_id="q")
    e = bob.next_event("message_created")
    assert e["message"]["body"] == "still there?"
    bob.ok("ping")


def test_signup_closed_when_open_signup_is_false(server_factory):
    server = server_factory("--open-signup=false")
    status, _ = server.http("POST", "/api/signup", {"name": "alice"})
    assert status == 403
    assert server.healthz() == 200


def raw_http(server, data, timeout=10):
    """Sends raw bytes; returns what the server answers before closing (or within timeout)."""

    s = socket.create_connection((server.host, server.port), timeout=timeout)
    try:
        s.sendall(data)
        out = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            except OSError:
                break
            if not chunk:
                break
            out += chunk
            if b"\r\n\r\n" in out:
                break
        return out
    finally:
        s.close()


def test_garbage_http_and_wrong_paths(server):
    out = raw_http(server, b"GARBAGE GARBAGE GARBAGE\r\n\r\n")
    assert out == b"" or out.startswith(b"HTTP/1.1 4"), out[:200]
    out = raw_http(server, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 200000 + b"\r\n\r\n")
    assert out == b"" or out.startswith(b"HTTP/1.1 4"), out[:200]
    # A WebSocket upgrade anywhere but /ws is refused.
    out = raw_http(
        server,
        b"GET /nope HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    )
    assert not out.startswith(b"HTTP/1.1 101"), out[:200]
    # A well-formed request still gets its answer.
    out = raw_http(server, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 200"), out[:200]
    still_serving(server)
