"""Chatwork's POST /v2/rooms/{id}/files against a real hibikid: a multipart upload (sent by
`requests` as curl -F would) streamed through hibikid to its object store, ending as the
WebSocket flow ends (message_created with the form's message and [download:ID], file_uploaded,
the files read models, file_num); then GET files, GET file?create_download_url=1 and the bytes
downloaded and compared by SHA-256. Every bad input gets Chatwork's {"errors": [...]} and the
server keeps serving. On the directory store, and on MinIO with the `minio` fixture."""

import hashlib
import json
import os
import socket
import subprocess

import pytest
import requests

from test_rest import Rest

CAP = 5 * 1024 * 1024  # Chatwork's 5 MB, as hibikid counts it
BOUNDARY = "hibikiTestBoundary9f3a"
MINIO_DIR = os.environ.get("HIBIKI_TEST_MINIO_DIR")


def http():
    s = requests.Session()
    s.trust_env = False  # the server is on loopback: no proxy from the environment
    return s


def upload(server, token, room, filename, data, message=None,
           content_type="application/octet-stream"):
    """The upload as Chatwork's docs show it (curl -F file=@... -F message=...)."""
    form = {"message": message} if message is not None else None
    return http().post(f"{server.url}/v2/rooms/{room}/files",
                       headers={"X-ChatWorkToken": token},
                       files={"file": (filename, data, content_type)}, data=form, timeout=60)


def form_body(*parts, boundary=BOUNDARY, close=True):
    """A multipart body made by hand (for what `requests` would not send): parts are
    (header lines, bytes)."""
    out = b""
    for headers, data in parts:
        out += b"--" + boundary.encode() + b"\r\n"
        for h in headers:
            out += h.encode() if isinstance(h, str) else h
            out += b"\r\n"
        out += b"\r\n" + data + b"\r\n"
    if close:
        out += b"--" + boundary.encode() + b"--\r\n"
    return out


def file_part(filename, data, content_type="text/plain"):
    name = filename if isinstance(filename, bytes) else filename.encode()
    return ([b'Content-Disposition: form-data; name="file"; filename="' + name + b'"',
             f"Content-Type: {content_type}"], data)


def message_part(text):
    return (['Content-Disposition: form-data; name="message"'], text.encode())


def post_raw(server, token, room, body, content_type=f"multipart/form-data; boundary={BOUNDARY}"):
    headers = {"Content-Type": content_type}
    if token is not None:
        headers["X-ChatWorkToken"] = token
    return http().post(f"{server.url}/v2/rooms/{room}/files", headers=headers, data=body,
                       timeout=60)


def refused(resp, status, words):
    assert resp.status_code == status, (resp.status_code, resp.text)
    errors = resp.json()["errors"]
    assert len(errors) == 1 and words.lower() in errors[0].lower(), errors
    return errors[0]


def raw_exchange(server, head, body=b"", half_close=False):
    """Sends `head` (the request line and headers, without the blank line) and `body` on a plain
    socket; returns (status, parsed JSON body)."""
    with socket.create_connection((server.host, server.port), timeout=30) as s:
        s.sendall(head.encode() + b"\r\n\r\n" + body)
        if half_close:
            s.shutdown(socket.SHUT_WR)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(65536)
            assert chunk, data
            data += chunk
        header, rest = data.split(b"\r\n\r\n", 1)
        lines = header.decode().split("\r\n")
        length = int([h.split(":", 1)[1] for h in lines if h.lower().startswith("content-length")][0])
        while len(rest) < length:
            chunk = s.recv(65536)
            assert chunk
            rest += chunk
        return int(lines[0].split()[1]), json.loads(rest[:length])


def make_room(rest, others=(), readonly=()):
    form = {"name": "files", "members_admin_ids": str(rest_account(rest))}
    if others:
        form["members_member_ids"] = ",".join(str(a) for a in others)
    if readonly:
        form["members_readonly_ids"] = ",".join(str(a) for a in readonly)
    return rest.ok("POST", "/rooms", form=form)["room_id"]


def rest_account(rest):
    return rest.ok("GET", "/me")["account_id"]


def sha(data):
    return hashlib.sha256(data).hexdigest()


def download(url):
    r = http().get(url, timeout=60)
    assert r.status_code == 200, (r.status_code, r.text[:200])
    return r


