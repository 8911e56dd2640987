"""Shared files on a real S3-compatible store (the MinIO of CTest's `minio` fixture), beyond one
node on the embedded journal:

  - expiry: an upload PUT but never completed expires after --upload-window and the sweeper
    removes its object from MinIO; a deleted message's object goes after --file-grace; an
    account over --max-pending-uploads is `rate_limited`. The bucket is looked at directly
    (requests signed by botocore with the bucket's credentials), not through hibikid.
  - the Kafka journal, one node: files survive a restart and a wiped data dir (the room's files
    come back from the topic).
  - a cluster without an S3 store: files are off (a clear `unavailable`), chat works.
  - three nodes on Kafka and one MinIO: an upload through one node into a room another node
    owns, pushed to a member on the third node, listed and downloaded through every node; the
    room's owner killed with SIGKILL between request_upload and complete_upload; everything
    restarted.

Waits poll with deadlines (conftest.wait_for and the retry helpers); nothing sleeps and hopes.
"""

import hashlib
import os
import shutil
import subprocess
import time
import urllib.parse
import uuid

import botocore.auth
import botocore.awsrequest
import botocore.credentials
import pytest

from conftest import stdout_match, wait_for
from test_cluster import (NODES, PARTITIONS, REPLY_TIMEOUT, Cluster, bootstrap,  # noqa: F401
                          check_murmur2, connect, partition_of, signup, started)
from test_files import http_call, put

MINIO_DIR = os.environ.get("HIBIKI_TEST_MINIO_DIR")
needs_minio = pytest.mark.skipif(MINIO_DIR is None, reason="run by CTest with the minio fixture")

# Bounds, never expected durations: a store or a cluster on this shared machine can be slow.
SWEEP_TIMEOUT = 60.0
RETRY_TIMEOUT = 180.0


# ---- the bucket, seen from outside -------------------------------------------------------------


class Bucket:
    """The fixture's MinIO bucket: hibikid's flags for it, and HEAD of an object key by a request
    botocore signs (so "the object is gone" is the store's word, not hibikid's)."""

    def __init__(self):
        self.endpoint = open(os.path.join(MINIO_DIR, "endpoint")).read().strip()
        self.name = open(os.path.join(MINIO_DIR, "bucket")).read().strip()
        self.credentials_file = os.path.join(MINIO_DIR, "credentials")
        keys = dict(line.split("=", 1) for line in open(self.credentials_file) if "=" in line)
        keys = {k.strip(): v.strip() for k, v in keys.items()}
        self.signer = botocore.auth.S3SigV4QueryAuth(
            botocore.credentials.Credentials(keys["access_key"], keys["secret_key"]), "s3",
            "us-east-1", expires=60)

    def flags(self):
        return [f"--s3-endpoint={self.endpoint}", f"--s3-bucket={self.name}",
                f"--s3-credentials-file={self.credentials_file}"]

    def key_of(self, upload):
        """The object key an upload URL was signed for (path style: /BUCKET/KEY)."""
        path = urllib.parse.urlsplit(upload["upload_url"]).path
        prefix = f"/{self.name}/"
        assert path.startswith(prefix), upload["upload_url"]
        return urllib.parse.unquote(path[len(prefix):])

    def head(self, key):
        """The store's HTTP status for the object: 200 there, 404 gone."""
        request = botocore.awsrequest.AWSRequest(
            method="HEAD", url=f"{self.endpoint}/{self.name}/{urllib.parse.quote(key)}")
        self.signer.add_auth(request)
        return http_call(request.url, "HEAD")[0]


@pytest.fixture
def bucket():
    return Bucket()


def room_with(owner, *others):
    return owner.ok("create_room", name="files", members=[o.account_id for o in others])["room_id"]


def ask(client, room, data, filename="f.bin", **kw):
    return client.ok("request_upload", room_id=room, filename=filename, size=len(data),
                     content_type="application/octet-stream", **kw)


def put_ok(upload, data):
    status, _, body = put(upload, data)
    assert status == 200, (status, body)


