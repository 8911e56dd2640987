"""Fault tests of the Kafka journal: a real hibikid (--journal=kafka) on a real Kafka broker.

Each test starts its OWN broker (scripts/test-kafka on free loopback ports, data in the test's
temp dir), because it stops, restarts or outlives it; the broker is stopped at the end, also on
failure. The checks reuse test_durability's load and verification: every acknowledged message is
in the room exactly once with the acknowledged id and seq, no message appears twice, seqs have no
gap, and a retry with the same client_msg_id never creates a second message.

  - the broker stops while clients send: every send is answered (ack or `unavailable`), hibikid
    keeps running and answering, the breaker opens; sends succeed again once the broker is back.
  - kill -9 of hibikid mid-load: after a restart on the same data dir and broker, nothing
    acknowledged is lost and nothing is doubled.
  - a wiped data dir (local index, snapshots and read models lost): rooms, history, read state and
    accounts come back from the topic alone.
"""

import collections
import json
import os
import random
import shutil
import subprocess
import threading
import time

import pytest

import test_durability as durability
from conftest import ConnectionLost, full_history

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
BROKER_START_TIMEOUT = 240  # scripts/kafka waits up to 90 s itself; JVM start on a busy machine
BROKER_STOP_TIMEOUT = 90
# Bound for one reply while the broker is down: the breaker's call timeout (2 s) plus slack.
DOWN_REPLY_TIMEOUT = 60.0
# Bound for the service to resume after the broker is back (fencing and catch-up of partitions).
RESUME_TIMEOUT = 120.0


class Broker:
    """One Kafka broker of this test: scripts/test-kafka picks its ports and writes DIR/env."""

    def __init__(self, directory):
        self.dir = str(directory)
        self.test_kafka = os.environ.get("HIBIKI_TEST_KAFKA") or os.path.join(
            ROOT, "scripts", "test-kafka"
        )
        self.kafka = os.path.join(os.path.dirname(self.test_kafka), "kafka")
        self.env = None
        self.bootstrap = None

    def _run(self, args, env=None, timeout=BROKER_START_TIMEOUT):
        r = subprocess.run(
            args,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            timeout=timeout,
        )
        out = r.stdout.decode("utf-8", "replace")
        assert r.returncode == 0, f"{args!r} exited {r.returncode}: {out[-3000:]}"
        return out

    def create(self):
        # scripts/kafka formats the storage with a random cluster id; one that starts with "-"
        # (1 in 64) is taken for an option by kafka-storage and the start fails. Try again: each
        # attempt draws a new id (test-kafka start clears DIR first).
        for attempt in range(3):
            try:
                self._run([self.test_kafka, "start", self.dir])
                break
            except AssertionError:
                if attempt == 2:
                    raise
        env = dict(os.environ)
        with open(os.path.join(self.dir, "env")) as f:
            for line in f:
                line = line.strip()
                if line.startswith("export ") and "=" in line:
                    k, v = line[len("export ") :].split("=", 1)
                    env[k] = v
        # The same heap as scripts/test-kafka gives it, for restarts.
        env.setdefault("KAFKA_HEAP_OPTS", "-Xms256m -Xmx768m")
        self.env = env
        with open(os.path.join(self.dir, "bootstrap")) as f:
            self.bootstrap = f.read().strip()
        assert self.bootstrap.startswith("127.0.0.1:"), self.bootstrap
        return self

    def stop(self):
        """Stops the broker process (data kept)."""
        self._run([self.kafka, "stop"], env=self.env, timeout=BROKER_STOP_TIMEOUT)

    def start(self):
        """Starts it again on the same ports and data; returns once it serves."""
        self._run([self.kafka, "start"], env=self.env)

    def destroy(self):
        subprocess.run(
            [self.test_kafka, "stop", self.dir],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=BROKER_STOP_TIMEOUT + 30,
        )