def uploads_and_downloads(server):
    """The whole flow; returns what the checks after it need."""
    alice, bob = server.user("alice"), server.user("bob")
    ra, rb = Rest(server, alice.token), Rest(server, bob.token)
    room = make_room(ra, others=[bob.account_id])
    data = os.urandom(3 * 1024 * 1024 + 17)
    resp = upload(server, bob.token, room, "報告 2026.bin", data, message="see the report")
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"file_id": 1}

    # The same events as the WebSocket flow: the message (with the form's message first), then
    # file_uploaded.
    created = alice.next_event("message_created")
    assert created["message"]["body"] == "see the report\n[download:1]報告 2026.bin[/download]"
    ev = alice.next_event("file_uploaded")
    assert ev["room_id"] == room and ev["file"]["file_id"] == 1
    assert ev["file"]["size"] == len(data) and ev["file"]["account_id"] == bob.account_id
    assert ev["file"]["message_id"] == created["message"]["message_id"]

    listed = ra.ok("GET", f"/rooms/{room}/files")
    assert [(f["file_id"], f["filename"], f["filesize"]) for f in listed] == [
        (1, "報告 2026.bin", len(data))]
    assert listed[0]["account"]["account_id"] == bob.account_id
    one = ra.ok("GET", f"/rooms/{room}/files/1", query={"create_download_url": "1"})
    got = download(one["download_url"])
    assert sha(got.content) == sha(data)
    assert "UTF-8''%E5%A0%B1%E5%91%8A%202026.bin" in got.headers["content-disposition"]

    # file_num counts the visible files, in the list and in the room.
    assert [r["file_num"] for r in ra.ok("GET", "/rooms") if r["room_id"] == room] == [1]
    assert ra.ok("GET", f"/rooms/{room}")["file_num"] == 1
    assert rb.ok("GET", f"/rooms/{room}")["file_num"] == 1

    # Without a message part: only the [download] line. Exactly the cap is taken.
    at_cap = os.urandom(CAP)
    resp = upload(server, alice.token, room, "cap.bin", at_cap)
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"file_id": 2}
    assert alice.next_event("message_created")["message"]["body"] == "[download:2]cap.bin[/download]"
    one = ra.ok("GET", f"/rooms/{room}/files/2", query={"create_download_url": "1"})
    assert sha(download(one["download_url"]).content) == sha(at_cap)
    assert ra.ok("GET", f"/rooms/{room}")["file_num"] == 2

    # Deleting the message hides the file; file_num follows.
    rb.ok("DELETE", f"/rooms/{room}/messages/{created['message']['message_id']}")
    assert [r["file_num"] for r in ra.ok("GET", "/rooms") if r["room_id"] == room] == [1]
    assert ra.ok("GET", f"/rooms/{room}")["file_num"] == 1
    return alice, bob, room


def test_rest_upload_then_download(server_factory):
    uploads_and_downloads(server_factory())


def test_rest_upload_keeps_the_connection_for_the_next_request(server_factory):
    server = server_factory()
    alice = server.user("alice")
    room = make_room(Rest(server, alice.token))
    s = http()
    url = f"{server.url}/v2/rooms/{room}/files"
    for i in range(3):
        r = s.post(url, headers={"X-ChatWorkToken": alice.token},
                   files={"file": (f"n{i}.txt", b"x" * (i + 1), "text/plain")}, timeout=60)
        assert r.status_code == 200 and r.json() == {"file_id": i + 1}, r.text
    r = s.get(f"{server.url}/v2/rooms/{room}/files", headers={"X-ChatWorkToken": alice.token})
    assert sorted(f["filesize"] for f in r.json()) == [1, 2, 3]


def test_rest_upload_with_curl_as_chatworks_docs_show(server_factory, tmp_path):
    # curl -F: a 2 MB body goes with Expect: 100-continue, answered before curl sends it.
    server = server_factory()
    alice = server.user("alice")
    ra = Rest(server, alice.token)
    room = make_room(ra)
    data = os.urandom(2 * 1024 * 1024)
    path = tmp_path / "photo.jpg"
    path.write_bytes(data)
    out = subprocess.run(
        ["curl", "-sS", "--noproxy", "*", "-v", "-X", "POST", "-H",
         f"X-ChatWorkToken: {alice.token}", "-F", f"file=@{path}", "-F", "message=from curl",
         f"{server.url}/v2/rooms/{room}/files"], capture_output=True, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout) == {"file_id": 1}
    assert b"100 Continue" in out.stderr  # the header was accepted before the body was sent
    one = ra.ok("GET", f"/rooms/{room}/files/1", query={"create_download_url": "1"})
    assert one["filename"] == "photo.jpg"
    assert sha(download(one["download_url"]).content) == sha(data)


