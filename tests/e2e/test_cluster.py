"""The cluster (issue 4): three real hibikid nodes on a real Kafka broker.

Each test starts THREE nodes (`--journal=kafka --cluster=... --node-id=nN`) on the shared test
broker (CTest's `kafka` fixture, HIBIKI_TEST_KAFKA_FILE), on a topic of its own with 6 partitions
(two shards per node), and `--cluster-session-timeout=6000` so a lost node is noticed fast. Their
cluster ports run over mutual TLS with a CA and node certificates made for the test by
scripts/cluster-certs (openssl).

  - chat_across_nodes: clients connected to different nodes chat in rooms whose shards are spread
    over every node; every member receives every other member's messages, also a user connected
    to two nodes at once.
  - kill9_under_load: senders on every node keep sending (retrying `unavailable` and timeouts with
    the same client_msg_id, which the protocol deduplicates); one node is killed with SIGKILL; its
    clients reconnect to another node and `sync`; once its shards have moved every acknowledged
    message is in its room exactly once, in order, without a seq gap.
  - restart_rebalances_back: the same, then the killed node starts again and gets shards back,
    with nothing lost.
  - frozen_node_is_fenced: a node is frozen with SIGSTOP while it serves, its shards move, and it
    is resumed with commands waiting for it: it must not append. Proven on the topic itself
    (hibiki_topic_dump reads it read_committed): no record of the frozen node's writer id is
    committed after the freeze, except after it legitimately took shards again, and every
    entity's seqs in the topic run 1, 2, 3... with no duplicate (an append of the fenced node on
    stale state would repeat a seq).

Room shards are computed here with Kafka's murmur2 partitioner on the entity id ("room-<id>"),
the same function the nodes use, so each test picks rooms owned by each node.
"""

import collections
import json
import os
import random
import signal
import socket
import subprocess
import threading
import time
import uuid

import pytest

import conftest
import test_durability as durability
from conftest import Client, ConnectionLost, Server

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))

PARTITIONS = 6
NODES = ("n1", "n2", "n3")
SESSION_TIMEOUT_MS = 6000
ROUTE_WAIT_MS = 20000
# A node on Kafka reads every partition before it serves; three of them and the broker share two
# cores here: starting can take a while.
conftest.START_TIMEOUT = 180.0
# Bounds (never expected durations): shards moving after a loss, a cluster settling.
SETTLE_TIMEOUT = 180.0
# A reply slower than this counts as a timeout: the client resends on another node. Longer than
# --route-wait, so a command waiting for its shard's new owner is not taken for a lost one.
REPLY_TIMEOUT = 45.0


# ---- shards ------------------------------------------------------------------------------------


def murmur2(data):
    """Kafka's murmur2 (Utils.murmur2), as persistence/src/kafka/partitioner.cpp has it."""
    m, r, mask = 0x5BD1E995, 24, 0xFFFFFFFF
    h = (0x9747B28C ^ len(data)) & mask
    blocks = len(data) // 4
    for i in range(blocks):
        k = int.from_bytes(data[4 * i : 4 * i + 4], "little")
        k = (k * m) & mask
        k ^= k >> r
        k = (k * m) & mask
        h = (h * m) & mask
        h ^= k
    tail, rest = data[4 * blocks :], len(data) % 4
    if rest == 3:
        h ^= tail[2] << 16
    if rest >= 2:
        h ^= tail[1] << 8
    if rest >= 1:
        h ^= tail[0]
        h = (h * m) & mask
    h ^= h >> 13
    h = (h * m) & mask
    h ^= h >> 15
    return h


def partition_of(entity, partitions=PARTITIONS):
    return (murmur2(entity.encode()) & 0x7FFFFFFF) % partitions


def check_murmur2():
    # Kafka's own test vectors (clients/src/test/.../UtilsTest.java, testMurmur2).
    vectors = {
        b"21": -973932308,
        b"foobar": -790332482,
        b"a-little-bit-long-string": -985981536,
        b"a-little-bit-longer-string": -1486304829,
        b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
        bytes([ord("a"), ord("b"), ord("c")]): 479470107,
    }
    for data, expected in vectors.items():
        assert murmur2(data) == expected & 0xFFFFFFFF, data


def test_murmur2_matches_kafka():
    check_murmur2()


# ---- the cluster -------------------------------------------------------------------------------


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def make_certs(directory, names):
    """A cluster CA and one certificate per node name in `directory`, by scripts/cluster-certs
    (kept when already there). Returns the directory."""
    r = subprocess.run(
        [os.path.join(ROOT, "scripts", "cluster-certs"), str(directory), *names],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=120,
    )
    assert r.returncode == 0, (r.returncode, r.stdout.decode(), r.stderr.decode())
    return directory


def tls_args(tls_dir, name):
    return [
        f"--cluster-tls-cert={tls_dir / (name + '.crt')}",
        f"--cluster-tls-key={tls_dir / (name + '.key')}",
        f"--cluster-ca={tls_dir / 'ca.crt'}",
    ]


def topic_dump_binary():
    env = os.environ.get("HIBIKI_TOPIC_DUMP")
    if env:
        return env
    hibikid = os.environ.get("HIBIKID") or conftest._find_hibikid()
    if hibikid:
        candidate = os.path.join(os.path.dirname(hibikid), "hibiki_topic_dump")
        if os.access(candidate, os.X_OK):
            return candidate
    return None


