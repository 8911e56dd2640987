"""Webhooks end to end: a real hibikid POSTs signed deliveries to a Python receiver on a loopback
port the test starts (hence --webhook-allow-private=true), and the receiver checks each
signature with Python's own hmac. Faults: the receiver down, slow, answering 500, redirecting to
a private address; hibikid killed with deliveries pending. Bad inputs: a non-admin, bad URLs,
unknown events, too many webhooks, an unknown webhook id, a loopback URL without the flag."""

import base64
import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from conftest import wait_for

DELIVERY_TIMEOUT = 30

# Short retries and a breaker that opens after 3 failures, so the faults show within seconds.
FAST = (
    "--webhook-allow-private=true",
    "--webhook-retry-initial-ms=100",
    "--webhook-retry-max=1",
    "--webhook-timeout-ms=1000",
    "--webhook-connect-timeout-ms=500",
    "--webhook-breaker-failures=3",
    "--webhook-breaker-reset-ms=500",
)


class Receiver:
    """An HTTP server on 127.0.0.1 recording every POST: (path, headers, body). `mode` decides
    the answer: ok (200), fail (500), slow (sleeps past hibikid's timeout, then 200), redirect
    (302 to a private address)."""

    def __init__(self, port=0):
        self.deliveries = []
        self.attempts = 0
        self.mode = "ok"
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                with receiver.lock:
                    receiver.attempts += 1
                    mode = receiver.mode
                if mode == "slow":
                    time.sleep(2.5)
                if mode == "fail":
                    self.send_response(500)
                    self.end_headers()
                    return
                if mode == "redirect":
                    self.send_response(302)
                    self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
                    self.end_headers()
                    return
                if mode == "ok":
                    with receiver.lock:
                        receiver.deliveries.append((self.path, dict(self.headers), body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path="/hook"):
        return f"http://127.0.0.1:{self.port}{path}"

    def bodies(self):
        with self.lock:
            return [json.loads(b) for (_, _, b) in self.deliveries]

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.stop()


def verify(token, headers, body):
    """The receiver's check: base64(HMAC-SHA256(key = base64-decoded token, raw body))."""
    expected = base64.b64encode(
        hmac.new(base64.b64decode(token), body, hashlib.sha256).digest()).decode()
    got = {k.lower(): v for k, v in headers.items()}.get("x-chatworkwebhooksignature")
    return got == expected


def make_room(server, *names):
    clients = [server.user(n) for n in names]
    owner = clients[0]
    room = owner.ok("create_room", name="hooks",
                    members=[c.account_id for c in clients[1:]])["room_id"]
    return clients, room


def wait_deliveries(receiver, n, timeout=DELIVERY_TIMEOUT):
    return wait_for(lambda: len(receiver.bodies()) >= n and receiver.bodies(),
                    lambda: f"{n} deliveries (have {len(receiver.bodies())})", timeout)


def hook_state(client, room, webhook_id):
    for w in client.ok("list_webhooks", room_id=room)["webhooks"]:
        if w["webhook_id"] == webhook_id:
            return w
    raise AssertionError(f"webhook {webhook_id} not listed")


def test_message_and_mentions_delivered_signed(server_factory, receiver):
    server = server_factory(*FAST)
    (alice, bob, carol), room = make_room(server, "alice", "bob", "carol")
    created = alice.ok("create_webhook", room_id=room, url=receiver.url(),
                       events=["message_created", "mention_to_me"])
    token = created["token"]
    assert len(base64.b64decode(token)) == 32
    # Before the webhook: nothing is delivered for it.
    body = f"[To:{bob.account_id}] [To:{carol.account_id}] hello"
    sent = alice.ok("send_message", room_id=room, body=body, client_msg_id="m1")
    got = wait_deliveries(receiver, 3)
    for (_, headers, raw) in receiver.deliveries:
        assert verify(token, headers, raw), "signature does not verify"
        assert headers.get("Content-Type") == "application/json"
    types = sorted(b["webhook_event_type"] for b in got)
    assert types == ["mention_to_me", "mention_to_me", "message_created"]
    created_event = next(b for b in got if b["webhook_event_type"] == "message_created")
    assert created_event["webhook_setting_id"] == str(created["webhook_id"])
    assert isinstance(created_event["webhook_event_time"], int)
    ev = created_event["webhook_event"]
    assert ev["message_id"] == sent["message_id"]
    assert ev["room_id"] == room
    assert ev["account_id"] == alice.account_id
    assert ev["body"] == body
    assert isinstance(ev["send_time"], int) and ev["update_time"] == 0
    mentioned = sorted(b["webhook_event"]["to_account_id"] for b in got
                       if b["webhook_event_type"] == "mention_to_me")
    assert mentioned == sorted([bob.account_id, carol.account_id])
    for b in got:
        if b["webhook_event_type"] == "mention_to_me":
            assert b["webhook_event"]["from_account_id"] == alice.account_id
            assert b["webhook_event"]["message_id"] == sent["message_id"]
    # The state shows the deliveries, never the token.
    state = hook_state(alice, room, created["webhook_id"])
    assert "token" not in state
    assert state["url"] == receiver.url()
    assert state["events"] == ["message_created", "mention_to_me"]
    wait_for(lambda: hook_state(alice, room, created["webhook_id"])["delivery"]["delivered"] == 3,
             "delivered 3")
    d = hook_state(alice, room, created["webhook_id"])["delivery"]
    assert d["last_status"] == 200 and d["pending"] == 0 and d["consecutive_failures"] == 0
    assert d["breaker"] == "closed" and d["last_attempt_time"] > 0
    # Deleted: later messages are not delivered.
    alice.ok("delete_webhook", room_id=room, webhook_id=created["webhook_id"])
    alice.ok("send_message", room_id=room, body="after", client_msg_id="m2")
    assert alice.ok("list_webhooks", room_id=room)["webhooks"] == []
    time.sleep(1)
    assert len(receiver.bodies()) == 3


def test_task_created_delivered(server_factory, receiver):
    server = server_factory(*FAST)
    (alice, bob), room = make_room(server, "alice", "bob")
    created = alice.ok("create_webhook", room_id=room, url=receiver.url(),
                       events=["task_created"])
    alice.ok("add_task", room_id=room, body="review", to_ids=[bob.account_id])
    got = wait_deliveries(receiver, 1)
    assert len(got) == 1 and got[0]["webhook_event_type"] == "task_created"
    ev = got[0]["webhook_event"]
    assert ev["room_id"] == room and ev["account_id"] == bob.account_id
    assert ev["assigned_by_account_id"] == alice.account_id and ev["body"] == "review"
    assert ev["status"] == "open" and isinstance(ev["task_id"], int)
    assert verify(created["token"], receiver.deliveries[0][1], receiver.deliveries[0][2])


def test_order_per_room(server_factory, receiver):
    server = server_factory(*FAST)
    (alice,), room = make_room(server, "alice")
    alice.ok("create_webhook", room_id=room, url=receiver.url(), events=["message_created"])
    for i in range(30):
        alice.ok("send_message", room_id=room, body=f"n{i}", client_msg_id=f"o{i}")
    got = wait_deliveries(receiver, 30)
    assert [b["webhook_event"]["body"] for b in got] == [f"n{i}" for i in range(30)]


def test_receiver_down_then_back(server_factory):
    first = Receiver()
    port = first.port
    first.stop()  # nothing listens on the port now
    server = server_factory(*FAST)
    (alice,), room = make_room(server, "alice")
    hook = alice.ok("create_webhook", room_id=room, url=f"http://127.0.0.1:{port}/h",
                    events=["message_created"])
    for i in range(3):
        alice.ok("send_message", room_id=room, body=f"d{i}", client_msg_id=f"d{i}")
    d = wait_for(lambda: (lambda s: s if s["consecutive_failures"] >= 1 and s["pending"] == 3
                          else None)(hook_state(alice, room, hook["webhook_id"])["delivery"]),
                 "failed attempts with 3 pending")
    assert d["last_status"] == 0 and "connect" in d["last_error"], d
    back = Receiver(port)
    try:
        got = wait_deliveries(back, 3)
        assert [b["webhook_event"]["body"] for b in got] == ["d0", "d1", "d2"]
        wait_for(lambda: hook_state(alice, room, hook["webhook_id"])["delivery"]["pending"] == 0,
                 "nothing pending")
    finally:
        back.stop()


def test_slow_receiver_times_out_then_retried(server_factory, receiver):
    server = server_factory(*FAST)
    (alice,), room = make_room(server, "alice")
    hook = alice.ok("create_webhook", room_id=room, url=receiver.url(),
                    events=["message_created"])
    receiver.mode = "slow"
    alice.ok("send_message", room_id=room, body="slow", client_msg_id="s1")
    wait_for(lambda: "timed out" in hook_state(alice, room, hook["webhook_id"])["delivery"]
             ["last_error"], "a timed-out attempt")
    receiver.mode = "ok"
    got = wait_deliveries(receiver, 1)
    assert got[0]["webhook_event"]["body"] == "slow"


def test_500_retried_breaker_opens_state_visible(server_factory, receiver):
    server = server_factory(*FAST)
    (alice,), room = make_room(server, "alice")
    hook = alice.ok("create_webhook", room_id=room, url=receiver.url(),
                    events=["message_created"])
    receiver.mode = "fail"
    alice.ok("send_message", room_id=room, body="retry me", client_msg_id="f1")
    d = wait_for(lambda: (lambda s: s if s["consecutive_failures"] >= 3 else None)(
        hook_state(alice, room, hook["webhook_id"])["delivery"]), "three failures")
    assert d["last_status"] == 500 and d["pending"] == 1
    wait_for(lambda: hook_state(alice, room, hook["webhook_id"])["delivery"]["breaker"]
             in ("open", "half_open"), "the breaker open")
    assert receiver.attempts >= 3
    receiver.mode = "ok"
    got = wait_deliveries(receiver, 1)
    assert got[0]["webhook_event"]["body"] == "retry me"
    wait_for(lambda: hook_state(alice, room, hook["webhook_id"])["delivery"]["breaker"]
             == "closed", "the breaker closed again")


def test_redirect_to_private_address_not_followed(server_factory, receiver):
    server = server_factory(*FAST)
    (alice,), room = make_room(server, "alice")
    hook = alice.ok("create_webhook", room_id=room, url=receiver.url(),
                    events=["message_created"])
    receiver.mode = "redirect"
    alice.ok("send_message", room_id=room, body="go elsewhere", client_msg_id="r1")
    d = wait_for(lambda: (lambda s: s if s["last_status"] == 302 else None)(
        hook_state(alice, room, hook["webhook_id"])["delivery"]), "a 302 recorded")
    assert "not followed" in d["last_error"] and d["pending"] == 1
    # Still pending, never delivered elsewhere; once the receiver answers 200 it arrives.
    receiver.mode = "ok"
    got = wait_deliveries(receiver, 1)
    assert got[0]["webhook_event"]["body"] == "go elsewhere"


def test_kill9_with_pending_deliveries(server_factory, receiver):
    server = server_factory(*FAST)
    (alice,), room = make_room(server, "alice")
    alice.ok("create_webhook", room_id=room, url=receiver.url(), events=["message_created"])
    receiver.mode = "fail"
    for i in range(10):
        alice.ok("send_message", room_id=room, body=f"k{i}", client_msg_id=f"k{i}")
    wait_for(lambda: receiver.attempts >= 1, "an attempt")
    server.kill9()
    receiver.mode = "ok"
    server.restart()
    got = wait_deliveries(receiver, 10)
    bodies = [b["webhook_event"]["body"] for b in got]
    # At-least-once: every message arrives, in order; none is lost.
    assert sorted(set(bodies), key=lambda b: int(b[1:])) == [f"k{i}" for i in range(10)]
    first_seen = []
    for b in bodies:
        if b not in first_seen:
            first_seen.append(b)
    assert first_seen == [f"k{i}" for i in range(10)]


def test_loopback_refused_without_allow_private(server_factory, receiver):
    server = server_factory()
    (alice,), room = make_room(server, "alice")
    for url in (receiver.url(), "http://localhost:8080/h", "http://[::1]/h",
                "http://2130706433/h", "http://0x7f000001/h", "http://169.254.169.254/",
                "http://10.0.0.1/h", "http://[::ffff:127.0.0.1]/h"):
        r = alice.fail("create_webhook", "bad_request", room_id=room, url=url,
                       events=["message_created"])
        message = r["error"]["message"]
        assert "refused" in message or "resolve" in message, r
    assert alice.ok("list_webhooks", room_id=room)["webhooks"] == []
    # Someone who is not the room's admin learns nothing about where a host resolves.
    mallory = server.user("mallory")
    r = mallory.fail("create_webhook", "forbidden", room_id=room, url="http://10.0.0.1/h",
                     events=["message_created"])
    assert "10.0" not in r["error"]["message"] and "private" not in r["error"]["message"]
    # The refusal names the kind of address, never the address a name resolved to.
    r = alice.fail("create_webhook", "bad_request", room_id=room, url="http://localhost:8080/h",
                   events=["message_created"])
    assert "loopback" in r["error"]["message"] and "127.0.0.1" not in r["error"]["message"]
    assert server.healthz() == 200


def test_bad_inputs(server_factory, receiver):
    server = server_factory(*FAST)
    (alice, bob), room = make_room(server, "alice", "bob")
    url = receiver.url()
    # Not an admin.
    bob.fail("create_webhook", "forbidden", room_id=room, url=url, events=["message_created"])
    bob.fail("list_webhooks", "forbidden", room_id=room)
    # Bad URLs.
    for bad in ("", "ftp://example.com/", "not a url", "http://user:pw@127.0.0.1/",
                "http://127.0.0.1:99999/", "https://example.com/" + "a" * 3000):
        alice.fail("create_webhook", "too_large" if len(bad) > 2048 else "bad_request",
                   room_id=room, url=bad, events=["message_created"])
    # Bad events.
    for events in ([], ["message_deleted"], ["message_created", "message_created"], [1],
                   "message_created"):
        alice.fail("create_webhook", "bad_request", room_id=room, url=url, events=events)
    # Too many.
    ids = [alice.ok("create_webhook", room_id=room, url=url,
                    events=["message_created"])["webhook_id"] for _ in range(5)]
    alice.fail("create_webhook", "conflict", room_id=room, url=url, events=["message_created"])
    # Unknown webhook, unknown room.
    alice.fail("delete_webhook", "not_found", room_id=room, webhook_id=999)
    bob.fail("delete_webhook", "forbidden", room_id=room, webhook_id=ids[0])
    alice.fail("list_webhooks", "not_found", room_id=987654)
    alice.fail("delete_webhook", "bad_request", room_id=room)
    # Nothing acknowledged was lost and the server still serves.
    listed = [w["webhook_id"] for w in alice.ok("list_webhooks", room_id=room)["webhooks"]]
    assert listed == ids
    alice.ok("delete_webhook", room_id=room, webhook_id=ids[0])
    assert server.healthz() == 200
