"""`hibiki upload` and `hibiki download` end to end: the real `hibiki` binary against a real
hibikid, on its default (directory) store and on MinIO (the `minio` CTest fixture; the tests
whose id says `minio`). The CLI runs as a user would run it (stdout, stderr, exit codes); what it
did is checked through a Python WebSocket client and plain HTTP, which nobody here wrote.

The store's failures that a real store cannot be made to show on demand (a HEAD answering 503, a
GET cut short) come from `FakeStore`, a tiny HTTP server standing in for S3 at --s3-endpoint."""

import hashlib
import http.client
import http.server
import os
import pty
import signal
import socket
import subprocess
import threading
import urllib.parse

import pytest

from conftest import CLI, needs_cli, wait_for

pytestmark = needs_cli

MINIO_DIR = os.environ.get("HIBIKI_TEST_MINIO_DIR")
MAX_FILE = 64 * 1024 * 1024
needs_minio = pytest.mark.skipif(MINIO_DIR is None, reason="run by CTest with the minio fixture")


def minio_flags(secret=None, tmp_path=None):
    endpoint = open(os.path.join(MINIO_DIR, "endpoint")).read().strip()
    bucket = open(os.path.join(MINIO_DIR, "bucket")).read().strip()
    credentials = os.path.join(MINIO_DIR, "credentials")
    if secret is not None:  # the right access key with another secret: signatures do not match
        text = open(credentials).read()
        access = [l.split("=", 1)[1].strip() for l in text.splitlines()
                  if l.startswith("access_key")][0]
        credentials = write_credentials(tmp_path, access, secret)
    return [f"--s3-endpoint={endpoint}", f"--s3-bucket={bucket}",
            f"--s3-credentials-file={credentials}"]


def write_credentials(tmp_path, access, secret):
    path = os.path.join(str(tmp_path), "s3-credentials")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(f"access_key = {access}\nsecret_key = {secret}\n")
    return path


@pytest.fixture(params=["directory", pytest.param("minio", marks=needs_minio)])
def files_server(request, server_factory):
    flags = ["--max-file-size", str(MAX_FILE)]
    if request.param == "minio":
        flags += minio_flags()
    return server_factory(*flags)


def cli_env():
    env = dict(os.environ)
    env.pop("HIBIKI_TOKEN", None)
    env["HIBIKI_CONFIG"] = os.devnull  # never a stored token of the machine
    return env


def cli_argv(server, token, *args):
    argv = [CLI, "--server", server.url]
    if server.tls_certs is not None:
        argv += ["--ca-file", server.tls_certs["ca"]]
    if token is not None:
        argv += ["--token", token]
    return argv + [str(a) for a in args]


def cli(server, token, *args, cwd=None, text=True, timeout=60, stderr=subprocess.PIPE):
    return subprocess.run(cli_argv(server, token, *args), stdout=subprocess.PIPE, stderr=stderr,
                          text=text, env=cli_env(), cwd=cwd, timeout=timeout)


def fields(stdout):
    """`key: value` lines as a dict."""
    return dict(line.split(": ", 1) for line in stdout.splitlines() if ": " in line)