class Node(Server):
    """One hibikid of the cluster; its cluster port is fixed per start (a new one on restart, so
    a port still in TIME_WAIT after a kill never matters)."""

    def __init__(self, name, binary, tmp_path, bootstrap, topic, security):
        super().__init__(binary, tmp_path / name / "data", tmp_path / name / "logs")
        self.name = name
        self.bootstrap = bootstrap
        self.topic = topic
        self.frozen = False
        self.cluster_port = None
        self.security = list(security)  # the TLS flags, or --cluster-insecure

    def start(self):
        self.cluster_port = free_port()
        self.extra_args = [
            "--journal=kafka",
            f"--kafka-brokers={self.bootstrap}",
            f"--kafka-topic={self.topic}",
            f"--kafka-partitions={PARTITIONS}",
            f"--cluster=127.0.0.1:{self.cluster_port}",
            f"--node-id={self.name}",
            f"--cluster-session-timeout={SESSION_TIMEOUT_MS}",
            f"--route-wait={ROUTE_WAIT_MS}",
            *self.security,
        ]
        for attempt in range(3):
            try:
                super().start()
                return self
            except AssertionError:
                # Known issue (reported): opening a topic whose partitions have no leader for a
                # moment (another node just created it, the broker is busy) fails with "Not
                # leader for partition" instead of retrying. Anything else is a failure.
                if attempt == 2 or "Not leader for partition" not in self.stderr_tail():
                    raise
                print(f"{self.name}: open failed with 'Not leader for partition'; starting again")
                time.sleep(2)
        return self

    @property
    def up(self):
        return self.proc is not None and self.proc.poll() is None and not self.frozen

    def freeze(self):
        self.frozen = True
        os.kill(self.proc.pid, signal.SIGSTOP)

    def thaw(self):
        os.kill(self.proc.pid, signal.SIGCONT)
        self.frozen = False

    def teardown(self):
        if self.proc is not None and self.proc.poll() is None and self.frozen:
            os.kill(self.proc.pid, signal.SIGCONT)  # so the kill is not held up
        super().teardown()

    def cluster_status(self):
        status, body = self.operator_http("GET", "/api/cluster", timeout=30)
        assert status == 200, (self.name, status, body[:300])
        return json.loads(body)


class Cluster:
    def __init__(self, binary, tmp_path, bootstrap, topic, names=NODES, insecure=False):
        self.bootstrap = bootstrap
        self.topic = topic
        self.names = tuple(names)
        self.tls_dir = None if insecure else make_certs(tmp_path / "tls", self.names)

        def security(name):
            return ["--cluster-insecure=true"] if insecure else tls_args(self.tls_dir, name)

        self.nodes = {
            n: Node(n, binary, tmp_path, bootstrap, topic, security(n)) for n in self.names
        }

    def start(self):
        # The first node creates the topic; the others join it together.
        self.nodes[self.names[0]].start()
        errors = []

        def start(node):
            try:
                node.start()
            except BaseException as e:  # reported below, with the node's name
                errors.append((node.name, e))

        threads = [threading.Thread(target=start, args=(self.nodes[n],)) for n in self.names[1:]]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        return self

    def up(self):
        return [n for n in self.nodes.values() if n.up]

    def other_than(self, name):
        return [n for n in self.up() if n.name != name]

    def assignment(self, via):
        """{node name: [shards]} and the unassigned shards, as `via` sees them."""
        st = via.cluster_status()
        return {n["node"]: sorted(n.get("shards") or []) for n in st["nodes"]}, st

    def wait_settled(self, names, timeout=SETTLE_TIMEOUT, must_serve=()):
        """Waits until every node in `names` sees exactly `names` in the group, each with shards,
        every partition assigned once, every member reachable, and each node's own journal
        serving (`ready`) its shards. Returns {node: [shards]}."""
        deadline = time.monotonic() + timeout
        last = None
        while True:
            try:
                last = self._settled(names, must_serve)
                if last is not None and not isinstance(last, str):
                    return last
            except (OSError, AssertionError, ValueError) as e:
                last = repr(e)
            assert time.monotonic() < deadline, f"cluster not settled on {names}: {last}"
            time.sleep(0.5)

    def _settled(self, names, must_serve):
        views = []
        for name in names:
            node = self.nodes[name]
            st = node.cluster_status()
            if st.get("clustered") is not True:
                return f"{name}: not clustered: {st}"
            members = {n["node"]: n for n in st["nodes"]}
            if set(members) != set(names):
                return f"{name} sees members {sorted(members)}"
            if st.get("unassigned"):
                return f"{name} sees unassigned {st['unassigned']}"
            shards = {m: sorted(v.get("shards") or []) for m, v in members.items()}
            if any(not s for s in shards.values()):
                return f"{name} sees a member without shards: {shards}"
            every = sorted(p for s in shards.values() for p in s)
            if every != list(range(PARTITIONS)):
                return f"{name} sees shards {shards}"
            if not all(v.get("reachable") for v in members.values()):
                return f"{name} cannot reach every member: {st}"
            own = members[name].get("journal") or {}
            states = {p["partition"]: p["state"] for p in own.get("partitions", [])}
            if any(states.get(p) != "ready" for p in shards[name]):
                return f"{name} does not serve all its shards yet: {states}"
            views.append(shards)
        if any(v != views[0] for v in views):
            return f"the nodes disagree: {views}"
        for name in must_serve:
            if not views[0].get(name):
                return f"{name} serves nothing"
        return views[0]

    def dump_topic(self, timeout=120):
        """Every committed record of the topic, in (partition, offset) order."""
        binary = topic_dump_binary()
        assert binary, "hibiki_topic_dump not found: set HIBIKI_TOPIC_DUMP (ctest does)"
        r = subprocess.run(
            [binary, self.bootstrap, self.topic, str(timeout)],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout + 30,
        )
        out = r.stdout.decode("utf-8", "replace").splitlines()
        assert r.returncode == 0, (r.returncode, r.stderr.decode()[-2000:])
        records = [json.loads(line) for line in out]
        assert records and records[-1].get("end") is True, out[-3:]
        body = records[:-1]
        assert len(body) == records[-1]["records"]
        return sorted(body, key=lambda x: (x["partition"], x["offset"]))

    def teardown(self):
        for n in self.nodes.values():
            n.teardown()