def sha(data):
    return hashlib.sha256(data).hexdigest()


def downloaded(client, room, file_id, **kw):
    """The bytes behind a fresh download URL of the file, as `client` sees it."""
    got = client.ok("get_file", room_id=room, file_id=file_id, download_url=True, **kw)
    status, _, body = http_call(got["download_url"], "GET")
    assert status == 200, (status, body[:200])
    return got["file"], body


# ---- expiry ------------------------------------------------------------------------------------


@needs_minio
def test_expiry_and_grace_remove_objects_from_minio(server_factory, bucket):
    server = server_factory(*bucket.flags(), "--upload-window=10", "--file-sweep-interval=1",
                            "--file-grace=2", "--max-pending-uploads=2")
    alice, bob = server.user("alice"), server.user("bob")
    room = room_with(alice, bob)

    # PUT, never completed: the object is in the bucket until the window passes, then the
    # sweeper removes it and the upload can no longer complete.
    data = os.urandom(4000)
    up = ask(bob, room, data, "abandoned.bin")
    assert up["expires_at"] - int(time.time()) <= 10, up
    put_ok(up, data)
    key = bucket.key_of(up)
    assert bucket.head(key) == 200
    wait_for(lambda: bucket.head(key) == 404, "the expired upload's object removed from MinIO",
             timeout=SWEEP_TIMEOUT)
    bob.fail("complete_upload", "not_found", room_id=room, file_id=up["file_id"])
    assert alice.ok("list_files", room_id=room)["files"] == []
    alice.fail("get_file", "not_found", room_id=room, file_id=up["file_id"])
    # The signed PUT URL is past its expiry too: the store refuses it.
    status, _, _ = put(up, data)
    assert status == 403, status

    # At most two pending per account and room: a third is rate_limited, others are not held up.
    first = ask(bob, room, b"1", "one.txt")
    ask(bob, room, b"2", "two.txt")
    over = bob.fail("request_upload", "rate_limited", room_id=room, filename="three.txt", size=1,
                    content_type="text/plain")
    assert "2 uploads pending" in over["error"]["message"], over
    ask(alice, room, b"a", "alice.txt")
    # Completing one frees its place.
    put_ok(first, b"1")
    bob.ok("complete_upload", room_id=room, file_id=first["file_id"])
    ask(bob, room, b"3", "three.txt")

    # A completed file whose message is deleted: hidden at once, its object gone after the grace.
    data = os.urandom(3000)
    up = ask(alice, room, data, "deleted.bin")
    put_ok(up, data)
    done = alice.ok("complete_upload", room_id=room, file_id=up["file_id"])
    key = bucket.key_of(up)
    assert downloaded(bob, room, up["file_id"])[1] == data
    alice.ok("delete_message", room_id=room, message_id=done["message_id"])
    bob.fail("get_file", "not_found", room_id=room, file_id=up["file_id"])
    wait_for(lambda: bucket.head(key) == 404, "the deleted file's object removed from MinIO",
             timeout=SWEEP_TIMEOUT)
    # What was completed and not deleted stays, bytes and all.
    assert [f["filename"] for f in alice.ok("list_files", room_id=room)["files"]] == ["one.txt"]
    assert downloaded(alice, room, first["file_id"])[1] == b"1"
    assert server.healthz() == 200