@pytest.fixture
def broker(tmp_path):
    """A private Kafka broker, destroyed at teardown (after the servers: fixtures tear down in
    reverse order, and tests ask for `broker` before `server_factory`)."""
    b = Broker(tmp_path / "kafka")
    try:
        b.create()
        yield b
    finally:
        b.destroy()


def kafka_args(broker, **breaker):
    args = [
        "--journal=kafka",
        f"--kafka-brokers={broker.bootstrap}",
        "--kafka-topic=hibiki.faults",
        "--kafka-partitions=4",
    ]
    for k, v in breaker.items():
        args.append(f"--breaker-{k.replace('_', '-')}={v}")
    return args


def journal_status(server):
    status, body = server.operator_http("GET", "/api/journal", timeout=30)
    assert status == 200, (status, body[:300])
    return json.loads(body)


def wait_until(pred, timeout, what):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        assert time.monotonic() < deadline, f"{what}: not within {timeout}s"
        time.sleep(0.1)


# ---- (a) the broker stops while clients send ------------------------------------------------


class OutageSenders:
    """Sender threads that keep sending new messages (pipelined, a small window) and record each
    answer: acks into load.acked, `unavailable` into self.unavailable (not retried here: the check
    at the end retries them with the same client_msg_id), anything else into load.errors."""

    WINDOW = 4

    def __init__(self, load):
        self.load = load
        self.stop = threading.Event()
        self.unavailable = []  # (room, cmid, time)
        self.acked_at = []  # monotonic time of each ack
        self.threads = []

    def counts(self):
        with self.load.lock:
            return len(self.load.acked), len(self.unavailable)

    def acks_since(self, t):
        with self.load.lock:
            return sum(1 for x in self.acked_at if x >= t)

    def _run(self, c, room, tag):
        load = self.load
        pending = collections.deque()
        i = 0
        retry = collections.deque()  # rate_limited sends, retried with the same client_msg_id
        try:
            while not self.stop.is_set() or pending:
                while (
                    not self.stop.is_set()
                    and len(pending) < self.WINDOW
                    and (retry or i < load.per_sender)
                ):
                    if retry:
                        cmid, body = retry.popleft()
                    else:
                        cmid, body = f"{tag}-{i}", f"outage {tag}-{i} " + "y" * (i % 40)
                        i += 1
                    with load.lock:
                        load.attempted[(room, cmid)] = (body, c.account_id, c.token)
                    rid = c.send("send_message", room_id=room, body=body, client_msg_id=cmid)
                    pending.append((cmid, body, rid))
                if not pending:
                    if i >= load.per_sender and not retry:
                        break
                    time.sleep(0.01)
                    continue
                cmid, body, rid = pending.popleft()
                r = c.reply(rid, timeout=DOWN_REPLY_TIMEOUT)
                now = time.monotonic()
                code = r.get("error", {}).get("code") if r.get("ok") is False else None
                with load.lock:
                    if r.get("ok") is True:
                        load.acked[(room, cmid)] = (r["message_id"], r["seq"], body, c.account_id)
                        self.acked_at.append(now)
                    elif code == "unavailable":
                        self.unavailable.append((room, cmid, now))
                    elif code != "rate_limited":
                        load.errors.append((room, cmid, r))
                if code == "rate_limited":
                    retry.append((cmid, body))
                    time.sleep(0.05)
                elif code == "unavailable":
                    time.sleep(0.2)  # a client backs off while the journal is unavailable
                else:
                    time.sleep(0.01)  # a steady rate, so the load spans the outage
        except (ConnectionLost, Exception) as e:
            with load.lock:
                load.errors.append(("sender failed", tag, repr(e), f"at {time.monotonic():.1f}"))

    def start(self):
        for c, room, tag in self.load.senders:
            t = threading.Thread(target=self._run, args=(c, room, tag), daemon=True)
            t.start()
            self.threads.append(t)

    def finish(self, timeout=120):
        self.stop.set()
        deadline = time.monotonic() + timeout
        for t in self.threads:
            t.join(max(0.1, deadline - time.monotonic()))
        assert not any(t.is_alive() for t in self.threads), "a sender did not finish"