@pytest.fixture
def bootstrap():
    path = os.environ.get("HIBIKI_TEST_KAFKA_FILE")
    if not path:
        pytest.fail(
            "HIBIKI_TEST_KAFKA_FILE is not set: run through ctest (the `kafka` fixture), or "
            "`scripts/test-kafka start DIR` and set it to DIR/bootstrap"
        )
    with open(path) as f:
        b = f.read().strip()
    assert b.startswith("127.0.0.1:"), b
    return b


@pytest.fixture
def cluster(hibikid_binary, tmp_path, bootstrap, request):
    check_murmur2()  # the room -> shard mapping the tests rely on
    # A topic of its own per test (and per run): a test never sees another's events.
    name = request.node.name.replace("test_", "").replace("_", "-")[:40]
    topic = f"hibiki.cluster.{name}.{uuid.uuid4().hex[:8]}"
    yield from started(Cluster(hibikid_binary, tmp_path, bootstrap, topic))


def started(c):
    """Starts the cluster for a fixture to yield, tears it down after, and then fails the test if
    any request was answered twice or any event was malformed on any node."""
    duplicated, malformed = [], []
    try:
        c.start()
        yield c
    finally:
        for n in c.nodes.values():
            for cl in n.all_clients:
                duplicated += [rs for rs in cl.replies.values() if len(rs) > 1]
                malformed += [e for e in cl.all_events if conftest.event_shape_error(e)]
        c.teardown()
    assert not duplicated, f"requests answered more than once: {duplicated[:3]!r}"
    assert not malformed, [(conftest.event_shape_error(e), e) for e in malformed[:3]]


# ---- clients that survive a node -------------------------------------------------------------


def signup(cluster, name):
    """Signs up through any node that is up (a sign-up is a command for a user entity: it may be
    forwarded, and waits while a shard moves)."""
    deadline = time.monotonic() + 90
    while True:
        node = random.choice(cluster.up())
        status, body = node.http("POST", "/api/signup", {"name": name}, timeout=60)
        if status == 200:
            j = json.loads(body)
            return j["account_id"], j["token"]
        assert status in (503, 429), (node.name, status, body[:300])
        assert time.monotonic() < deadline, f"sign-up of {name} kept failing: {status} {body!r}"
        time.sleep(0.3)


def connect(node, token, timeout=90.0):
    """An authenticated connection to `node`, retrying while the node answers `unavailable`."""
    deadline = time.monotonic() + timeout
    while True:
        c = Client(node.ws_url)
        node.clients.append(c)
        node.all_clients.append(c)
        r = c.request("auth", token=token, timeout=REPLY_TIMEOUT)
        if r.get("ok") is True:
            c.account_id, c.name, c.token = r["account_id"], r["name"], token
            c.node = node
            return c
        code = r.get("error", {}).get("code")
        c.close()
        assert code in ("unavailable", "rate_limited"), (node.name, r)
        assert time.monotonic() < deadline, f"auth on {node.name} kept failing: {r}"
        time.sleep(0.3)


def ok_anyway(client, op, timeout=90.0, **fields):
    """A request that must succeed, retried while the answer is `unavailable` or `rate_limited`
    (a shard on the move)."""
    deadline = time.monotonic() + timeout
    while True:
        r = client.request(op, timeout=REPLY_TIMEOUT, **fields)
        if r.get("ok") is True:
            return r
        assert r.get("error", {}).get("code") in ("unavailable", "rate_limited"), (op, fields, r)
        assert time.monotonic() < deadline, f"{op} {fields} kept failing: {r}"
        time.sleep(0.3)