def sha(path_or_bytes):
    if isinstance(path_or_bytes, bytes):
        return hashlib.sha256(path_or_bytes).hexdigest()
    with open(path_or_bytes, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def random_file(path, size):
    with open(path, "wb") as f:
        f.write(os.urandom(size))
    return str(path)


def http_get(url, server):
    u = urllib.parse.urlsplit(url)
    if u.scheme == "https":  # the directory store of a server with TLS (HIBIKI_E2E_TLS)
        conn = http.client.HTTPSConnection(u.hostname, u.port, timeout=30,
                                           context=server.ssl_context)
    else:
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    try:
        conn.request("GET", u.path + ("?" + u.query if u.query else ""))
        resp = conn.getresponse()
        return resp.status, dict((k.lower(), v) for k, v in resp.getheaders()), resp.read()
    finally:
        conn.close()


def refused(r, *needles):
    """The command failed with exit 1 and a message on stderr naming each needle."""
    assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
    for n in needles:
        assert n in r.stderr, (n, r.stderr)
    assert r.stderr.startswith("hibiki: "), r.stderr


# ---- the round trip ------------------------------------------------------------------------------


def test_upload_then_download_by_both_forms(files_server, tmp_path):
    server = files_server
    alice, bob, eve = server.user("alice"), server.user("bob"), server.user("eve")
    room = alice.ok("create_room", name="files", members=[bob.account_id])["room_id"]
    bob.take_events()
    src = random_file(tmp_path / "data.bin", 3 * 1024 * 1024 + 17)

    r = cli(server, alice.token, "upload", room, src)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""  # no terminal: no progress line
    out = fields(r.stdout)
    assert out["room_id"] == str(room) and out["file_id"] == "1", r.stdout
    assert out["file"] == f"{room}/1"
    ev = bob.next_event("file_uploaded")
    assert ev["file"]["filename"] == "data.bin" and ev["file"]["size"] == os.path.getsize(src)
    assert ev["file"]["message_id"] == out["message_id"]
    # The content type the CLI guessed is the one the store serves.
    url = bob.ok("get_file", room_id=room, file_id=1, download_url=True)["download_url"]
    st, headers, body = http_get(url, server)
    assert st == 200 and sha(body) == sha(src)
    assert headers["content-type"] == "application/octet-stream"

    # ROOM/FILE, into a directory: the file's own name there.
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    r = cli(server, alice.token, "download", f"{room}/1", out_dir)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"saved {out_dir / 'data.bin'} ({os.path.getsize(src)} bytes)"
    assert sha(out_dir / "data.bin") == sha(src)
    # Another member, FILE --room ROOM, to a path of its choosing.
    r = cli(server, bob.token, "download", "1", "--room", room, out_dir / "bob.bin")
    assert r.returncode == 0, r.stderr
    assert sha(out_dir / "bob.bin") == sha(src)
    # A bare FILE_ID: the only one of bob's rooms that has file 1. No PATH: the current directory.
    here = tmp_path / "here"
    here.mkdir()
    r = cli(server, bob.token, "download", "1", cwd=here)
    assert r.returncode == 0, r.stderr
    assert sha(here / "data.bin") == sha(src)
    # `-`: the bytes on stdout, nothing else there.
    r = cli(server, bob.token, "download", f"{room}/1", "-", text=False)
    assert r.returncode == 0, r.stderr
    assert sha(r.stdout) == sha(src)

    # An existing file is kept unless --force.
    (out_dir / "keep.bin").write_bytes(b"mine")
    r = cli(server, alice.token, "download", f"{room}/1", out_dir / "keep.bin")
    refused(r, "keep.bin exists: pass --force")
    assert (out_dir / "keep.bin").read_bytes() == b"mine"
    r = cli(server, alice.token, "download", f"{room}/1", out_dir / "keep.bin", "--force")
    assert r.returncode == 0, r.stderr
    assert sha(out_dir / "keep.bin") == sha(src)
    # No temporary file is left behind by any of it.
    assert sorted(os.listdir(out_dir)) == ["bob.bin", "data.bin", "keep.bin"]

    # A non-member can neither download it nor find it.
    r = cli(server, eve.token, "download", f"{room}/1", tmp_path / "eve.bin")
    refused(r, f"cannot download file {room}/1", "forbidden")
    r = cli(server, eve.token, "download", "1", tmp_path / "eve.bin")
    refused(r, "no file 1 in any of your rooms")
    assert not (tmp_path / "eve.bin").exists()
    r = cli(server, alice.token, "download", f"{room}/2", tmp_path / "none.bin")
    refused(r, "not_found")

    # File ids count from 1 in each room: a bare id in two rooms is refused, naming both.
    other = alice.ok("create_room", name="other", members=[])["room_id"]
    r = cli(server, alice.token, "upload", other, src, "--content-type", "application/x-test")
    assert r.returncode == 0, r.stderr
    assert fields(r.stdout)["file"] == f"{other}/1"
    url = alice.ok("get_file", room_id=other, file_id=1, download_url=True)["download_url"]
    assert http_get(url, server)[1]["content-type"] == "application/x-test"
    r = cli(server, alice.token, "download", "1", tmp_path / "which.bin")
    refused(r, f"file 1 is in several of your rooms ({room}, {other})",
            f"hibiki download {room}/1")
    assert not (tmp_path / "which.bin").exists()

    # The server keeps working.
    alice.ok("send_message", room_id=room, body="still here", client_msg_id="after-files")
    assert server.healthz() == 200


def test_progress_is_shown_on_a_terminal_only(files_server, tmp_path):
    server = files_server
    alice = server.user("alice")
    room = alice.ok("create_room", name="p", members=[])["room_id"]
    src = random_file(tmp_path / "tty.bin", 1024 * 1024)
    master, slave = pty.openpty()
    try:
        r = cli(server, alice.token, "upload", room, src, stderr=slave)
    finally:
        os.close(slave)
    seen = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: every writer closed
            break
        if not chunk:
            break
        seen += chunk
    os.close(master)
    assert r.returncode == 0, seen
    text = seen.decode(errors="replace")
    assert "uploading tty.bin: 1.0 MiB of 1.0 MiB (100%)" in text, text
    assert fields(r.stdout)["file"] == f"{room}/1"
    # `-` on a terminal would print the bytes there: refused before anything is asked.
    master, slave = pty.openpty()
    try:
        r = subprocess.run(cli_argv(server, alice.token, "download", f"{room}/1", "-"),
                           stdout=slave, stderr=subprocess.PIPE, text=True, env=cli_env(),
                           timeout=60)
    finally:
        os.close(slave)
        os.close(master)
    refused(r, "stdout is a terminal")


def peak_rss_kib(argv, **kwargs):
    """Runs argv under a fresh Python whose only child it is; returns (result, the child's peak
    resident set in KiB)."""
    wrapper = ("import resource, subprocess, sys\n"
               "r = subprocess.run(sys.argv[1:])\n"
               "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)\n"
               "sys.exit(r.returncode)\n")
    r = subprocess.run(["/usr/bin/python3", "-c", wrapper] + argv, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, **kwargs)
    *messages, rss = r.stderr.strip().splitlines()
    r.stderr = "\n".join(messages)
    return r, int(rss)


def test_a_large_file_is_streamed_not_held(files_server, tmp_path):
    """48 MiB up and down: the CLI's peak memory stays far below the file's size."""
    server = files_server
    alice = server.user("alice")
    room = alice.ok("create_room", name="big", members=[])["room_id"]
    size = 48 * 1024 * 1024
    src = random_file(tmp_path / "big.bin", size)
    r, up_rss = peak_rss_kib(cli_argv(server, alice.token, "upload", room, src), env=cli_env(),
                             timeout=300)
    assert r.returncode == 0, r.stderr
    r, down_rss = peak_rss_kib(cli_argv(server, alice.token, "download", f"{room}/1",
                                        tmp_path / "back.bin"), env=cli_env(), timeout=300)
    assert r.returncode == 0, r.stderr
    assert sha(tmp_path / "back.bin") == sha(src)
    assert up_rss < size // 1024 // 3, up_rss
    assert down_rss < size // 1024 // 3, down_rss


# ---- bad input -----------------------------------------------------------------------------------


def test_bad_uploads_say_why_and_store_nothing(files_server, tmp_path):
    server = files_server
    alice, bob, eve, ro = (server.user(n) for n in ("alice", "bob", "eve", "reader"))
    room = alice.ok("create_room", name="r", members=[bob.account_id])["room_id"]
    alice.ok("add_members", room_id=room, account_ids=[ro.account_id], role="readonly")
    ok_file = random_file(tmp_path / "ok.txt", 100)

    # Usage errors: exit 2 before anything is sent.
    for args in (["upload", room], ["upload", "x", ok_file], ["upload", room, ok_file, "extra"],
                 ["upload", room, ok_file, "--content-type", "nonsense"],
                 ["upload", room, ok_file, "--force"]):
        r = cli(server, alice.token, *args)
        assert r.returncode == 2, (args, r.stderr)
        assert "Try 'hibiki --help'" in r.stderr

    # The local file, checked before the server is asked.
    r = cli(server, alice.token, "upload", room, tmp_path / "missing.bin")
    refused(r, "cannot open", "missing.bin", "No such file or directory")
    r = cli(server, alice.token, "upload", room, tmp_path)
    refused(r, "is a directory")
    empty = tmp_path / "empty.bin"
    empty.write_bytes(b"")
    r = cli(server, alice.token, "upload", room, empty)
    refused(r, "empty.bin is empty", "1 byte or more")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)  # no writer: the CLI must not wait for one
    r = cli(server, alice.token, "upload", room, fifo, timeout=20)
    refused(r, "not a regular file")
    unreadable = tmp_path / "secret.bin"
    unreadable.write_bytes(b"x")
    os.chmod(unreadable, 0)
    if os.geteuid() != 0:  # root reads anything
        r = cli(server, alice.token, "upload", room, unreadable)
        refused(r, "cannot open", "Permission denied")

    # The server's refusals, with its code.
    big = tmp_path / "big.bin"
    with open(big, "wb") as f:  # sparse: over the limit without writing it
        f.truncate(MAX_FILE + 1)
    r = cli(server, alice.token, "upload", room, big)
    refused(r, "the server refused the upload", "too_large", str(MAX_FILE))
    r = cli(server, eve.token, "upload", room, ok_file)
    refused(r, "forbidden")
    r = cli(server, ro.token, "upload", room, ok_file)
    refused(r, "forbidden", "read-only")
    r = cli(server, alice.token, "upload", 999999, ok_file)
    refused(r, "not_found")
    bad_name = tmp_path / "a..b.txt"
    bad_name.write_bytes(b"x")
    r = cli(server, alice.token, "upload", room, bad_name)
    refused(r, "bad_request", "..")
    r = cli(server, "0" * 64, "upload", room, ok_file)
    refused(r, "auth failed")

    # Nothing of it reached the room; the server keeps working and a good upload still goes.
    assert alice.ok("list_files", room_id=room)["files"] == []
    r = cli(server, bob.token, "upload", room, ok_file)
    assert r.returncode == 0, r.stderr
    assert [f["filename"] for f in alice.ok("list_files", room_id=room)["files"]] == ["ok.txt"]
    assert alice.next_event("file_uploaded")["file"]["account_id"] == bob.account_id