def test_broker_stopped_while_clients_send(broker, server_factory):
    server = server_factory(
        *kafka_args(broker, max_failures=3, call_timeout=2000, reset_timeout=1000)
    )
    # 3 rooms x 2 senders; at most 350 sends each, so a room stays under sync's 1000-event page.
    load, admin_token, _ = durability.setup_load(server, per_sender=350, rooms=3)
    senders = OutageSenders(load)
    senders.start()
    wait_until(lambda: senders.counts()[0] >= 150, 90, "150 acknowledged sends before the outage")

    broker.stop()
    stopped_at = time.monotonic()
    # Every send is answered; with the broker gone the answers become `unavailable`.
    wait_until(lambda: senders.counts()[1] >= 20, 90, "20 `unavailable` answers while down")
    assert server.proc.poll() is None, "hibikid exited while the broker was down"
    status, _ = server.http("GET", "/healthz")
    assert status in (200, 503), status
    # The breaker around the journal is open (or half-open between trials) while the broker is
    # down. Acks that still arrive here were committed before the broker went away.
    def breaker_not_closed():
        b = journal_status(server)["breaker"]
        return b if b["state"] in ("open", "half_open") else None

    breaker = wait_until(breaker_not_closed, 60, "the journal breaker to open")
    assert breaker["max_failures"] == 3 and breaker["call_timeout_ms"] == 2000, breaker
    acked_while_down, unavailable_while_down = senders.counts()
    assert not load.errors, (load.errors[:5], server.stderr_tail())

    broker.start()
    restarted_at = time.monotonic()
    # Service resumes: new sends are acknowledged again.
    wait_until(lambda: senders.acks_since(restarted_at) >= 30, RESUME_TIMEOUT, "sends resume")
    senders.finish()
    assert server.proc.poll() is None
    assert server.healthz() == 200
    if load.errors:
        print("journal status:", json.dumps(journal_status(server), indent=1))
    assert not load.errors, (
        f"stopped at {stopped_at:.1f}, restarted at {restarted_at:.1f}",
        load.errors[:5],
        journal_status(server),
        server.stderr_tail(),
    )
    st = journal_status(server)
    assert st["kind"] == "kafka", st
    acked, unavailable = senders.counts()
    print(
        f"outage of {restarted_at - stopped_at:.1f}s: {acked} acked "
        f"({acked_while_down} before the breaker check), {unavailable} unavailable "
        f"({unavailable_while_down} while down)"
    )

    # Every acknowledged message is there exactly once, in order, without a seq gap; sends that
    # were answered `unavailable` are there at most once (their commit may have landed late).
    admin, summary = durability.verify(server, load, admin_token)
    # Retried with the same client_msg_id, every unacknowledged send is stored exactly once (a
    # late-committed one returns its existing id) and acknowledged ones return the same reply.
    durability.retry_and_continue(server, load, admin, summary)
    # Those sends went through every room's partition: the breaker is closed again. (Right after
    # the first acknowledged sends it may not be: a partition whose producer was cut off mid-flush
    # can fail a call or two more, which opens it again until the next successful trial.)
    # (The backend's own `failed` counter may stay 0: the breaker answered those calls.)
    st = journal_status(server)
    assert st["breaker"]["state"] == "closed", st


# ---- (b) kill -9 of hibikid mid-load --------------------------------------------------------


