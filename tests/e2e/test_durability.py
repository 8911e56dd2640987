"""Durability: an acknowledged write survives kill -9 (and a clean SIGTERM) of hibikid.

Several clients pipeline a few thousand sends into several rooms and record every acknowledged
(room, client_msg_id, message_id, seq). The server is stopped at a random moment while sends are
in flight, restarted on the same data dir, and the rooms are read back.
"""

import collections
import random
import threading
import time

import websockets

from conftest import ConnectionLost, full_history

ROOMS = 4
SENDERS_PER_ROOM = 2
# Per room at most 1 + 2 * 450 + retries + 1 events: under 1000, so `sync` from 0 returns the
# whole log and the acknowledged seqs can be checked against it.
PER_SENDER = 450
WINDOW = 32


class Load:
    """Sender threads, one connection each, pipelining `WINDOW` sends into one room."""

    def __init__(self, server, rooms, senders, per_sender, allowed_errors=("rate_limited",)):
        self.server = server
        self.rooms = rooms
        self.senders = senders  # [(client, room_id, tag)]
        self.per_sender = per_sender
        self.allowed_errors = allowed_errors
        self.lock = threading.Lock()
        self.acked = {}  # (room, cmid) -> (message_id, seq, body, account_id)
        self.attempted = {}  # (room, cmid) -> (body, account_id, token)
        self.errors = []
        self.threads = []

    def count(self):
        with self.lock:
            return len(self.acked)

    def _run(self, c, room, tag):
        todo = collections.deque(
            (f"{tag}-{i}", f"durable {tag}-{i} " + "x" * (i % 50)) for i in range(self.per_sender)
        )
        pending = collections.deque()
        try:
            while todo or pending:
                while todo and len(pending) < WINDOW:
                    cmid, body = todo.popleft()
                    with self.lock:
                        self.attempted[(room, cmid)] = (body, c.account_id, c.token)
                    rid = c.send("send_message", room_id=room, body=body, client_msg_id=cmid)
                    pending.append((cmid, body, rid))
                cmid, body, rid = pending.popleft()
                r = c.reply(rid, timeout=60)
                if r.get("ok") is True:
                    with self.lock:
                        prev = self.acked.get((room, cmid))
                        if prev is not None and prev[:2] != (r["message_id"], r["seq"]):
                            self.errors.append(("retry changed the reply", cmid, prev, r))
                        self.acked[(room, cmid)] = (r["message_id"], r["seq"], body, c.account_id)
                elif r.get("error", {}).get("code") in self.allowed_errors:
                    todo.appendleft((cmid, body))  # retry with the same client_msg_id
                    time.sleep(0.02)
                else:
                    with self.lock:
                        self.errors.append((room, cmid, r))
        except (ConnectionLost, Exception) as e:  # the server went away: expected mid-stream
            if not self.server.going_down:
                with self.lock:
                    self.errors.append(("sender failed", tag, repr(e)))

    def start(self):
        for c, room, tag in self.senders:
            t = threading.Thread(target=self._run, args=(c, room, tag), daemon=True)
            t.start()
            self.threads.append(t)

    def join(self, timeout=120):
        deadline = time.monotonic() + timeout
        for t in self.threads:
            t.join(max(0.1, deadline - time.monotonic()))
        assert not any(t.is_alive() for t in self.threads), "sender threads did not finish"


def setup_load(server, per_sender=PER_SENDER, rooms=ROOMS, senders_per_room=SENDERS_PER_ROOM):
    admin_id, admin_token = server.signup("admin")
    admin = server.connect(admin_token)
    accounts = [server.signup(f"sender{i}") for i in range(rooms * senders_per_room)]
    room_ids, senders = [], []
    for r in range(rooms):
        members = accounts[r * senders_per_room : (r + 1) * senders_per_room]
        room = admin.ok("create_room", name=f"durable {r}", members=[a for a, _ in members])[
            "room_id"
        ]
        room_ids.append(room)
        for k, (_, token) in enumerate(members):
            senders.append((server.connect(token), room, f"r{r}s{k}"))
    tokens = {"admin": admin_token}
    return Load(server, room_ids, senders, per_sender), admin_token, tokens