def test_bad_downloads_say_why(server_factory, tmp_path):
    server = server_factory()
    alice = server.user("alice")
    room = alice.ok("create_room", name="r", members=[])["room_id"]
    src = random_file(tmp_path / "f.bin", 1000)
    assert cli(server, alice.token, "upload", room, src).returncode == 0
    for args in (["download"], ["download", "x"], ["download", "0"], ["download", f"{room}/0"],
                 ["download", f"{room}/1", "--room", room + 1], ["download", "1", "a", "b"],
                 ["download", "1", "--content-type", "a/b"]):
        r = cli(server, alice.token, *args)
        assert r.returncode == 2, (args, r.stderr)
    # Into a directory that does not exist: nothing is fetched, nothing is left.
    r = cli(server, alice.token, "download", f"{room}/1", tmp_path / "no" / "such" / "x.bin")
    refused(r, "cannot create a file in", "No such file or directory")
    # A directory where the file would go.
    (tmp_path / "f.bin.d").mkdir()
    r = cli(server, alice.token, "download", f"{room}/1", tmp_path / "f.bin.d", "--force")
    assert r.returncode == 0, r.stderr  # a directory PATH means "in there"
    assert sha(tmp_path / "f.bin.d" / "f.bin") == sha(src)
    (tmp_path / "d2").mkdir()
    (tmp_path / "d2" / "f.bin").mkdir()
    r = cli(server, alice.token, "download", f"{room}/1", tmp_path / "d2", "--force")
    refused(r, "is a directory")
    assert server.healthz() == 200


