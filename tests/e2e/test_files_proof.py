"""Files on a real S3 store (MinIO) from the outside, for what only the outside can show:

- the bytes bypass hibikid: a 50 MiB file goes up and down through the pre-signed URLs while
  /proc/<hibikid>/io shows hibikid reading and writing a small fraction of it (and the same
  instrument, on the directory store where hibikid does carry the bytes, shows all of them);
- the store going down: the file ops answer `unavailable`, the object-store circuit breaker opens,
  chat keeps working, and files work again once the store is back and the breaker's trial call
  has gone through. This one runs its own MinIO (scripts/minio on free ports) because it stops it.
"""

import hashlib
import os
import re
import signal
import subprocess
import urllib.parse

import botocore.auth
import botocore.awsrequest
import botocore.credentials
import pytest
import requests

from conftest import wait_for

MIB = 1024 * 1024
SCRIPTS = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "..", "scripts"))
MINIO_DIR = os.environ.get("HIBIKI_TEST_MINIO_DIR")
needs_minio = pytest.mark.skipif(MINIO_DIR is None,
                                 reason="run by CTest with the minio fixture (ctest -L s3)")


# ---- helpers -----------------------------------------------------------------------------------


def proc_io(pid):
    """/proc/PID/io of the whole process (all its threads): rchar/wchar count every byte passed
    to read/write-like system calls (sockets, files, pipes), read_bytes/write_bytes what reached
    the block layer."""
    out = {}
    with open(f"/proc/{pid}/io") as f:
        for line in f:
            k, v = line.split(":")
            out[k.strip()] = int(v)
    return out


def io_delta(before, after):
    return {k: after[k] - before[k] for k in ("rchar", "wchar", "read_bytes", "write_bytes")}


# /proc/PID/io's rchar and wchar count read(2)/write(2)-like calls, but not recvmsg(2) and
# sendmsg(2), which is what Asio (so hibikid's sockets) uses: a hibikid that relayed the bytes from
# socket to socket without touching a file would look idle there. So the socket side is counted
# too, from every byte-moving system call of every thread, seen by strace.
SOCKET_CALLS = ("recvfrom", "recvmsg", "recvmmsg", "sendto", "sendmsg", "sendmmsg")
IO_CALLS = SOCKET_CALLS + ("read", "write", "readv", "writev", "pread64", "pwrite64", "preadv",
                           "pwritev", "preadv2", "pwritev2", "sendfile", "splice",
                           "copy_file_range")
STRACE_RESULT = re.compile(r"^\d+\s+(?:<\.\.\. (\w+) resumed>|(\w+)\().*\)\s+=\s+(\d+)")