class Load:
    """Sender threads, one account and one connection each, sending one message at a time into
    their room (paced, so the load spans a node loss) and retrying `unavailable`, `rate_limited`
    and timeouts with the same client_msg_id. A sender whose node goes away (closed connection,
    reply timeout) reconnects to another node that is up and `sync`s its room from the last seq
    it knew. Has the attributes test_durability.verify reads: rooms, acked, attempted."""

    def __init__(self, cluster, rooms, senders, per_sender, pace):
        self.cluster = cluster
        self.rooms = rooms
        self.senders = senders  # [(token, account_id, room, tag, node name)]
        self.per_sender = per_sender
        self.pace = pace
        self.lock = threading.Lock()
        self.acked = {}  # (room, cmid) -> (message_id, seq, body, account)
        self.ack_times = []  # (monotonic, room)
        self.attempted = {}  # (room, cmid) -> (body, account, token)
        self.errors = []
        self.reconnects = []  # (tag, from node, to node, missed seqs synced)
        self.timeouts = 0
        self.stop = threading.Event()
        self.threads = []

    def acks(self, room=None, since=0.0):
        with self.lock:
            return sum(1 for t, r in self.ack_times if t >= since and (room is None or r == room))

    def max_seq(self, room):
        with self.lock:
            return max((v[1] for (r, _), v in self.acked.items() if r == room), default=1)

    def _reconnect(self, token, room, tag, old, last_seq):
        """A connection to another node that is up (the old one if it is the only one), then
        `sync` of the room from `last_seq`: every seq up to what was acknowledged meanwhile must
        come, in order, before `synced`."""
        deadline = time.monotonic() + SETTLE_TIMEOUT
        while True:
            candidates = self.cluster.other_than(old) or self.cluster.up()
            node = random.choice(candidates)
            try:
                c = connect(node, token)
                known = self.max_seq(room)
                c.take_events()
                ok_anyway(c, "sync", since={str(room): last_seq})
                events = c.events_until("synced", timeout=REPLY_TIMEOUT)
                seqs = [e["seq"] for e in events if e.get("room_id") == room and "seq" in e]
                gaps = [e for e in events if e.get("ev") == "gap"]
                missing = sorted(set(range(last_seq + 1, known + 1)) - set(seqs))
                if gaps or missing:
                    with self.lock:
                        self.errors.append(
                            ("sync after reconnect", tag, last_seq, known, missing[:5], gaps[:1])
                        )
                # The replayed events come in seq order (live pushes may follow them).
                replay = [s for s in seqs if s <= known]
                if replay != sorted(set(replay)):
                    with self.lock:
                        self.errors.append(("sync out of order", tag, replay[:20]))
                with self.lock:
                    self.reconnects.append((tag, old, node.name, len(replay)))
                return c
            except Exception as e:  # the chosen node went away too, or is not ready yet
                if time.monotonic() > deadline:
                    raise AssertionError(f"{tag}: could not reconnect and sync: {e!r}")
                time.sleep(0.5)

    def _run(self, token, account, room, tag, node_name):
        try:
            c = connect(self.cluster.nodes[node_name], token)
            last_seq = 0
            i = 0
            pending = None
            while not self.stop.is_set() and (pending is not None or i < self.per_sender):
                if pending is None:
                    pending = (f"{tag}-{i}", f"cluster {tag}-{i} " + "z" * (i % 30))
                    i += 1
                    with self.lock:
                        self.attempted[(room, pending[0])] = (pending[1], account, token)
                cmid, body = pending
                try:
                    rid = c.send("send_message", room_id=room, body=body, client_msg_id=cmid)
                    r = c.reply(rid, timeout=REPLY_TIMEOUT)
                except ConnectionLost:
                    c = self._reconnect(token, room, tag, c.node.name, last_seq)
                    continue
                except AssertionError:  # no reply in time: resend on another node
                    with self.lock:
                        self.timeouts += 1
                    old = c.node.name
                    c.close()
                    c = self._reconnect(token, room, tag, old, last_seq)
                    continue
                except Exception:  # the send itself failed: the connection is gone
                    c = self._reconnect(token, room, tag, c.node.name, last_seq)
                    continue
                if r.get("ok") is True:
                    with self.lock:
                        prev = self.acked.get((room, cmid))
                        if prev is not None and prev[:2] != (r["message_id"], r["seq"]):
                            self.errors.append(("retry changed the reply", cmid, prev, r))
                        self.acked[(room, cmid)] = (r["message_id"], r["seq"], body, account)
                        self.ack_times.append((time.monotonic(), room))
                    last_seq = max(last_seq, r["seq"])
                    pending = None
                    time.sleep(self.pace)
                elif r.get("error", {}).get("code") in ("unavailable", "rate_limited"):
                    time.sleep(0.2)
                else:
                    with self.lock:
                        self.errors.append((tag, cmid, r))
                    pending = None
        except BaseException as e:
            with self.lock:
                self.errors.append(("sender failed", tag, repr(e)))

    def start(self):
        for s in self.senders:
            t = threading.Thread(target=self._run, args=s, daemon=True)
            t.start()
            self.threads.append(t)

    def finish(self, timeout=SETTLE_TIMEOUT + REPLY_TIMEOUT * 2):
        self.stop.set()
        deadline = time.monotonic() + timeout
        for t in self.threads:
            t.join(max(0.1, deadline - time.monotonic()))
        assert not any(t.is_alive() for t in self.threads), "a sender did not finish"


def rooms_per_owner(cluster, admin, owners, per_node, members=()):
    """Creates rooms until each node in `owners` owns `per_node` of them (by the rooms' shards and
    the current assignment). Returns {node: [room ids]}."""
    chosen = {n: [] for n in owners}
    shard_owner = {p: n for n, shards in owners.items() for p in shards}
    for k in range(80):
        if all(len(v) >= per_node for v in chosen.values()):
            return chosen
        room = ok_anyway(admin, "create_room", name=f"cluster {k}", members=list(members))[
            "room_id"
        ]
        owner = shard_owner[partition_of(f"room-{room}")]
        if len(chosen[owner]) < per_node:
            chosen[owner].append(room)
    raise AssertionError(f"80 rooms did not cover every node: {chosen}")


def setup_load(cluster, owners, rooms_per_node=2, senders_per_room=3, per_sender=300, pace=0.3,
               extra_members=()):
    """Rooms spread over every node's shards, each with `senders_per_room` senders connected to
    different nodes (and `extra_members` as members). At most 3 x 300 sends per room keep its log
    under sync's 1000-event page, as test_durability.verify needs; the pace makes the load last
    a good minute, across a node loss. Returns (load, admin token, {room: owner})."""
    _, admin_token = signup(cluster, "admin")
    admin = connect(cluster.nodes[NODES[0]], admin_token)
    by_owner = {}
    senders = []
    room_owner = {}
    # A room per (owner, k), its members signed up first so the room is created with them (then
    # its log is room_created and the posts only, as test_durability.verify expects).
    shard_owner = {p: n for n, shards in owners.items() for p in shards}
    k = 0
    tries = 0
    while any(len(by_owner.get(n, [])) < rooms_per_node for n in owners):
        tries += 1
        assert tries < 80, f"rooms did not cover every node: {by_owner}"
        accounts = [signup(cluster, f"s{tries}-{j}") for j in range(senders_per_room)]
        room = ok_anyway(
            admin,
            "create_room",
            name=f"load {tries}",
            members=[a for a, _ in accounts] + list(extra_members),
        )["room_id"]
        owner = shard_owner[partition_of(f"room-{room}")]
        if len(by_owner.get(owner, [])) >= rooms_per_node:
            continue
        by_owner.setdefault(owner, []).append(room)
        room_owner[room] = owner
        for j, (account, token) in enumerate(accounts):
            node = NODES[(k + j) % len(NODES)]  # the room's senders on different nodes
            senders.append((token, account, room, f"r{room}s{j}", node))
        k += 1
    load = Load(cluster, sorted(room_owner), senders, per_sender, pace)
    return load, admin_token, room_owner