def test_download_names_are_made_safe(server_factory, tmp_path):
    """The server's filename (any UTF-8 it accepts) becomes a local name that is not hidden, not
    option-like and shows as what it is."""
    server = server_factory()
    alice = server.user("alice")
    room = alice.ok("create_room", name="r", members=[])["room_id"]
    src_dir = tmp_path / "src"
    src_dir.mkdir()
    names = {
        "報告 2026.pdf": "報告 2026.pdf",
        ".bashrc": "_bashrc",
        "-rf": "_rf",
    }
    # A bidi override is refused by the server itself (the CLI's own defusing of one is in the
    # unit tests, for names stored before the server refused them).
    bidi = src_dir / "evil\u202etxt.exe"
    bidi.write_bytes(b"MZ")
    r = cli(server, alice.token, "upload", room, "--", bidi)
    assert r.returncode == 1 and "bidirectional control characters" in r.stderr, r.stderr
    for n, name in enumerate(names, start=1):
        path = src_dir / name
        path.write_bytes(name.encode() * 10)
        r = cli(server, alice.token, "upload", room, "--", path)
        assert r.returncode == 0, (name, r.stderr)
        assert fields(r.stdout)["file_id"] == str(n)
    # The filename is the path's base name, as sent, and the type is guessed from it.
    files = alice.ok("list_files", room_id=room)["files"]
    assert [f["filename"] for f in files] == list(names)
    url = alice.ok("get_file", room_id=room, file_id=1, download_url=True)["download_url"]
    assert http_get(url, server)[1]["content-type"] == "application/pdf"
    here = tmp_path / "here"
    here.mkdir()
    for n, (name, local) in enumerate(names.items(), start=1):
        r = cli(server, alice.token, "download", f"{room}/{n}", cwd=here)
        assert r.returncode == 0, (name, r.stderr)
        assert (here / local).read_bytes() == name.encode() * 10
    assert sorted(os.listdir(here)) == sorted(names.values())