class SyscallBytes:
    """strace attached to every thread of a process, counting the bytes its I/O calls return."""

    def __init__(self, pid, out_path):
        self.out_path = str(out_path)
        self.proc = subprocess.Popen(
            ["strace", "-f", "-s", "0", "-e", "trace=" + ",".join(IO_CALLS), "-e", "signal=none",
             "-o", self.out_path, "-p", str(pid)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        # "Process PID attached with N threads" once every thread is traced (new ones are too).
        line = self.proc.stderr.readline()
        assert "attached" in line, f"strace did not attach: {line!r}"

    def stop(self):
        """Detaches and returns {"socket": bytes, "all": bytes}."""
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(timeout=30)
        self.proc.stderr.close()
        counts = {"socket": 0, "all": 0}
        with open(self.out_path) as f:
            for line in f:
                m = STRACE_RESULT.match(line)
                if not m:
                    continue
                call, n = m.group(1) or m.group(2), int(m.group(3))
                if call in IO_CALLS:
                    counts["all"] += n
                    if call in SOCKET_CALLS:
                        counts["socket"] += n
        return counts


def random_file(path, size):
    """Writes `size` random bytes to `path` and returns their SHA-256 (hex)."""
    h = hashlib.sha256()
    with open(path, "wb") as f:
        left = size
        while left:
            chunk = os.urandom(min(left, MIB))
            h.update(chunk)
            f.write(chunk)
            left -= len(chunk)
    return h.hexdigest()


def put_file(url, path, content_type):
    """PUTs the file at `path` to `url`, streamed from the file (requests reads it in blocks)."""
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        r = requests.put(url, data=f, timeout=120,
                         headers={"Content-Type": content_type, "Content-Length": str(size)})
    return r


def get_to_file(url, path):
    """GETs `url` streaming into `path`; returns (status, SHA-256 hex of what was written)."""
    h = hashlib.sha256()
    with requests.get(url, stream=True, timeout=120) as r:
        if r.status_code != 200:
            return r.status_code, None
        with open(path, "wb") as f:
            for chunk in r.iter_content(chunk_size=MIB):
                h.update(chunk)
                f.write(chunk)
    return 200, h.hexdigest()


def read_credentials(path):
    values = {}
    for line in open(path):
        if "=" in line:
            k, v = line.split("=", 1)
            values[k.strip()] = v.strip()
    return values["access_key"], values["secret_key"]


def minio_head(endpoint, bucket, key, credentials_file):
    """HEAD of an object with MinIO's own credentials (botocore signs), not through hibikid."""
    access, secret = read_credentials(credentials_file)
    signer = botocore.auth.S3SigV4QueryAuth(botocore.credentials.Credentials(access, secret),
                                            "s3", "us-east-1", expires=60)
    request = botocore.awsrequest.AWSRequest(method="HEAD", url=f"{endpoint}/{bucket}/{key}")
    signer.add_auth(request)
    return requests.head(request.url, timeout=30)


def object_key(upload_url, bucket):
    """The object key of a path-style pre-signed URL (…/BUCKET/KEY?…)."""
    path = urllib.parse.urlsplit(upload_url).path
    prefix = f"/{bucket}/"
    assert path.startswith(prefix), upload_url
    return urllib.parse.unquote(path[len(prefix):])


def room_of(owner, *others):
    return owner.ok("create_room", name="files", members=[o.account_id for o in others])["room_id"]


def s3_flags(endpoint, bucket, credentials):
    return [f"--s3-endpoint={endpoint}", f"--s3-bucket={bucket}",
            f"--s3-credentials-file={credentials}"]


def fixture_minio():
    return tuple(open(os.path.join(MINIO_DIR, name)).read().strip()
                 for name in ("endpoint", "bucket")) + (os.path.join(MINIO_DIR, "credentials"),)


# ---- the bytes bypass hibikid ------------------------------------------------------------------

FILE_SIZE = 50 * MIB
# What hibikid may read and write (rchar, wchar; bytes through its sockets; bytes through all its
# I/O calls) while the 50 MiB go up and down. Its own share is four WebSocket requests with their
# replies and pushes (a few KB), the journal and read-model writes of the upload (a few KB), one
# HEAD to MinIO, plus whatever its timers do meanwhile (the file sweeper, RocksDB's upkeep): a
# few KB measured here. 5 MiB leaves room for a RocksDB flush landing in the window and is still
# a tenth of the file: had the bytes passed through hibikid even once, each count would grow by
# 50 MiB or more (the control test below shows exactly that on the directory store).
BYPASS_BOUND = 5 * MIB


def upload_and_download(server, tmp_path, content_type="application/octet-stream"):
    """Uploads a FILE_SIZE random file and downloads it through the URLs hibikid signs, counting
    hibikid's I/O meanwhile (/proc/PID/io and strace). Returns (the counts' deltas, the
    request_upload reply, the get_file reply, the SHA-256 sent, the SHA-256 received)."""
    alice, bob = server.user("alice"), server.user("bob")
    room = room_of(alice, bob)
    src, dst = tmp_path / "upload.bin", tmp_path / "download.bin"
    sent_sha = random_file(src, FILE_SIZE)
    pid = server.proc.pid

    traced = SyscallBytes(pid, tmp_path / "strace.out")
    before = proc_io(pid)
    up = bob.ok("request_upload", room_id=room, filename="big.bin", size=FILE_SIZE,
                content_type=content_type)
    r = put_file(up["upload_url"], src, content_type)
    assert r.status_code == 200, r.text
    done = bob.ok("complete_upload", room_id=room, file_id=up["file_id"])
    got = alice.ok("get_file", room_id=room, file_id=up["file_id"], download_url=True)
    status, got_sha = get_to_file(got["download_url"], dst)
    after = proc_io(pid)
    calls = traced.stop()

    assert status == 200
    assert got["file"]["size"] == FILE_SIZE and got["file"]["message_id"] == done["message_id"]
    assert os.path.getsize(dst) == FILE_SIZE
    delta = io_delta(before, after)
    delta.update({"syscall_bytes": calls["all"], "socket_bytes": calls["socket"]})
    return delta, up, got, sent_sha, got_sha


@needs_minio
def test_50_mib_upload_and_download_bypass_hibikid(server_factory, tmp_path):
    endpoint, bucket, credentials = fixture_minio()
    server = server_factory(*s3_flags(endpoint, bucket, credentials),
                            "--max-file-size", str(FILE_SIZE))
    minio_pid = int(open(os.path.join(MINIO_DIR, "server", "minio.pid")).read())
    minio_before = proc_io(minio_pid)["wchar"]
    delta, up, got, sent_sha, got_sha = upload_and_download(server, tmp_path)
    print(f"\nhibikid /proc/{server.proc.pid}/io while {FILE_SIZE} bytes went up and down "
          f"through MinIO: " + ", ".join(f"{k} +{v}" for k, v in delta.items()))

    # Both URLs point at MinIO, not at hibikid.
    assert up["upload_url"].startswith(endpoint + "/") and got["download_url"].startswith(
        endpoint + "/"), (up["upload_url"], got["download_url"])
    assert not up["upload_url"].startswith(server.url)
    # MinIO holds the object, seen with its own credentials: the bytes did move, and there.
    # (MinIO's own write count grew by the file at least: it stored them.)
    minio_wrote = proc_io(minio_pid)["wchar"] - minio_before
    print(f"MinIO (pid {minio_pid}) wchar +{minio_wrote}")
    assert minio_wrote >= FILE_SIZE, minio_wrote
    key = object_key(up["upload_url"], bucket)
    head = minio_head(endpoint, bucket, key, credentials)
    assert head.status_code == 200 and int(head.headers["Content-Length"]) == FILE_SIZE, head
    # What came back is what went up.
    assert got_sha == sent_sha
    # hibikid read and wrote a small fraction of the file meanwhile: through files and pipes
    # (rchar, wchar) and through its sockets (strace's count).
    assert delta["rchar"] < BYPASS_BOUND, delta
    assert delta["wchar"] < BYPASS_BOUND, delta
    assert delta["socket_bytes"] < BYPASS_BOUND, delta
    assert delta["syscall_bytes"] < BYPASS_BOUND, delta


def test_the_instrument_sees_bytes_that_do_pass_through_hibikid(server_factory, tmp_path):
    """The control: on the directory store hibikid's own listener receives the PUT and serves the
    GET, and /proc/PID/io shows the whole file read and written (so the bound above is not met
    by an instrument that sees nothing)."""
    server = server_factory("--max-file-size", str(FILE_SIZE))
    delta, up, _, sent_sha, got_sha = upload_and_download(server, tmp_path)
    print(f"\nhibikid /proc/{server.proc.pid}/io while {FILE_SIZE} bytes went up and down "
          f"through its directory store: " + ", ".join(f"{k} +{v}" for k, v in delta.items()))
    assert up["upload_url"].startswith(server.url + "/files/")
    assert got_sha == sent_sha
    # In through the socket and into the file; out of the file and through the socket.
    assert delta["rchar"] >= FILE_SIZE, delta
    assert delta["wchar"] >= FILE_SIZE, delta
    assert delta["socket_bytes"] >= 2 * FILE_SIZE, delta


# ---- the store goes down -----------------------------------------------------------------------


class PrivateMinio:
    """A MinIO of this test alone (scripts/test-minio's layout: free ports, its own data dir),
    which the test may stop and start again on the same port and data."""

    def __init__(self, directory):
        self.dir = str(directory)
        subprocess.run([os.path.join(SCRIPTS, "test-minio"), "start", self.dir], check=True,
                       stdout=subprocess.DEVNULL, timeout=300)
        self.endpoint, self.bucket, self.credentials = (
            open(os.path.join(self.dir, "endpoint")).read().strip(),
            open(os.path.join(self.dir, "bucket")).read().strip(),
            os.path.join(self.dir, "credentials"))

    def _minio(self, command):
        subprocess.run(["bash", "-c", f'source "{self.dir}/env" && "{SCRIPTS}/minio" {command}'],
                       check=True, stdout=subprocess.DEVNULL, timeout=300)

    def stop(self):
        self._minio("stop")

    def start(self):
        self._minio("start")

    def serving(self):
        try:
            return requests.get(self.endpoint + "/minio/health/ready", timeout=2).status_code == 200
        except requests.ConnectionError:
            return False

    def remove(self):
        subprocess.run([os.path.join(SCRIPTS, "test-minio"), "stop", self.dir], timeout=120)


@pytest.fixture
def private_minio(tmp_path):
    m = PrivateMinio(tmp_path / "minio")
    yield m
    m.remove()


BREAKER_OPEN = "object store circuit breaker opened"
BREAKER_CLOSED = "object store circuit breaker closed"
# The breaker's reset timeout in this test: long enough that the checks made while it is open
# (a handful of requests) finish well inside it, short enough to wait for.
RESET_MS = 8000


def retried_until(client, op, accept, what, timeout=60.0, **fields):
    """Sends `op` until `accept(reply)`; returns that reply. The store's answers change over time
    (breaker states, a server coming back), so the test polls with a deadline."""
    last = []

    def attempt():
        r = client.request(op, **fields)
        last[:] = [r]
        return r if accept(r) else None

    return wait_for(attempt, lambda: f"{what} (last reply {last!r})", timeout)


def log_line(server, text):
    """The first line of hibikid's log (its stderr) holding `text`, polled with a deadline."""

    def find():
        with open(server.stderr_path, "rb") as f:
            for line in f.read().decode("utf-8", "replace").splitlines():
                if text in line:
                    return line
        return None

    return wait_for(find, lambda: f"no {text!r} in hibikid's log: {server.stderr_tail()}", 15)


def error_code(r):
    return None if r.get("ok") else r["error"]["code"]


@needs_minio
def test_store_down_files_unavailable_chat_works_and_files_come_back(server_factory, tmp_path,
                                                                      private_minio):
    m = private_minio
    server = server_factory(*s3_flags(m.endpoint, m.bucket, m.credentials),
                            "--breaker-max-failures=2", f"--breaker-reset-timeout={RESET_MS}")
    alice, bob = server.user("alice"), server.user("bob")
    room = room_of(alice, bob)

    # Files work while the store is up.
    up1 = bob.ok("request_upload", room_id=room, filename="one.txt", size=3,
                 content_type="text/plain")
    assert requests.put(up1["upload_url"], data=b"one", timeout=30,
                        headers={"Content-Type": "text/plain"}).status_code == 200
    bob.ok("complete_upload", room_id=room, file_id=up1["file_id"])
    alice.ok("get_file", room_id=room, file_id=up1["file_id"], download_url=True)
    # An upload whose bytes are in the store but whose completion comes while it is down.
    up2 = bob.ok("request_upload", room_id=room, filename="two.txt", size=3,
                 content_type="text/plain")
    assert requests.put(up2["upload_url"], data=b"two", timeout=30,
                        headers={"Content-Type": "text/plain"}).status_code == 200

    m.stop()
    assert not m.serving()

    # Completing needs the store's HEAD: unavailable, with the store's own reason, until the
    # failures in a row open the breaker.
    first = bob.fail("complete_upload", "unavailable", room_id=room, file_id=up2["file_id"])
    assert first["error"]["message"], first
    retried_until(bob, "complete_upload",
                  lambda r: error_code(r) == "unavailable" and "circuit breaker is open" in
                  r["error"]["message"], "complete_upload refused by the open breaker",
                  room_id=room, file_id=up2["file_id"])
    opened = log_line(server, BREAKER_OPEN)
    assert "Connection refused" in opened or "cannot connect" in opened, opened

    # While open, signing is refused too (a URL to a store known to be down is no use), with a
    # message that says what is wrong and that chat is unaffected.
    for op, fields in (("request_upload", dict(filename="three.txt", size=3,
                                               content_type="text/plain")),
                       ("get_file", dict(file_id=up1["file_id"], download_url=True)),
                       ("complete_upload", dict(file_id=up2["file_id"]))):
        r = bob.fail(op, "unavailable", room_id=room, **fields)
        assert "circuit breaker is open" in r["error"]["message"], r
        assert "chat keeps working" in r["error"]["message"], r

    # What needs no store still answers: the file's metadata and the list.
    meta = alice.ok("get_file", room_id=room, file_id=up1["file_id"])
    assert meta["file"]["filename"] == "one.txt" and "download_url" not in meta
    assert [f["file_id"] for f in alice.ok("list_files", room_id=room)["files"]] == [
        up1["file_id"]]

    # Chat keeps working: a message is sent and pushed, and a sync replays the room.
    sent = alice.ok("send_message", room_id=room, body="the store is down, we are not",
                    client_msg_id="down-1")
    pushed = bob.next_event("message_created", pred=lambda e: e["message"]["message_id"] ==
                            sent["message_id"])
    assert pushed["message"]["body"] == "the store is down, we are not"
    carol = server.connect(bob.token)
    carol.ok("sync", since={str(room): 0})
    carol.events_until("synced")
    assert server.healthz() == 200

    # The store comes back. The breaker lets one trial through after its reset timeout; until
    # then the file ops still answer unavailable, after it they work again.
    m.start()
    assert m.serving()
    done = retried_until(bob, "complete_upload", lambda r: r.get("ok"),
                         "complete_upload once the store is back", timeout=RESET_MS / 1000 + 60,
                         room_id=room, file_id=up2["file_id"])
    log_line(server, BREAKER_CLOSED)
    got = alice.ok("get_file", room_id=room, file_id=up2["file_id"], download_url=True)
    assert got["file"]["message_id"] == done["message_id"]
    r = requests.get(got["download_url"], timeout=30)
    assert r.status_code == 200 and r.content == b"two"
    up3 = bob.ok("request_upload", room_id=room, filename="three.txt", size=5,
                 content_type="text/plain")
    assert requests.put(up3["upload_url"], data=b"three", timeout=30,
                        headers={"Content-Type": "text/plain"}).status_code == 200
    bob.ok("complete_upload", room_id=room, file_id=up3["file_id"])
    assert [f["file_id"] for f in alice.ok("list_files", room_id=room)["files"]] == [
        up1["file_id"], up2["file_id"], up3["file_id"]]