def test_rest_upload_with_a_chunked_body(server_factory):
    # No Content-Length: the body arrives in chunks (requests sends a generator so), read and
    # capped as it comes.
    server = server_factory()
    alice = server.user("alice")
    ra = Rest(server, alice.token)
    room = make_room(ra)
    data = os.urandom(1_000_003)
    body = form_body(message_part("chunked"), file_part("c.bin", data, "application/octet-stream"))

    def pieces(blob, size=4096):
        for at in range(0, len(blob), size):
            yield blob[at:at + size]

    resp = post_raw(server, alice.token, room, pieces(body))
    assert resp.status_code == 200 and resp.json() == {"file_id": 1}, resp.text
    one = ra.ok("GET", f"/rooms/{room}/files/1", query={"create_download_url": "1"})
    assert sha(download(one["download_url"]).content) == sha(data)
    big = form_body(file_part("big.bin", b"z" * (CAP + 1)))
    refused(post_raw(server, alice.token, room, pieces(big, 65536)), 413, str(CAP))


def test_rest_upload_bad_inputs(server_factory):
    server = server_factory()
    alice, eve, reader = server.user("alice"), server.user("eve"), server.user("reader")
    ra = Rest(server, alice.token)
    room = make_room(ra, readonly=[reader.account_id])
    ok_body = form_body(file_part("a.txt", b"hello"))

    # Not multipart, no boundary, malformed.
    refused(http().post(f"{server.url}/v2/rooms/{room}/files",
                        headers={"X-ChatWorkToken": alice.token}, data={"message": "hi"}),
            400, "multipart/form-data")
    refused(post_raw(server, alice.token, room, ok_body, content_type="multipart/form-data"), 400,
            "boundary")
    refused(post_raw(server, alice.token, room, b"this is not a multipart body at all"), 400,
            "closing boundary")
    refused(post_raw(server, alice.token, room, form_body(file_part("a.txt", b"x"), close=False)),
            400, "closing boundary")
    refused(post_raw(server, alice.token, room,
                     form_body((["X-No-Disposition: 1"], b"x"))), 400, "content-disposition")
    # No file part, two file parts, an empty file, a file part without a filename.
    refused(post_raw(server, alice.token, room, form_body(message_part("only words"))), 400,
            'named "file"')
    refused(post_raw(server, alice.token, room,
                     form_body(file_part("a.txt", b"1"), file_part("b.txt", b"2"))), 400,
            'two parts named "file"')
    refused(post_raw(server, alice.token, room, form_body(file_part("a.txt", b""))), 400, "empty")
    refused(post_raw(server, alice.token, room,
                     form_body((['Content-Disposition: form-data; name="file"'], b"x"))), 400,
            "no filename")
    # A message the room would refuse: not UTF-8, or too long with the [download] line.
    refused(post_raw(server, alice.token, room,
                     form_body((['Content-Disposition: form-data; name="message"'], b"\xff\xfe"),
                               file_part("a.txt", b"x"))), 400, "utf-8")
    refused(post_raw(server, alice.token, room,
                     form_body(message_part("m" * 65_530), file_part("a.txt", b"x"))), 413,
            "65535")
    # Bad filenames, as the room refuses them.
    for name in ["a/b.txt", "..", "../etc/passwd", "tab\there", b"bell\x07.txt", "n" * 256]:
        refused(post_raw(server, alice.token, room, form_body(file_part(name, b"x"))), 400,
                "filename")
    # Over the cap: the file part is refused as soon as it passes 5 MiB.
    refused(upload(server, alice.token, room, "big.bin", b"b" * (CAP + 1)), 413, str(CAP))
    # A Content-Length over the cap is refused before the body is read (none is sent here).
    status, body = raw_exchange(
        server, f"POST /v2/rooms/{room}/files HTTP/1.1\r\nHost: x\r\n"
                f"X-ChatWorkToken: {alice.token}\r\n"
                f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
                f"Content-Length: {100 * CAP}")
    assert status == 413 and str(CAP) in body["errors"][0], body
    # So is one with Expect: 100-continue (curl's way for large bodies), before any 100.
    status, body = raw_exchange(
        server, f"POST /v2/rooms/{room}/files HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                f"X-ChatWorkToken: {alice.token}\r\n"
                f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
                f"Content-Length: {CAP + 2 * 1024 * 1024}")
    assert status == 413, body
    # A body cut short: the client stops before its Content-Length.
    status, body = raw_exchange(
        server, f"POST /v2/rooms/{room}/files HTTP/1.1\r\nHost: x\r\n"
                f"X-ChatWorkToken: {alice.token}\r\n"
                f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
                f"Content-Length: {len(ok_body) + 1000}", ok_body[:40], half_close=True)
    assert status == 400 and "cut short" in body["errors"][0], body

    # Who may upload: no token, a bad token, a non-member, a read-only member, no such room.
    refused(post_raw(server, None, room, ok_body), 401, "token")
    refused(post_raw(server, "0" * 64, room, ok_body), 401, "token")
    refused(post_raw(server, eve.token, room, ok_body), 403, "")
    refused(post_raw(server, reader.token, room, ok_body), 403, "read-only")
    st = post_raw(server, alice.token, 999_999, ok_body).status_code
    assert st in (403, 404), st
    refused(post_raw(server, alice.token, "x", ok_body), 400, "")

    # Nothing of the above was stored or posted, and everything still works.
    assert Rest(server, alice.token).call("GET", f"/rooms/{room}/files")[0] == 204
    assert ra.ok("GET", f"/rooms/{room}")["file_num"] == 0
    assert server.healthz() == 200
    # (The too-long message was refused after request_upload, whose length check needs the file
    # id: file 1 stays pending, unstored, until it expires.)
    resp = post_raw(server, alice.token, room, form_body(message_part("fine"), file_part("a.txt",
                                                                                        b"hello")))
    assert resp.status_code == 200 and resp.json() == {"file_id": 2}, resp.text
    assert [f["filename"] for f in ra.ok("GET", f"/rooms/{room}/files")] == ["a.txt"]