def stop_when(load, threshold, action, errors):
    """From another thread: waits until `threshold` sends are acknowledged, then runs `action`."""

    def run():
        deadline = time.monotonic() + 120
        while load.count() < threshold and time.monotonic() < deadline:
            time.sleep(0.005)
        time.sleep(random.uniform(0, 0.05))
        try:
            action()
        except BaseException as e:
            errors.append(e)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def verify(server, load, admin_token, retry_unacked=True):
    """Reads every room back and checks it against what was acknowledged."""
    admin = server.connect(admin_token)
    summary = {}
    for room in load.rooms:
        hist = full_history(admin, room)
        ids = [int(m["message_id"]) for m in hist]
        assert all(a < b for a, b in zip(ids, ids[1:])), f"room {room}: ids not increasing"
        bodies = [m["body"] for m in hist]
        dupes = [b for b, n in collections.Counter(bodies).items() if n > 1]
        assert not dupes, f"room {room}: messages stored twice: {dupes[:3]}"
        by_body = {m["body"]: m for m in hist}
        attempted_bodies = {
            v[0]: (cmid, v[1]) for (r, cmid), v in load.attempted.items() if r == room
        }
        for m in hist:
            assert m["body"] in attempted_bodies, f"room {room}: unknown message {m!r}"
            assert m["account_id"] == attempted_bodies[m["body"]][1], m
            assert m["deleted"] is False, m
        missing = []
        for (r, cmid), (mid, seq, body, account) in load.acked.items():
            if r != room:
                continue
            m = by_body.get(body)
            if m is None or m["message_id"] != mid or m["account_id"] != account:
                missing.append((cmid, mid, seq, m))
        assert not missing, f"room {room}: {len(missing)} acknowledged messages lost: {missing[:5]}"

        entry = [x for x in admin.ok("list_rooms")["rooms"] if x["room_id"] == room][0]
        assert entry["message_num"] == len(hist), (entry, len(hist))
        # Only room_created and the posts happened in the room: seqs 1..1+n without a gap.
        assert entry["last_seq"] == 1 + len(hist), (entry, len(hist))

        # The seqs of the log match the acknowledged replies.
        admin.take_events()
        admin.ok("sync", since={str(room): 0})
        events = admin.events_until("synced", timeout=60)[:-1]
        assert [e["seq"] for e in events] == list(range(1, entry["last_seq"] + 1))
        seq_of = {e["message"]["message_id"]: e["seq"] for e in events[1:]}
        assert all(e["ev"] == "message_created" for e in events[1:])
        for (r, cmid), (mid, seq, body, account) in load.acked.items():
            if r == room:
                assert seq_of.get(mid) == seq, (cmid, mid, seq, seq_of.get(mid))
        summary[room] = (hist, entry["last_seq"])
    return admin, summary