def test_kill9_mid_load(broker, server_factory):
    server = server_factory(*kafka_args(broker))
    load, admin_token, _ = durability.setup_load(server, per_sender=300, rooms=3)
    # A slow commit on this busy machine may be answered `unavailable`: the sender retries it with
    # the same client_msg_id, which must never make a second message.
    load.allowed_errors = ("rate_limited", "unavailable")
    total = len(load.senders) * load.per_sender
    threshold = random.randint(total // 10, total // 2)
    errors = []
    killer = durability.stop_when(load, threshold, server.kill9, errors)
    load.start()
    killer.join(180)
    load.join(180)
    assert not errors, errors
    assert not load.errors, load.errors[:5]
    acked, attempted = len(load.acked), len(load.attempted)
    assert acked >= threshold, (acked, threshold)
    assert acked < total, f"all {total} sends finished before the kill"
    print(f"kill -9 after {acked} acknowledged of {attempted} attempted ({total} planned)")

    server.restart()  # same data dir, same broker and topic
    admin, summary = durability.verify(server, load, admin_token)
    durability.retry_and_continue(server, load, admin, summary)
    st = journal_status(server)
    assert st["kind"] == "kafka" and st["topic"] == "hibiki.faults", st
    assert st["partition_count"] == 4 and len(st["partitions"]) == 4, st
    assert all(p["state"] == "ready" for p in st["partitions"]), st


# ---- (c) restart with a wiped data dir ------------------------------------------------------


def room_state(client):
    """Every room of the client's account with its full history, keyed by room id."""
    out = {}
    for entry in client.ok("list_rooms")["rooms"]:
        out[entry["room_id"]] = (entry, full_history(client, entry["room_id"]))
    return out


def test_wiped_data_dir(broker, server_factory):
    first = server_factory(*kafka_args(broker))
    alice_id, alice_token = first.signup("alice")
    bob_id, bob_token = first.signup("bob")
    alice = first.connect(alice_token)
    bob = first.connect(bob_token)
    rooms = [
        alice.ok("create_room", name=f"kept {i}", members=[bob_id])["room_id"] for i in range(3)
    ]
    mids = {}
    for k, room in enumerate(rooms):
        for i in range(25):
            author = alice if i % 3 else bob
            body = f"[To:{bob_id}] m{k}-{i}" if i % 5 == 0 else f"m{k}-{i}"
            r = author.ok("send_message", room_id=room, body=body, client_msg_id=f"m{k}-{i}")
            mids[(room, i)] = r["message_id"]
    alice.ok("edit_message", room_id=rooms[0], message_id=mids[(rooms[0], 1)], body="edited")
    alice.ok("delete_message", room_id=rooms[1], message_id=mids[(rooms[1], 2)])
    bob.ok("mark_read", room_id=rooms[2], message_id=mids[(rooms[2], 10)])
    alice.ok("add_members", room_id=rooms[0], account_ids=[bob_id], role="admin")
    before_alice, before_bob = room_state(alice), room_state(bob)
    # The three rooms, and each account's own `my` room (made at sign-up; it must come back too).
    for before in (before_alice, before_bob):
        assert set(rooms) <= set(before) and len(before) == 4, sorted(before)

    first.stop()
    # The index, snapshots and read models: all gone. The same path, empty, the same topic.
    shutil.rmtree(first.data_dir)
    second = server_factory(*kafka_args(broker), data_dir=first.data_dir)
    alice = second.connect(alice_token)  # accounts and tokens came back too
    bob = second.connect(bob_token)
    assert alice.account_id == alice_id and bob.account_id == bob_id
    assert room_state(alice) == before_alice
    assert room_state(bob) == before_bob

    # The rebuilt node carries on: idempotent retries return the first reply, seqs continue, new
    # accounts get new ids.
    r = bob.ok("send_message", room_id=rooms[1], body="m1-0", client_msg_id="m1-0")
    assert r["message_id"] == mids[(rooms[1], 0)], r
    last = {e["room_id"]: e["last_seq"] for e in alice.ok("list_rooms")["rooms"]}
    r = alice.ok("send_message", room_id=rooms[0], body="after wipe", client_msg_id="new")
    assert r["seq"] == last[rooms[0]] + 1, (r, last)
    carol_id, _ = second.signup("carol")
    assert carol_id not in (alice_id, bob_id)