# ---- the store failing ---------------------------------------------------------------------------


@needs_minio
def test_minio_refusing_the_put_is_shown_with_its_code(server_factory, tmp_path):
    """hibikid signs with a wrong secret: MinIO refuses the PUT (403 SignatureDoesNotMatch), and
    the CLI says so and completes nothing."""
    server = server_factory("--max-file-size", str(MAX_FILE),
                            *minio_flags(secret="not-the-secret-key", tmp_path=tmp_path))
    alice = server.user("alice")
    room = alice.ok("create_room", name="r", members=[])["room_id"]
    src = random_file(tmp_path / "x.bin", 2 * 1024 * 1024)
    r = cli(server, alice.token, "upload", room, src)
    refused(r, "the store refused the upload: HTTP 403 SignatureDoesNotMatch",
            "nothing was stored")
    assert alice.ok("list_files", room_id=room)["files"] == []
    alice.ok("send_message", room_id=room, body="chat works", client_msg_id="m1")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_store(server_factory, tmp_path):
    """--s3-endpoint on a port nobody listens on: signing needs no store, the PUT cannot connect."""
    port = free_port()
    creds = write_credentials(tmp_path, "AKIDEXAMPLE", "secret")
    server = server_factory(f"--s3-endpoint=http://127.0.0.1:{port}", "--s3-bucket=hibiki-test",
                            f"--s3-credentials-file={creds}")
    alice = server.user("alice")
    room = alice.ok("create_room", name="r", members=[])["room_id"]
    src = random_file(tmp_path / "x.bin", 1000)
    r = cli(server, alice.token, "upload", room, src)
    refused(r, f"cannot reach the store at 127.0.0.1:{port}", "Connection refused",
            "nothing was stored")
    alice.ok("send_message", room_id=room, body="chat works", client_msg_id="m1")
    assert server.healthz() == 200