def retry_and_continue(server, load, admin, summary):
    """Retries every attempted send with its client_msg_id (acked ones must return the same
    reply), then checks each message exists exactly once and new sends take the next seq."""
    conns = {}
    # Every unacknowledged send, and a sample of the acknowledged ones of each sender.
    unacked = [k for k in load.attempted if k not in load.acked]
    by_tag = collections.defaultdict(list)
    for k in load.acked:
        by_tag[k[1].rsplit("-", 1)[0]].append(k)
    sample = [k for keys in by_tag.values() for k in random.sample(keys, min(20, len(keys)))]
    for room, cmid in sorted(unacked) + sample:
        body, account, token = load.attempted[(room, cmid)]
        c = conns.get(token)
        if c is None:
            c = conns[token] = server.connect(token)
        r = c.request("send_message", room_id=room, body=body, client_msg_id=cmid)
        # Retry what the protocol says to retry: `rate_limited`, and `unavailable` (a journal
        # partition still recovering right after a broker came back), as a client would, for a
        # bounded time; the checks below still demand each message stored exactly once.
        deadline = time.monotonic() + 60
        while (r.get("ok") is False and r["error"]["code"] in ("rate_limited", "unavailable")
               and time.monotonic() < deadline):
            time.sleep(0.1 if r["error"]["code"] == "rate_limited" else 0.5)
            r = c.request("send_message", room_id=room, body=body, client_msg_id=cmid)
        assert r.get("ok") is True, (cmid, r)
        acked = load.acked.get((room, cmid))
        if acked is not None:
            assert (r["message_id"], r["seq"]) == acked[:2], (cmid, acked, r)
    for room in load.rooms:
        hist = full_history(admin, room)
        bodies = collections.Counter(m["body"] for m in hist)
        expected = {v[0] for (r, _), v in load.attempted.items() if r == room}
        assert set(bodies) == expected, f"room {room}: {len(expected - set(bodies))} missing"
        assert max(bodies.values()) == 1, f"room {room}: a retried message was stored twice"
        entry = [x for x in admin.ok("list_rooms")["rooms"] if x["room_id"] == room][0]
        assert entry["last_seq"] == 1 + len(hist), entry
        r = admin.ok("send_message", room_id=room, body="after restart", client_msg_id="next")
        assert r["seq"] == entry["last_seq"] + 1, (r, entry)
        assert int(r["message_id"]) > int(hist[-1]["message_id"]), (r, hist[-1])