def test_rest_upload_under_a_lower_max_file_size(server_factory):
    server = server_factory("--max-file-size", "1000")
    alice = server.user("alice")
    room = make_room(Rest(server, alice.token))
    refused(upload(server, alice.token, room, "a.bin", b"a" * 1001), 413, "1000")
    assert upload(server, alice.token, room, "a.bin", b"a" * 1000).status_code == 200


def test_rest_upload_with_the_store_down(server_factory, monkeypatch):
    # An S3 store nobody listens on: signing works, the put fails.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("HIBIKI_S3_ACCESS_KEY", "test-access-key")
    monkeypatch.setenv("HIBIKI_S3_SECRET_KEY", "test-secret-key-for-a-store-that-is-down")
    server = server_factory(f"--s3-endpoint=http://127.0.0.1:{port}", "--s3-bucket=down",
                            "--breaker-max-failures=2", "--breaker-reset-timeout=600000")
    alice = server.user("alice")
    ra = Rest(server, alice.token)
    room = make_room(ra)
    assert breaker_state(server) == "closed"
    refused(upload(server, alice.token, room, "a.bin", b"abc"), 503, "file store is unavailable")
    # The REST put goes through the node's object-store breaker: two failed puts in a row open
    # it, and from then on the file ops answer at once, REST and WebSocket alike.
    assert breaker_state(server) == "closed"
    refused(upload(server, alice.token, room, "b.bin", b"abc"), 503, "file store is unavailable")
    assert breaker_state(server) == "open"
    refused(upload(server, alice.token, room, "c.bin", b"abc"), 503, "circuit breaker is open")
    ws = server.connect(alice.token)
    r = ws.fail("request_upload", "unavailable", room_id=room, filename="d.bin", size=3,
                content_type="application/octet-stream")
    assert "circuit breaker is open" in r["error"]["message"], r
    # Nothing was posted; chat goes on.
    assert ra.call("GET", f"/rooms/{room}/files")[0] == 204
    assert ra.ok("POST", f"/rooms/{room}/messages", form={"body": "still here"})["message_id"]
    assert server.healthz() == 200


def breaker_state(server):
    """The file store breaker's state as /metrics shows it (the gauge that is 1)."""
    status, body = server.http("GET", "/metrics")
    assert status == 200, body
    text = body.decode()
    states = [line.split('state="')[1].split('"')[0] for line in text.splitlines()
              if line.startswith("hibiki_object_store_breaker_state{") and line.endswith(" 1")]
    assert len(states) == 1, states
    return states[0]


@pytest.mark.skipif(MINIO_DIR is None, reason="run by CTest with the minio fixture")
def test_rest_upload_on_minio(server_factory):
    endpoint = open(os.path.join(MINIO_DIR, "endpoint")).read().strip()
    bucket = open(os.path.join(MINIO_DIR, "bucket")).read().strip()
    credentials = os.path.join(MINIO_DIR, "credentials")
    server = server_factory(f"--s3-endpoint={endpoint}", f"--s3-bucket={bucket}",
                            f"--s3-credentials-file={credentials}")
    alice, _, room = uploads_and_downloads(server)
    url = Rest(server, alice.token).ok("GET", f"/rooms/{room}/files/2",
                                       query={"create_download_url": "1"})["download_url"]
    assert url.startswith(endpoint), url  # the bytes come from MinIO, not from hibikid