class FakeStore:
    """An HTTP server at --s3-endpoint that keeps PUT bodies in memory and fails as told:
    `head_status` for HEAD, `put_refusal` (status, S3 code) for PUT, `get_mode` "ok", "short"
    (a Content-Length larger than the bytes sent, then close), "long" (7 bytes more than the
    object), "stall" (half the body, then silence) or "missing" (404 NoSuchKey). It
    checks no signature: it stands in for a store's failures, not for its security."""

    def __init__(self):
        self.objects = {}
        self.head_status = 200
        self.put_refusal = None
        self.get_mode = "ok"
        self.release = threading.Event()  # ends a "stall" GET
        self.put_delay = 0.0  # seconds a PUT's answer waits after its body arrived
        store = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def key(self):
                return urllib.parse.urlsplit(self.path).path

            def error(self, status, code):
                body = (f"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code>"
                        f"<Message>the fake store says {code}</Message></Error>").encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/xml")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(body)

            def do_PUT(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if store.put_refusal:
                    return self.error(*store.put_refusal)
                store.objects[self.key()] = (body, self.headers["Content-Type"])
                if store.put_delay:
                    store.release.wait(store.put_delay)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_HEAD(self):
                obj = store.objects.get(self.key())
                status = store.head_status if obj else 404
                self.send_response(status)
                if obj and status == 200:
                    self.send_header("Content-Length", str(len(obj[0])))
                    self.send_header("Content-Type", obj[1])
                else:
                    self.send_header("Content-Length", "0")
                self.end_headers()

            def do_GET(self):
                obj = store.objects.get(self.key())
                if obj is None or store.get_mode == "missing":
                    return self.error(404, "NoSuchKey")
                data = obj[0] + (b"surplus" if store.get_mode == "long" else b"")
                self.send_response(200)
                self.send_header("Content-Type", obj[1])
                self.send_header("Content-Length", str(len(data)))
                if store.get_mode == "stall":  # half the body, then silence until released
                    self.end_headers()
                    self.wfile.write(data[: len(data) // 2])
                    self.wfile.flush()
                    store.release.wait(60)
                    self.close_connection = True
                    return
                if store.get_mode == "short":
                    self.send_header("Connection", "close")
                    self.end_headers()
                    self.wfile.write(data[: len(data) // 2])
                    self.close_connection = True
                    return
                self.end_headers()
                self.wfile.write(data)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def fake_store():
    store = FakeStore()
    yield store
    store.close()


def test_a_put_longer_than_the_idle_timeout_still_completes(server_factory, fake_store,
                                                            tmp_path):
    """hibikid closes a WebSocket silent for --idle-timeout; the PUT takes longer than that (the
    store answers 3 s after the body), so the upload must complete on a connection of its own."""
    creds = write_credentials(tmp_path, "AKIDEXAMPLE", "secret")
    server = server_factory(f"--s3-endpoint=http://127.0.0.1:{fake_store.port}",
                            "--s3-bucket=hibiki-test", f"--s3-credentials-file={creds}",
                            "--idle-timeout", "1")
    alice = server.user("alice")
    room = alice.ok("create_room", name="r", members=[])["room_id"]
    fake_store.put_delay = 3.0
    r = cli(server, alice.token, "upload", room, random_file(tmp_path / "slow.bin", 1000))
    assert r.returncode == 0, r.stderr
    assert fields(r.stdout)["file"] == f"{room}/1"


def test_store_failures_through_a_fake_store(server_factory, fake_store, tmp_path):
    creds = write_credentials(tmp_path, "AKIDEXAMPLE", "secret")
    server = server_factory(f"--s3-endpoint=http://127.0.0.1:{fake_store.port}",
                            "--s3-bucket=hibiki-test", f"--s3-credentials-file={creds}")
    alice = server.user("alice")
    room = alice.ok("create_room", name="r", members=[])["room_id"]
    src = random_file(tmp_path / "x.bin", 200_000)

    # The store refuses the PUT: its status and S3 code are shown, nothing is completed.
    fake_store.put_refusal = (403, "AccessDenied")
    r = cli(server, alice.token, "upload", room, src)
    refused(r, "the store refused the upload: HTTP 403 AccessDenied: the fake store says")
    assert fake_store.objects == {}
    assert alice.ok("list_files", room_id=room)["files"] == []

    # The PUT goes through but the server cannot check the store: its `unavailable` is shown.
    fake_store.put_refusal = None
    fake_store.head_status = 503
    r = cli(server, alice.token, "upload", room, src)
    refused(r, "the bytes were stored, but completing the upload failed", "unavailable",
            "(upload again later)")
    assert len(fake_store.objects) == 1
    assert alice.ok("list_files", room_id=room)["files"] == []

    # Once the store answers again, an upload completes (the breaker may need its pause first,
    # so completing is retried on that `unavailable` only).
    fake_store.head_status = 200
    for _ in range(40):
        r = cli(server, alice.token, "upload", room, src)
        if r.returncode == 0 or "unavailable" not in r.stderr:
            break
        threading.Event().wait(0.5)
    assert r.returncode == 0, r.stderr
    ref = fields(r.stdout)["file"]

    # Downloads: a store without the object, and one that cuts the body short.
    out = tmp_path / "out"
    out.mkdir()
    fake_store.get_mode = "missing"
    r = cli(server, alice.token, "download", ref, out / "a.bin")
    refused(r, "the store refused the download: HTTP 404 NoSuchKey")
    fake_store.get_mode = "short"
    r = cli(server, alice.token, "download", ref, out / "a.bin")
    refused(r, "the download from the store failed")
    fake_store.get_mode = "long"  # a whole answer, but not of the file's size
    r = cli(server, alice.token, "download", ref, out / "a.bin")
    refused(r, f"the store sent {200_007} bytes, but file {ref} has 200000")
    assert os.listdir(out) == []  # no partial file, no temporary file
    # Interrupted (Ctrl-C) in the middle of the body: the temporary file goes too.
    fake_store.get_mode = "stall"
    proc = subprocess.Popen(cli_argv(server, alice.token, "download", ref, out / "a.bin"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=cli_env())
    try:
        wait_for(lambda: any(n.startswith(".hibiki-download-") and
                             os.path.getsize(out / n) > 0 for n in os.listdir(out)),
                 "the download's temporary file with the first bytes in it")
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == -signal.SIGINT
    finally:
        if proc.poll() is None:
            proc.kill()
        fake_store.release.set()
    assert os.listdir(out) == []
    fake_store.get_mode = "ok"
    r = cli(server, alice.token, "download", ref, out / "a.bin")
    assert r.returncode == 0, r.stderr
    assert sha(out / "a.bin") == sha(src)
    assert server.healthz() == 200