def wait_until(pred, timeout, what, every=0.2):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        assert time.monotonic() < deadline, f"{what}: not within {timeout}s"
        time.sleep(every)


def check_topic_seqs(records):
    """Every entity's events in the topic: seqs 1, 2, 3... in offset order (one writer at a
    time, none appending on stale state). Returns the records by entity."""
    by_key = collections.defaultdict(list)
    for rec in records:
        assert rec.get("kind") in (1, 2), f"a record that does not decode: {rec}"
        if rec["kind"] == 1:
            by_key[rec["key"]].append(rec)
    bad = []
    for key, recs in by_key.items():
        seqs = [r["seq"] for r in recs]
        if seqs != list(range(1, len(seqs) + 1)):
            bad.append((key, seqs[:50], [(r["offset"], r["writer"]) for r in recs][:50]))
    assert not bad, f"entities whose seqs in the topic are not 1..n: {bad[:3]}"
    return by_key


def retry_and_continue(cluster, via, load, admin):
    """test_durability.retry_and_continue for a cluster: every attempted send is retried with its
    client_msg_id through `via` (acknowledged ones must return the same reply), retrying
    `unavailable` too (a shard that just moved, a node's breaker still open after it was
    fenced: a client retries those), then each message is in its room exactly once and a new
    send takes the next seq."""
    conns = {}
    unavailable = collections.Counter()
    unacked = [k for k in load.attempted if k not in load.acked]
    by_tag = collections.defaultdict(list)
    for k in load.acked:
        by_tag[k[1].rsplit("-", 1)[0]].append(k)
    sample = [k for keys in by_tag.values() for k in random.sample(keys, min(10, len(keys)))]
    for room, cmid in sorted(unacked) + sample:
        body, account, token = load.attempted[(room, cmid)]
        c = conns.get(token)
        if c is None:
            c = conns[token] = connect(via, token)
        deadline = time.monotonic() + 120
        while True:
            r = c.request("send_message", room_id=room, body=body, client_msg_id=cmid,
                          timeout=REPLY_TIMEOUT)
            code = r.get("error", {}).get("code") if r.get("ok") is False else None
            if code not in ("unavailable", "rate_limited"):
                break
            if code == "unavailable":
                unavailable[r["error"]["message"]] += 1
            assert time.monotonic() < deadline, (cmid, r)
            time.sleep(0.3)
        assert r.get("ok") is True, (cmid, r)
        acked = load.acked.get((room, cmid))
        if acked is not None:
            assert (r["message_id"], r["seq"]) == acked[:2], (cmid, acked, r)
    if unavailable:
        print(f"retries answered unavailable: {dict(unavailable)}")
    for room in load.rooms:
        hist = conftest.full_history(admin, room)
        bodies = collections.Counter(m["body"] for m in hist)
        expected = {v[0] for (r, _), v in load.attempted.items() if r == room}
        assert set(bodies) == expected, f"room {room}: {len(expected - set(bodies))} missing"
        assert max(bodies.values()) == 1, f"room {room}: a retried message was stored twice"
        entry = [x for x in ok_anyway(admin, "list_rooms")["rooms"] if x["room_id"] == room][0]
        assert entry["last_seq"] == 1 + len(hist), entry
        r = ok_anyway(admin, "send_message", room_id=room, body="after", client_msg_id="next")
        assert r["seq"] == entry["last_seq"] + 1, (r, entry)
        assert int(r["message_id"]) > int(hist[-1]["message_id"]), (r, hist[-1])


def fencing_violations(records, end_before, victim_writers, victim_shards, final_owner, victim):
    """What a node frozen while it served `victim_shards` committed after the freeze: per
    partition, the records past `end_before[p]` (the last offset committed at the freeze) must
    start with another writer (the new owner), and later records of the victim's writer ids are
    allowed only if the victim owns the partition again at the end (it took it over again, with
    a fresh fence and catch-up; check_topic_seqs catches it writing on stale state). Returns the
    problems found (empty when none)."""
    problems = []
    for p in victim_shards:
        later = [
            r
            for r in records
            if r["partition"] == p and r["offset"] > end_before.get(p, -1)
        ]
        if not later:
            problems.append(f"partition {p}: nothing written after the freeze")
            continue
        stale = [r for r in later if r["writer"] in victim_writers]
        print(f"partition {p}: {len(later)} records after the freeze, the first by "
              f"{later[0]['writer']}; {len(stale)} later ones by {victim} "
              f"(owner now: {final_owner.get(p)})")
        if later[0]["writer"] in victim_writers:
            problems.append(
                f"partition {p}: the frozen node committed after the freeze: {later[0]}"
            )
        elif stale and final_owner.get(p) != victim:
            problems.append(f"partition {p}: records of the frozen node {stale[:3]} though it does "
                            f"not own the partition ({final_owner.get(p)} does)")
    return problems