def test_kill9_mid_stream_loses_no_acknowledged_message(server):
    load, admin_token, _ = setup_load(server)
    total = len(load.senders) * load.per_sender
    threshold = random.randint(total // 10, total // 2)
    errors = []
    killer = stop_when(load, threshold, server.kill9, errors)
    load.start()
    killer.join(150)
    load.join()
    assert not errors, errors
    assert not load.errors, load.errors[:5]
    acked, attempted = len(load.acked), len(load.attempted)
    assert acked >= threshold, (acked, threshold)
    # The kill landed mid-stream: some sends were still going or not yet made.
    assert acked < total, f"all {total} sends finished before the kill"
    print(f"kill -9 after {acked} acknowledged of {attempted} attempted ({total} planned)")

    server.restart()
    admin, summary = verify(server, load, admin_token)
    retry_and_continue(server, load, admin, summary)


def test_sigterm_while_sending_exits_0_and_keeps_acknowledged_messages(server):
    load, admin_token, _ = setup_load(server, per_sender=300, rooms=2)
    total = len(load.senders) * load.per_sender
    load.allowed_errors = ("rate_limited", "unavailable")
    errors = []
    threshold = random.randint(total // 10, total // 2)
    stopper = stop_when(load, threshold, server.stop, errors)  # asserts exit code 0
    load.start()
    stopper.join(150)
    load.join()
    assert not errors, errors
    assert not load.errors, load.errors[:5]
    assert len(load.acked) >= threshold
    server.restart()
    admin, summary = verify(server, load, admin_token)
    retry_and_continue(server, load, admin, summary)


def test_restart_keeps_rooms_members_and_read_state(server):
    alice_id, alice_token = server.signup("alice")
    bob_id, bob_token = server.signup("bob")
    alice = server.connect(alice_token)
    room = alice.ok("create_room", name="kept", members=[bob_id])["room_id"]
    mids = [
        alice.ok("send_message", room_id=room, body=f"[To:{bob_id}] m{i}", client_msg_id=f"m{i}")[
            "message_id"
        ]
        for i in range(3)
    ]
    bob = server.connect(bob_token)
    bob.ok("mark_read", room_id=room, message_id=mids[0])
    alice.ok("edit_message", room_id=room, message_id=mids[1], body="edited")
    alice.ok("delete_message", room_id=room, message_id=mids[2])
    server.kill9()
    server.restart()
    bob = server.connect(bob_token)
    entry = [x for x in bob.ok("list_rooms")["rooms"] if x["room_id"] == room][0]
    assert entry["name"] == "kept" and entry["role"] == "member", entry
    assert (entry["unread_num"], entry["mention_num"], entry["last_seq"]) == (1, 0, 6), entry
    hist = bob.ok("history", room_id=room)["messages"]
    assert [(m["body"], m["deleted"]) for m in hist] == [
        (f"[To:{bob_id}] m0", False),
        ("edited", False),
        ("", True),
    ]
    assert hist[1]["update_time"] > 0
    # The token still works after the restart, and seqs continue.
    alice = server.connect(alice_token)
    r = alice.ok("send_message", room_id=room, body="again", client_msg_id="m0")
    assert r["message_id"] == mids[0]  # idempotency survives the restart
    r = alice.ok("send_message", room_id=room, body="new", client_msg_id="m9")
    assert r["seq"] == 7
    # A clean restart too (with no client connected: test_sigterm_with_an_idle_connection_exits_0
    # covers SIGTERM with clients).
    server.close_clients()
    server.restart()
    alice = server.connect(alice_token)
    assert [x["last_seq"] for x in alice.ok("list_rooms")["rooms"] if x["room_id"] == room] == [7]


class MixedWorker:
    """Runs create/send/edit/delete/add_members one at a time in its own room and keeps a model
    of what the acknowledged operations did, plus the one operation in flight, if any."""

    ROLES = ("member", "admin", "readonly")

    def __init__(self, client, partner_id, rng):
        self.c = client
        self.partner = partner_id
        self.rng = rng
        self.room = client.ok("create_room", name="mixed", members=[])["room_id"]
        self.messages = {}  # message_id -> [body, deleted]
        self.role = None  # the partner's role
        self.last_seq = 1
        self.inflight = None
        self.acked_ops = 0
        self.error = None

    def step(self, k):
        live = [m for m, (_, d) in self.messages.items() if not d]
        x = self.rng.random()
        if x < 0.5 or not live:
            body = f"mixed {self.room} {k}"
            self.inflight = ("send", body)
            r = self.c.request("send_message", room_id=self.room, body=body, client_msg_id=f"k{k}")
            if self._ok(r):
                assert r["message_id"] not in self.messages
                self.messages[r["message_id"]] = [body, False]
        elif x < 0.7:
            mid = self.rng.choice(live)
            body = f"edited {self.room} {k}"
            self.inflight = ("edit", mid, body)
            r = self.c.request("edit_message", room_id=self.room, message_id=mid, body=body)
            if self._ok(r):
                self.messages[mid][0] = body
        elif x < 0.85:
            mid = self.rng.choice(live)
            self.inflight = ("delete", mid)
            r = self.c.request("delete_message", room_id=self.room, message_id=mid)
            if self._ok(r):
                self.messages[mid] = ["", True]
        else:
            role = self.rng.choice([x for x in self.ROLES if x != self.role])
            self.inflight = ("role", role)
            r = self.c.request("add_members", room_id=self.room, account_ids=[self.partner],
                               role=role)
            if self._ok(r):
                self.role = role
        self.inflight = None

    def _ok(self, r):
        if r.get("ok") is False and r["error"]["code"] == "rate_limited":
            time.sleep(0.05)
            return False
        assert r.get("ok") is True, r
        self.acked_ops += 1
        if "seq" in r:
            assert r["seq"] == self.last_seq + 1, (r, self.last_seq)
            self.last_seq = r["seq"]
        else:
            self.last_seq += 1  # add_members with a new role is one room event
        return True

    def run(self, stop):
        try:
            k = 0
            while not stop.is_set():
                self.step(k)
                k += 1
        except (ConnectionLost, websockets.exceptions.ConnectionClosed):
            pass  # the server was killed: `inflight` may or may not have happened
        except Exception as e:
            self.error = e

    def outcomes(self):
        """The states the room may be in: the acknowledged one, or that plus the op in flight."""
        base = ({m: tuple(v) for m, v in self.messages.items()}, self.role, self.last_seq)
        out = [base]
        op = self.inflight
        if op is None:
            return out
        msgs = dict(base[0])
        if op[0] == "send":
            out.append(("send", op[1]))  # checked separately: one extra message with this body
            return out
        if op[0] == "edit":
            msgs[op[1]] = (op[2], False)
        elif op[0] == "delete":
            msgs[op[1]] = ("", True)
        out.append((msgs, op[1] if op[0] == "role" else self.role, self.last_seq + 1))
        return out


def test_kill9_during_mixed_operations_keeps_every_acknowledged_change(server):
    rng = random.Random()
    workers = []
    partner_tokens = {}
    for i in range(6):
        _, token = server.signup(f"owner{i}")
        pid, ptoken = server.signup(f"partner{i}")
        partner_tokens[pid] = ptoken
        workers.append(MixedWorker(server.connect(token), pid, random.Random(rng.random())))
    tokens = [w.c.token for w in workers]
    stop = threading.Event()
    threads = [threading.Thread(target=w.run, args=(stop,), daemon=True) for w in workers]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 60
    target = rng.randint(150, 600)
    while sum(w.acked_ops for w in workers) < target and time.monotonic() < deadline:
        time.sleep(0.005)
    server.kill9()
    stop.set()
    for t in threads:
        t.join(30)
    assert not any(t.is_alive() for t in threads)
    assert not [w.error for w in workers if w.error], [w.error for w in workers if w.error]
    assert sum(w.acked_ops for w in workers) >= target

    server.restart()
    for w, token in zip(workers, tokens):
        c = server.connect(token)
        hist = full_history(c, w.room)
        actual = {m["message_id"]: (m["body"], m["deleted"]) for m in hist}
        entry = [x for x in c.ok("list_rooms")["rooms"] if x["room_id"] == w.room][0]
        p = server.connect(partner_tokens[w.partner])
        pe = [x for x in p.ok("list_rooms")["rooms"] if x["room_id"] == w.room]
        role = pe[0]["role"] if pe else None
        got = (actual, role, entry["last_seq"])
        options = w.outcomes()
        base = options[0]
        if got == base:
            continue
        assert len(options) == 2, f"room {w.room}: {got} differs from the acknowledged {base}"
        alt = options[1]
        if alt[0] == "send":
            extra = {m: v for m, v in actual.items() if m not in base[0]}
            rest = {m: v for m, v in actual.items() if m in base[0]}
            assert list(extra.values()) == [(alt[1], False)], (extra, alt)
            assert (rest, role, entry["last_seq"]) == (base[0], base[1], base[2] + 1), got
        else:
            assert got == alt, f"room {w.room}: {got} is neither {base} nor {alt}"


def test_sigterm_with_an_idle_connection_exits_0(server):
    alice = server.user("alice")
    room = alice.ok("create_room", name="idle", members=[])["room_id"]
    alice.ok("send_message", room_id=room, body="before stop", client_msg_id="b")
    server.stop()  # SIGTERM: must exit 0 with a client still connected
    server.start()
    alice = server.connect(alice.token)
    assert [m["body"] for m in alice.ok("history", room_id=room)["messages"]] == ["before stop"]


def test_kill9_with_frequent_snapshots_and_passivation(server_factory):
    """The same crash while rooms are snapshotted every few events and passivated all the time,
    so recovery after the restart starts from snapshots."""
    server = server_factory("--snapshot-every=7", "--max-live-entities=3")
    load, admin_token, _ = setup_load(server, per_sender=200)
    total = len(load.senders) * load.per_sender
    threshold = random.randint(total // 5, total // 2)
    errors = []
    killer = stop_when(load, threshold, server.kill9, errors)
    load.start()
    killer.join(150)
    load.join()
    assert not errors, errors
    assert not load.errors, load.errors[:5]
    assert threshold <= len(load.acked) < total
    server.restart()
    admin, summary = verify(server, load, admin_token)
    retry_and_continue(server, load, admin, summary)