def test_upload_window_and_pending_cap_flags_are_checked(hibikid_binary, tmp_path):
    for flag in ("--upload-window=9", "--upload-window=604801", "--upload-window=x",
                 "--max-pending-uploads=0", "--max-pending-uploads=-1"):
        proc = subprocess.run([hibikid_binary, flag, f"--data-dir={tmp_path}"],
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 2, (flag, proc.returncode, proc.stderr)
        assert flag.split("=")[0] in proc.stderr, (flag, proc.stderr)


# ---- the Kafka journal, one node ---------------------------------------------------------------


@needs_minio
def test_files_on_the_kafka_journal(bootstrap, server_factory, bucket):  # noqa: F811
    topic = f"hibiki.files.{uuid.uuid4().hex[:8]}"
    flags = ["--journal=kafka", f"--kafka-brokers={bootstrap}", f"--kafka-topic={topic}",
             "--kafka-partitions=2", "--snapshot-every=3", *bucket.flags()]
    server = server_factory(*flags)
    alice, bob = server.user("alice"), server.user("bob")
    room = room_with(alice, bob)
    data = os.urandom(200_000)
    up = ask(bob, room, data, "kafka.bin")
    put_ok(up, data)
    done = bob.ok("complete_upload", room_id=room, file_id=up["file_id"])
    assert alice.next_event("file_uploaded")["seq"] == done["seq"]
    pending = ask(bob, room, b"later", "later.txt")
    put_ok(pending, b"later")
    listed = alice.ok("list_files", room_id=room)["files"]
    assert [f["filename"] for f in listed] == ["kafka.bin"]

    # A restart on the same data dir, then on a wiped one: the files come back from the topic,
    # the pending upload is still pending (and completes), nothing else shows up.
    server.restart()
    alice, bob = server.connect(alice.token), server.connect(bob.token)
    assert alice.ok("list_files", room_id=room)["files"] == listed
    file, body = downloaded(alice, room, up["file_id"])
    assert file == listed[0] and sha(body) == sha(data)
    server.stop()
    shutil.rmtree(server.data_dir)
    server = server_factory(*flags, data_dir=server.data_dir)
    alice, bob = server.connect(alice.token), server.connect(bob.token)
    assert alice.ok("list_files", room_id=room)["files"] == listed
    assert sha(downloaded(bob, room, up["file_id"])[1]) == sha(data)
    bob.ok("complete_upload", room_id=room, file_id=pending["file_id"])
    assert [f["filename"] for f in alice.ok("list_files", room_id=room)["files"]] == [
        "kafka.bin", "later.txt"]
    # Completing again answers the same; the room's counters agree.
    assert bob.ok("complete_upload", room_id=room, file_id=up["file_id"])["seq"] == done["seq"]
    assert alice.ok("get_room", room_id=room)["room"]["file_num"] == 2


def test_a_cluster_without_s3_has_files_off(hibikid_binary, tmp_path, bootstrap):  # noqa: F811
    """The directory store is one node's disk: clustered without --s3-endpoint, hibikid says so
    at start and the file ops answer `unavailable` instead of handing out URLs to one disk."""
    topic = f"hibiki.files.off.{uuid.uuid4().hex[:8]}"
    cluster = Cluster(hibikid_binary, tmp_path, bootstrap, topic, names=("solo",))
    try:
        cluster.start()
        node = cluster.nodes["solo"]
        stdout_match(node, r"files are off \(clustered without --s3-endpoint\)")
        cluster.wait_settled(("solo",))
        account, token = signup(cluster, "alice")
        alice = connect(node, token)
        room = alice.ok("create_room", name="r", members=[], timeout=REPLY_TIMEOUT)["room_id"]
        r = alice.fail("request_upload", "unavailable", room_id=room, filename="a.txt", size=1,
                       content_type="text/plain", timeout=REPLY_TIMEOUT)
        assert "--s3-endpoint" in r["error"]["message"], r
        alice.fail("get_file", "unavailable", room_id=room, file_id=1, download_url=True,
                   timeout=REPLY_TIMEOUT)
        # Chat is not affected; the directory store's URLs are not served.
        alice.ok("send_message", room_id=room, body="hi", client_msg_id="c1",
                 timeout=REPLY_TIMEOUT)
        assert node.http("GET", "/files/rooms/1/x")[0] == 404
        assert not os.path.exists(os.path.join(node.data_dir, "files"))
    finally:
        cluster.teardown()


# ---- three nodes -------------------------------------------------------------------------------


def ok_retrying(client, op, timeout=RETRY_TIMEOUT, **fields):
    """A request that must succeed, asked again while it answers `unavailable` (a shard on the
    move) or `rate_limited`. Only for reads and idempotent writes (complete_upload is)."""
    deadline = time.monotonic() + timeout
    while True:
        r = client.request(op, timeout=REPLY_TIMEOUT, **fields)
        if r.get("ok") is True:
            return r
        assert r["error"]["code"] in ("unavailable", "rate_limited"), (op, fields, r)
        assert time.monotonic() < deadline, f"{op} {fields} kept failing: {r}"
        time.sleep(0.3)


def fail_retrying(client, op, code, **fields):
    deadline = time.monotonic() + RETRY_TIMEOUT
    while True:
        r = client.request(op, timeout=REPLY_TIMEOUT, **fields)
        if r.get("error", {}).get("code") != "unavailable":
            break
        assert time.monotonic() < deadline, f"{op} {fields} kept failing: {r}"
        time.sleep(0.3)
    assert r.get("ok") is False and r["error"]["code"] == code, (op, fields, code, r)
    return r


def names_listed(client, room):
    return [f["filename"] for f in ok_retrying(client, "list_files", room_id=room)["files"]]


@pytest.fixture
def cluster(hibikid_binary, tmp_path, bootstrap, bucket):  # noqa: F811
    """Three nodes on a topic of their own and one MinIO bucket, a snapshot every 3 events, and
    an upload window long enough to outlast a node's loss (shards move within about a minute
    here) but short enough to see an abandoned upload expire within the test."""
    check_murmur2()
    topic = f"hibiki.cluster.files.{uuid.uuid4().hex[:8]}"
    c = Cluster(hibikid_binary, tmp_path, bootstrap, topic)
    for n in c.nodes.values():
        n.security += ["--snapshot-every=3", "--upload-window=150", "--file-sweep-interval=2",
                       *bucket.flags()]
    yield from started(c)


def owners(cluster, names):
    """{partition: node name} once the nodes in `names` agree."""
    settled = cluster.wait_settled(names)
    owner = {p: n for n, shards in settled.items() for p in shards}
    assert sorted(owner) == list(range(PARTITIONS))
    return owner


def test_files_across_three_nodes(cluster, bucket):
    owner = owners(cluster, NODES)
    alice_id, alice_token = signup(cluster, "alice")
    bob_id, bob_token = signup(cluster, "bob")
    carol_id, carol_token = signup(cluster, "carol")

    # alice on node A makes rooms until one is owned by another node O; bob listens on the third.
    a = cluster.nodes[NODES[0]]
    alice = connect(a, alice_token)
    for _ in range(40):
        room = alice.ok("create_room", name="files", members=[bob_id, carol_id],
                        timeout=REPLY_TIMEOUT)["room_id"]
        if owner[partition_of(f"room-{room}")] != a.name:
            break
    else:
        pytest.fail("40 rooms, all owned by the node alice is on")
    o = cluster.nodes[owner[partition_of(f"room-{room}")]]
    b = next(cluster.nodes[n] for n in NODES if n not in (a.name, o.name))
    bob = connect(b, bob_token)
    print(f"alice on {a.name}, room {room} owned by {o.name}, bob on {b.name}")

    # request_upload -> PUT -> complete_upload through A; the room's owner O appends.
    data = os.urandom(300_000)
    up = ask(alice, room, data, "across.bin", timeout=REPLY_TIMEOUT)
    put_ok(up, data)
    done = alice.ok("complete_upload", room_id=room, file_id=up["file_id"], timeout=REPLY_TIMEOUT)
    created = bob.next_event("message_created", timeout=REPLY_TIMEOUT,
                             pred=lambda e: e["room_id"] == room)
    assert created["message"]["message_id"] == done["message_id"]
    assert created["message"]["body"] == f"[download:{up['file_id']}]across.bin[/download]"
    pushed = bob.next_event("file_uploaded", timeout=REPLY_TIMEOUT,
                            pred=lambda e: e["room_id"] == room)
    assert pushed["seq"] == done["seq"] and pushed["file"]["account_id"] == alice_id
    # Listed and downloaded through every node (carol's connection on each), bytes intact.
    for node in cluster.nodes.values():
        carol = connect(node, carol_token)
        assert ok_retrying(carol, "list_files", room_id=room)["files"] == [pushed["file"]]
        got = ok_retrying(carol, "get_file", room_id=room, file_id=up["file_id"],
                          download_url=True)
        assert got["file"] == pushed["file"]
        status, _, body = http_call(got["download_url"], "GET")
        assert status == 200 and sha(body) == sha(data), (node.name, status)
        carol.close()

    # Between request_upload and complete_upload the room's owner is killed (SIGKILL). `late`
    # was PUT and completes once the room has moved; `abandoned` was PUT and is never completed:
    # it expires after the window and its object goes. Neither is ever half-visible.
    late_data, abandoned_data = os.urandom(100_000), os.urandom(5_000)
    late = ask(alice, room, late_data, "late.bin", timeout=REPLY_TIMEOUT)
    abandoned = ask(alice, room, abandoned_data, "abandoned.bin", timeout=REPLY_TIMEOUT)
    put_ok(late, late_data)
    put_ok(abandoned, abandoned_data)
    killed_at = time.monotonic()
    o.kill9()
    survivors = [n for n in NODES if n != o.name]
    moved = owners(cluster, survivors)
    assert moved[partition_of(f"room-{room}")] != o.name
    # A and B survive: alice's and bob's connections there are still good.
    assert names_listed(bob, room) == ["across.bin"]
    fail_retrying(bob, "get_file", "not_found", room_id=room, file_id=late["file_id"])
    again = ok_retrying(alice, "complete_upload", room_id=room, file_id=late["file_id"])
    e = bob.next_event("file_uploaded", timeout=REPLY_TIMEOUT,
                       pred=lambda e: e["file"]["file_id"] == late["file_id"])
    assert e["seq"] == again["seq"] > done["seq"]
    print(f"late upload completed {time.monotonic() - killed_at:.1f} s after the owner's kill")
    assert names_listed(bob, room) == ["across.bin", "late.bin"]

    # The killed node comes back and takes shards again; the abandoned upload expires (the
    # sweeper of whichever node runs it removes the object) and stays invisible.
    o.port = None
    o.start()
    owners(cluster, NODES)
    key = bucket.key_of(abandoned)
    assert bucket.head(key) == 200
    wait_for(lambda: bucket.head(key) == 404, "the abandoned upload's object removed from MinIO",
             timeout=150 + SWEEP_TIMEOUT + 60)
    print(f"abandoned upload's object removed {time.time() - abandoned['expires_at']:.1f} s "
          "after its expiry")
    fail_retrying(alice, "complete_upload", "not_found", room_id=room,
                  file_id=abandoned["file_id"])
    assert bucket.head(bucket.key_of(late)) == 200 and bucket.head(bucket.key_of(up)) == 200

    # Everything restarted: the files are listed and downloadable through every node (replayed
    # from the topic on top of the snapshots), and the room takes new uploads.
    for node in cluster.nodes.values():
        node.stop()
    cluster.start()
    owners(cluster, NODES)
    for node in cluster.nodes.values():
        carol = connect(node, carol_token)
        assert names_listed(carol, room) == ["across.bin", "late.bin"], node.name
        for fid, expected in ((up["file_id"], data), (late["file_id"], late_data)):
            got = ok_retrying(carol, "get_file", room_id=room, file_id=fid, download_url=True)
            status, _, body = http_call(got["download_url"], "GET")
            assert status == 200 and sha(body) == sha(expected), (node.name, fid)
        fail_retrying(carol, "get_file", "not_found", room_id=room, file_id=abandoned["file_id"])
        carol.close()
    bob = connect(b, bob_token)
    more = os.urandom(1000)
    last = ok_retrying(bob, "request_upload", room_id=room, filename="after.bin", size=len(more),
                       content_type="application/octet-stream")
    assert last["file_id"] == abandoned["file_id"] + 1
    put_ok(last, more)
    ok_retrying(bob, "complete_upload", room_id=room, file_id=last["file_id"])
    assert names_listed(bob, room) == ["across.bin", "late.bin", "after.bin"]