def test_topic_checks_catch_a_fenced_write():
    """The topic checks fail on the histories they are there to catch (so the cluster tests'
    proofs can fail)."""
    def rec(p, offset, key, seq, writer):
        return {"partition": p, "offset": offset, "key": key, "kind": 1, "seq": seq,
                "writer": writer}

    good = [rec(0, 0, "room-1", 1, "n3-1-a"), rec(0, 1, "room-1", 2, "n3-1-a"),
            rec(0, 2, "room-1", 3, "n1-2-b"), rec(0, 3, "room-1", 4, "n1-2-b")]
    check_topic_seqs(good)
    assert fencing_violations(good, {0: 1}, {"n3-1-a"}, [0], {0: "n1"}, "n3") == []
    # The frozen node commits on stale state after the new owner wrote: a repeated seq.
    stale = good + [rec(0, 4, "room-1", 3, "n3-1-a")]
    with pytest.raises(AssertionError):
        check_topic_seqs(stale)
    assert fencing_violations(stale, {0: 1}, {"n3-1-a"}, [0], {0: "n1"}, "n3")
    # ... or before the new owner's first record.
    first = good[:2] + [rec(0, 2, "room-2", 1, "n3-1-a")] + good[2:]
    assert fencing_violations(first, {0: 1}, {"n3-1-a"}, [0], {0: "n1"}, "n3")
    # A gap in an entity's seqs.
    with pytest.raises(AssertionError):
        check_topic_seqs(good[:1] + good[2:])
    # Nothing written after the freeze: the check had nothing to look at.
    assert fencing_violations(good, {0: 3}, {"n3-1-a"}, [0], {0: "n1"}, "n3")


def verify_all(cluster, load, admin_token, via):
    """test_durability's checks through node `via`, the retries, then the topic's seqs."""
    admin, _ = durability.verify(via, load, admin_token)
    retry_and_continue(cluster, via, load, admin)
    return check_topic_seqs(cluster.dump_topic())


def check_cli_status(cluster, via, owners):
    """`hibiki cluster status` against node `via`: one row per node, reachable, with its shards
    (as ranges; compared after expanding them)."""
    cli = os.environ.get("HIBIKI_CLI") or os.path.join(
        os.path.dirname(cluster.nodes[via].binary), "hibiki")
    r = subprocess.run([cli, "cluster", "status", "--url", cluster.nodes[via].url,
                        "--admin-token-file", cluster.nodes[via].admin_token_file],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith(f"cluster    yes (asked node {via} at 127.0.0.1:"), r.stdout
    assert f"nodes      {len(owners)} ({len(owners)} reachable)" in lines, r.stdout
    assert "unassigned none" in lines, r.stdout
    # The cluster port's security, as the answering node has it.
    assert any(
        l.startswith(f"transport  mutual TLS (certificate CN={via}, valid until ") for l in lines
    ), r.stdout

    def expand(ranges):
        out = []
        for part in ranges.split(","):
            a, _, b = part.partition("-")
            out += list(range(int(a), int(b or a) + 1))
        return out

    for name, shards in owners.items():
        row = [l.split() for l in lines if l.split() and l.split()[0].rstrip("*") == name]
        assert len(row) == 1, (name, r.stdout)
        assert row[0][0] == name + ("*" if name == via else ""), r.stdout
        assert row[0][2] == "yes" and expand(row[0][3]) == shards, (name, shards, r.stdout)


# ---- the tests ---------------------------------------------------------------------------------


def test_chat_across_nodes(cluster):
    owners = cluster.wait_settled(NODES)
    # Every node serves shards (wait_settled checks it from each node's own view).
    assert set(owners) == set(NODES) and all(owners[n] for n in NODES), owners
    check_cli_status(cluster, "n2", owners)

    # One account per node, connected there, plus one account connected to two nodes at once.
    accounts = {n: signup(cluster, f"user-{n}") for n in NODES}
    roamer_id, roamer_token = signup(cluster, "roamer")
    clients = {n: connect(cluster.nodes[n], accounts[n][1]) for n in NODES}
    roamer = [
        connect(cluster.nodes["n1"], roamer_token),
        connect(cluster.nodes["n3"], roamer_token),
    ]
    members = [accounts[n][0] for n in NODES[1:]] + [roamer_id]
    # n1's account creates the rooms: about a dozen, two on each node's shards at least.
    rooms = rooms_per_owner(cluster, clients["n1"], owners, per_node=2, members=members)
    all_rooms = [r for rs in rooms.values() for r in rs]
    assert len(all_rooms) == 6

    # Each member sends into every room through its own node; messages of rooms owned elsewhere
    # are forwarded there.
    sent = collections.defaultdict(set)  # room -> {(account, body)}
    for room in all_rooms:
        for n in NODES:
            for i in range(3):
                body = f"{n} says {i} in {room}"
                r = ok_anyway(
                    clients[n], "send_message", room_id=room, body=body, client_msg_id=f"{n}-{i}"
                )
                assert r["seq"] >= 2, r
                sent[room].add((accounts[n][0], body))

    # Every client gets every other member's messages of every room, whichever node it is on.
    def received(c):
        return {
            (e["room_id"], e["message"]["account_id"], e["message"]["body"])
            for e in c.all_events
            if e.get("ev") == "message_created"
        }

    for n, c in list(clients.items()) + [("roamer@n1", roamer[0]), ("roamer@n3", roamer[1])]:
        expected = {
            (room, a, b) for room, msgs in sent.items() for a, b in msgs if a != c.account_id
        }
        wait_until(lambda: expected <= received(c), 60, f"{n} receives every message")

    # History is the same through every node, in seq order, with every message once.
    for room in all_rooms:
        histories = [conftest.full_history(clients[n], room) for n in NODES]
        assert histories[0] == histories[1] == histories[2], room
        got = [(m["account_id"], m["body"]) for m in histories[0]]
        assert sorted(got) == sorted(sent[room]), room
        ids = [int(m["message_id"]) for m in histories[0]]
        assert ids == sorted(ids) and len(set(ids)) == len(ids)
    check_topic_seqs(cluster.dump_topic())

    # Idle now: every node has indexed everything written, its own shards included (the lag
    # counts data records, not the transaction markers after each commit), so the cluster status
    # shows no lag anywhere.
    def idle_lags():
        st = cluster.nodes["n1"].cluster_status()
        lags = {}
        for node in st["nodes"]:
            parts = (node.get("journal") or {}).get("partitions") or []
            if len(parts) != PARTITIONS or any(p["lag"] != 0 for p in parts):
                return None
            lags[node["node"]] = sum(p["lag"] for p in parts)
        return lags if set(lags) == set(NODES) else None

    assert set(wait_until(idle_lags, 60, "every node's lag drops to 0 once idle").values()) == {0}


def run_kill(cluster, victim_name="n2"):
    """Load on every node, SIGKILL of `victim_name`, until its shards moved and every room
    (also those it owned) took acknowledged sends again. Returns (load, admin token, owners
    before, owners after)."""
    owners = cluster.wait_settled(NODES)
    load, admin_token, room_owner = setup_load(cluster, owners)
    victim = cluster.nodes[victim_name]
    survivors = [n for n in NODES if n != victim_name]
    victim_rooms = [r for r, o in room_owner.items() if o == victim_name]
    assert victim_rooms, room_owner
    load.start()
    wait_until(lambda: all(load.acks(r) >= 10 for r in load.rooms), 120, "sends in every room")

    victim.kill9()
    killed_at = time.monotonic()
    after = cluster.wait_settled(survivors)
    moved_at = time.monotonic()
    assert sorted(p for s in after.values() for p in s) == list(range(PARTITIONS))
    print(f"{victim_name} killed; its shards {owners[victim_name]} moved in "
          f"{moved_at - killed_at:.1f}s: {after}")
    # The killed node's rooms are served again: sends there are acknowledged after the move.
    wait_until(
        lambda: all(load.acks(r, since=moved_at) >= 5 for r in load.rooms),
        120,
        "acknowledged sends in every room after the move",
    )
    return load, admin_token, owners, after


def test_kill9_under_load(cluster):
    load, admin_token, before, after = run_kill(cluster, "n2")
    load.finish()
    assert not load.errors, load.errors[:5]
    # The killed node's clients came back through another node and synced.
    moved = [x for x in load.reconnects if x[1] == "n2"]
    assert moved, load.reconnects
    assert all(x[2] != "n2" for x in moved), moved
    print(f"{len(load.acked)} acknowledged of {len(load.attempted)} attempted; "
          f"{len(load.reconnects)} reconnects, {load.timeouts} timeouts")
    verify_all(cluster, load, admin_token, cluster.nodes["n1"])


def test_restart_rebalances_back(cluster):
    load, admin_token, before, after = run_kill(cluster, "n3")
    victim = cluster.nodes["n3"]
    victim.restart()  # same data dir, a new cluster port
    restarted_at = time.monotonic()
    owners = cluster.wait_settled(NODES, must_serve=("n3",))
    print(f"n3 restarted and serves {owners['n3']} after {time.monotonic() - restarted_at:.1f}s")
    # Sends go on in every room after the rebalance, also those now on n3 again.
    rebalanced_at = time.monotonic()
    wait_until(
        lambda: all(load.acks(r, since=rebalanced_at) >= 5 for r in load.rooms),
        120,
        "acknowledged sends in every room after the rebalance",
    )
    load.finish()
    assert not load.errors, load.errors[:5]
    # Nothing lost, through the restarted node and through another.
    by_key = verify_all(cluster, load, admin_token, victim)
    admin = connect(cluster.nodes["n1"], admin_token)
    admin_on_victim = connect(victim, admin_token)
    for room in load.rooms:
        assert conftest.full_history(admin, room) == conftest.full_history(
            admin_on_victim, room
        ), room
    # The restarted node wrote again: its new incarnation's writer id is in the topic.
    writers = {r["writer"] for recs in by_key.values() for r in recs}
    assert any(w.startswith(f"n3-{victim.proc.pid}-") for w in writers), sorted(writers)[:10]


def test_frozen_node_is_fenced(cluster):
    owners = cluster.wait_settled(NODES)
    # A member of every room whose client on the victim sends into the victim's rooms while it is
    # frozen: those commands wait in its socket and reach it when it resumes, still believing it
    # owns those shards.
    prober_id, prober_token = signup(cluster, "prober")
    load, admin_token, room_owner = setup_load(cluster, owners, extra_members=[prober_id])
    victim = cluster.nodes["n3"]
    survivors = ["n1", "n2"]
    victim_rooms = [r for r, o in room_owner.items() if o == "n3"]
    victim_shards = owners["n3"]
    prefix = f"n3-{victim.proc.pid}-"
    load.start()
    wait_until(lambda: all(load.acks(r) >= 10 for r in load.rooms), 120, "sends in every room")

    prober = connect(victim, prober_token)

    victim.freeze()
    frozen_at = time.monotonic()
    time.sleep(1.0)  # a commit the broker already had settles; the victim sends nothing more
    before = cluster.dump_topic()
    victim_writers = {r["writer"] for r in before if r["writer"].startswith(prefix)}
    assert len(victim_writers) == 1, ({r["writer"] for r in before}, prefix)
    # The victim wrote its shards up to the freeze: its rooms' last records are its own.
    last_in = {}
    for r in before:
        last_in[r["partition"]] = r
    assert any(last_in[p]["writer"] in victim_writers for p in victim_shards if p in last_in)
    end_before = {p: r["offset"] for p, r in last_in.items()}

    probes = {}
    for i, room in enumerate(victim_rooms * 3):
        cmid = f"probe-{i}"
        body = f"sent to the frozen node {i}"
        probes[prober.send("send_message", room_id=room, body=body, client_msg_id=cmid)] = (
            room, cmid, body)
        with load.lock:
            load.attempted[(room, cmid)] = (body, prober_id, prober_token)

    # Its shards move to the others (its session expires), and are written there.
    after = cluster.wait_settled(survivors)
    moved_at = time.monotonic()
    print(f"n3 frozen; its shards {victim_shards} moved in {moved_at - frozen_at:.1f}s: {after}")
    wait_until(
        lambda: all(load.acks(r, since=moved_at) >= 3 for r in victim_rooms),
        120,
        "acknowledged sends in the frozen node's rooms after the move",
    )

    victim.thaw()
    thawed_at = time.monotonic()
    # Every probe is answered: `unavailable` (fenced, or moved and out of time) or ok (forwarded
    # to the new owner). An ok one must be in its room exactly once (verified below).
    outcomes = collections.Counter()
    for rid, (room, cmid, body) in probes.items():
        r = prober.reply(rid, timeout=REPLY_TIMEOUT * 2)
        outcomes["ok" if r.get("ok") is True else r["error"]["code"]] += 1
        if r.get("ok") is True:
            with load.lock:
                load.acked[(room, cmid)] = (r["message_id"], r["seq"], body, prober_id)
        else:
            assert r["error"]["code"] == "unavailable", r
    # The victim is alive and rejoins; let it settle (it may get shards again).
    assert victim.proc.poll() is None, victim.stderr_tail()
    cluster.wait_settled(NODES)
    print(f"n3 resumed and the cluster settled in {time.monotonic() - thawed_at:.1f}s")
    load.finish()
    assert not load.errors, load.errors[:5]

    # The proof, on the topic: after the freeze, a record of the frozen incarnation appears in a
    # partition only once the partition's new owner has written there and the victim has taken
    # the partition over again (legitimately, with a fresh fence and catch-up). So in each
    # partition, the records past the freeze start with another writer, and every entity's seqs
    # run 1..n: an append of the fenced node on stale state would have repeated a seq.
    after_records = cluster.dump_topic()
    by_key = check_topic_seqs(after_records)
    final_owner = {p: n for n, ss in cluster.wait_settled(NODES).items() for p in ss}
    problems = fencing_violations(after_records, end_before, victim_writers, victim_shards,
                                  final_owner, "n3")
    assert not problems, problems
    # Before the freeze nothing of the victim was hidden: its records then are all still there.
    before_keys = {(r["partition"], r["offset"]) for r in before}
    after_keys = {(r["partition"], r["offset"]) for r in after_records}
    assert before_keys <= after_keys
    verify_all(cluster, load, admin_token, cluster.nodes["n1"])
    print(f"{len(load.acked)} acknowledged; {len(by_key)} entities in the topic; probes sent "
          f"to the frozen node: {dict(outcomes)}")


def rest_anyway(node, token, method, path, timeout=90.0, **kw):
    """A REST call that must succeed, retried while the answer is 503 or 429 (a shard on the
    move). Returns (status, body)."""
    from test_rest import Rest

    deadline = time.monotonic() + timeout
    while True:
        r = Rest(node, token)
        try:
            status, body, _ = r.call(method, path, **kw)
        finally:
            r.close()
        if status in (200, 204):
            return status, body
        assert status in (503, 429), (node.name, method, path, status, body)
        assert time.monotonic() < deadline, f"{method} {path} kept failing: {status} {body}"
        time.sleep(0.3)


def test_rest_across_nodes(cluster):
    """The REST API on nodes that do not own the room (nor, for some calls, the user): posts are
    forwarded to the owner, and the fetch position is the same from every node."""
    owners = cluster.wait_settled(NODES)
    accounts = {n: signup(cluster, f"rest-{n}") for n in NODES}
    admin = connect(cluster.nodes["n1"], accounts["n1"][1])
    members = [accounts[n][0] for n in NODES[1:]]
    rooms = rooms_per_owner(cluster, admin, owners, per_node=1, members=members)
    reader_id, reader_token = accounts["n3"]
    for owner, (room,) in rooms.items():
        others = [n for n in NODES if n != owner]
        posted = []
        for n in others:
            status, body = rest_anyway(cluster.nodes[n], accounts[n][1], "POST",
                                       f"/rooms/{room}/messages", form={"body": f"{n} via REST"})
            assert status == 200 and body["message_id"].isdigit(), body
            posted.append(body["message_id"])
        # n3's account reads through one node that does not own the room, then through the other:
        # the position moved for the account, not for a node.
        status, first = rest_anyway(cluster.nodes[others[0]], reader_token, "GET",
                                    f"/rooms/{room}/messages")
        assert status == 200
        assert [m["message_id"] for m in first] == posted, (owner, first)
        assert {m["body"] for m in first} == {f"{n} via REST" for n in others}
        status, again = rest_anyway(cluster.nodes[others[1]], reader_token, "GET",
                                    f"/rooms/{room}/messages")
        assert status == 204, (owner, again)
        # And the room's counts agree from the owner's node.
        status, listed = rest_anyway(cluster.nodes[owner], reader_token, "GET", "/rooms")
        assert room in [x["room_id"] for x in listed]
