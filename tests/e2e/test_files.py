"""Shared files against a real hibikid on its default object store (the directory store served on
its own listener): request_upload → PUT to the signed URL → complete_upload, pushed as
message_created and file_uploaded; get_file with a 30-second download URL; list_files; the REST
API's GET /rooms/{id}/files and /files/{file_id}; every bad input the room's rules own; and
hibikid killed with -9 between request and complete."""

import hashlib
import http.client
import os
import urllib.parse

import pytest

from conftest import wait_for
from test_rest import Rest, avatar

FILE_FIELDS = {"file_id", "account_id", "message_id", "filename", "size", "upload_time"}
CHATWORK_FILE_FIELDS = {"file_id", "account", "message_id", "filename", "filesize", "upload_time"}


@pytest.fixture
def server(server_factory):
    return server_factory("--max-file-size", "1000000")


def http_call(url, method, body=None, headers=None):
    u = urllib.parse.urlsplit(url)
    assert u.hostname == "127.0.0.1", url
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    try:
        conn.request(method, u.path + ("?" + u.query if u.query else ""), body=body,
                     headers=headers or {})
        resp = conn.getresponse()
        return resp.status, dict((k.lower(), v) for k, v in resp.getheaders()), resp.read()
    finally:
        conn.close()


def put(upload, data, content_type="application/octet-stream"):
    return http_call(upload["upload_url"], "PUT", data,
                     {"Content-Type": content_type, "Content-Length": str(len(data))})


def room_with(owner, *others, readonly=()):
    r = owner.ok("create_room", name="files", members=[o.account_id for o in others])
    room = r["room_id"]
    if readonly:
        owner.ok("add_members", room_id=room, account_ids=[o.account_id for o in readonly],
                 role="readonly")
    return room


def upload(client, room, data, filename="report.bin", content_type="application/octet-stream"):
    up = client.ok("request_upload", room_id=room, filename=filename, size=len(data),
                   content_type=content_type)
    status, _, body = put(up, data, content_type)
    assert status == 200, body
    return up, client.ok("complete_upload", room_id=room, file_id=up["file_id"])


def test_upload_download_and_list(server):
    alice, bob = server.user("alice"), server.user("bob")
    room = room_with(alice, bob)
    data = os.urandom(300_000)
    up = bob.ok("request_upload", room_id=room, filename="報告 2026.pdf", size=len(data),
                content_type="application/pdf")
    assert set(up) == {"re", "ok", "file_id", "upload_url", "expires_at"}, up
    assert up["file_id"] == 1 and up["upload_url"].startswith(server.url + "/files/rooms/")
    # The key never holds the filename.
    assert "%E5%A0%B1" not in up["upload_url"] and "pdf" not in up["upload_url"].split("?")[0]
    status, _, body = put(up, data, "application/pdf")
    assert status == 200, body
    done = bob.ok("complete_upload", room_id=room, file_id=1)
    assert set(done) == {"re", "ok", "message_id", "seq"}, done

    created = alice.next_event("message_created")
    assert created["message"]["body"] == "[download:1]報告 2026.pdf[/download]"
    assert created["message"]["message_id"] == done["message_id"]
    ev = alice.next_event("file_uploaded")
    assert ev["room_id"] == room and ev["seq"] == done["seq"]
    f = ev["file"]
    assert set(f) == FILE_FIELDS, f
    assert (f["file_id"], f["account_id"], f["message_id"], f["filename"], f["size"]) == (
        1, bob.account_id, done["message_id"], "報告 2026.pdf", len(data))

    got = alice.ok("get_file", room_id=room, file_id=1, download_url=True)
    assert got["file"] == f
    status, headers, body = http_call(got["download_url"], "GET")
    assert status == 200
    assert hashlib.sha256(body).digest() == hashlib.sha256(data).digest()
    assert "filename*=UTF-8''%E5%A0%B1%E5%91%8A%202026.pdf" in headers["content-disposition"]
    assert "download_url" not in alice.ok("get_file", room_id=room, file_id=1)

    assert alice.ok("list_files", room_id=room)["files"] == [f]
    assert alice.ok("list_files", room_id=room, account_id=alice.account_id)["files"] == []
    assert alice.ok("list_files", room_id=room, account_id=bob.account_id)["files"] == [f]
    assert alice.ok("get_room", room_id=room)["room"]["file_num"] == 1

    # The same through the REST API, in Chatwork's shapes.
    rest = Rest(server, alice.token)
    listed = rest.ok("GET", f"/rooms/{room}/files")
    assert len(listed) == 1 and set(listed[0]) == CHATWORK_FILE_FIELDS, listed
    assert listed[0]["account"] == {"account_id": bob.account_id, "name": "bob",
                                    "avatar_image_url": avatar(server)}
    assert (listed[0]["filesize"], listed[0]["message_id"]) == (len(data), done["message_id"])
    st, body, _ = rest.call("GET", f"/rooms/{room}/files", query={"account_id": alice.account_id})
    assert st == 204 and body is None
    one = rest.ok("GET", f"/rooms/{room}/files/1")
    assert one == listed[0]
    with_url = rest.ok("GET", f"/rooms/{room}/files/1", query={"create_download_url": "1"})
    assert set(with_url) == CHATWORK_FILE_FIELDS | {"download_url"}
    status, _, body = http_call(with_url["download_url"], "GET")
    assert status == 200 and body == data


def test_deleting_the_message_hides_the_file(server):
    alice, bob = server.user("alice"), server.user("bob")
    room = room_with(alice, bob)
    _, done = upload(bob, room, b"x" * 10)
    bob.ok("delete_message", room_id=room, message_id=done["message_id"])
    alice.fail("get_file", "not_found", room_id=room, file_id=1)
    assert alice.ok("list_files", room_id=room)["files"] == []
    assert alice.ok("get_room", room_id=room)["room"]["file_num"] == 0


def test_bad_uploads_are_refused_and_the_server_keeps_working(server):
    alice, bob, eve, ro = (server.user(n) for n in ("alice", "bob", "eve", "reader"))
    room = room_with(alice, bob, ro, readonly=[ro])
    other = room_with(eve)

    def ask(client, code, room_id=room, **fields):
        req = {"filename": "a.txt", "size": 10, "content_type": "text/plain"}
        req.update(fields)
        r = client.fail("request_upload", code, room_id=room_id, **req)
        assert r["error"]["message"], r
        return r

    ask(eve, "forbidden")  # not a member
    ask(ro, "forbidden")  # read-only
    ask(bob, "not_found", room_id=999_999)
    ask(bob, "too_large", size=1_000_001)
    ask(bob, "bad_request", size=0)
    ask(bob, "bad_request", size=-1)
    ask(bob, "bad_request", size="10")
    for name in ("", "dir/a.txt", "../a.txt", "..", "a..b", "c:\\x", "a\nb", "a\x00b", "a\x7fb",
                 "a\u0085b"):
        ask(bob, "bad_request", filename=name)
    ask(bob, "too_large", filename="x" * 10_240)
    ask(bob, "too_large", filename="é" * 128)  # 256 bytes
    for ctype in ("", "text", "text/", "te xt/plain", "text/plain\r\nX: y"):
        ask(bob, "bad_request", content_type=ctype)
    bob.fail("request_upload", "bad_request", room_id=room, size=1, content_type="a/b")

    # Completing what is not there, or not yours.
    up = bob.ok("request_upload", room_id=room, filename="a.txt", size=10,
                content_type="text/plain")
    bob.fail("complete_upload", "bad_request", room_id=room, file_id=up["file_id"])  # no PUT yet
    # A PUT of another length is refused by the store (the length is signed) and stores nothing.
    status, _, _ = http_call(up["upload_url"], "PUT", b"x" * 9,
                             {"Content-Type": "text/plain", "Content-Length": "9"})
    assert status in (400, 403), status
    bob.fail("complete_upload", "bad_request", room_id=room, file_id=up["file_id"])
    # Another type than the signed one is refused too.
    status, _, _ = put(up, b"x" * 10, "text/html")
    assert status in (400, 403), status
    alice.fail("complete_upload", "forbidden", room_id=room, file_id=up["file_id"])  # not hers
    eve.fail("complete_upload", "forbidden", room_id=room, file_id=up["file_id"])  # not a member
    bob.fail("complete_upload", "not_found", room_id=room, file_id=up["file_id"] + 50)
    eve_up = eve.ok("request_upload", room_id=other, filename="e.txt", size=1,
                    content_type="text/plain")
    # A file id of another room is not this room's.
    bob.fail("complete_upload", "not_found", room_id=room, file_id=eve_up["file_id"] + 1)
    eve.fail("get_file", "forbidden", room_id=room, file_id=1)
    bob.fail("get_file", "not_found", room_id=room, file_id=up["file_id"])  # not completed
    bob.fail("get_file", "bad_request", room_id=room, file_id=0)
    eve.fail("list_files", "forbidden", room_id=room)
    bob.fail("list_files", "bad_request", room_id=room, account_id="x")
    # A URL replayed for another key: the signature covers the key.
    replayed = up["upload_url"].replace("/files/rooms/", "/files/rooms/x", 1)
    status, _, _ = http_call(replayed, "PUT", b"x" * 10,
                             {"Content-Type": "text/plain", "Content-Length": "10"})
    assert status in (400, 403, 404), status

    # Nothing of that broke anything: the right PUT completes, and chat works.
    status, _, body = put(up, b"y" * 10, "text/plain")
    assert status == 200, body
    bob.ok("complete_upload", room_id=room, file_id=up["file_id"])
    bob.ok("send_message", room_id=room, body="still here", client_msg_id="s1")
    assert server.healthz() == 200


def test_rest_file_errors(server):
    (alice_id, alice_token), (eve_id, eve_token) = server.signup("alice"), server.signup("eve")
    alice = server.connect(alice_token)
    room = alice.ok("create_room", name="r", members=[])["room_id"]
    ra, re_ = Rest(server, alice_token), Rest(server, eve_token)
    re_.error("GET", f"/rooms/{room}/files", 403)
    re_.error("GET", f"/rooms/{room}/files/1", 403)
    ra.error("GET", f"/rooms/{room}/files/1", 404)
    ra.error("GET", f"/rooms/{room}/files/x", 400)
    ra.error("GET", f"/rooms/{room}/files", 400, query={"account_id": "0"})
    ra.error("GET", f"/rooms/{room}/files/1", 400, query={"create_download_url": "maybe"})
    ra.error("GET", f"/rooms/{room}/files/1/more", 404)
    # Uploading through the API takes multipart only (test_rest_files.py); other verbs are 405.
    st, body, _ = ra.call("POST", f"/rooms/{room}/files", form={"message": "hi"})
    assert st == 400 and "multipart/form-data" in body["errors"][0], body
    st, _, headers = ra.call("PUT", f"/rooms/{room}/files", form={"message": "hi"})
    assert st == 405 and headers.get("allow") == "GET, POST"
    st, body, _ = ra.call("GET", f"/rooms/{room}/files")
    assert st == 204 and body is None


def test_kill9_between_request_and_complete(server):
    alice, bob = server.user("alice"), server.user("bob")
    room = room_with(alice, bob)
    data = os.urandom(50_000)
    up = bob.ok("request_upload", room_id=room, filename="k.bin", size=len(data),
                content_type="application/octet-stream")
    unput = bob.ok("request_upload", room_id=room, filename="never.bin", size=5,
                   content_type="application/octet-stream")
    status, _, body = put(up, data)
    assert status == 200, body
    server.kill9()
    server.restart()
    bob = server.connect(bob.token)
    alice = server.connect(alice.token)
    # Nothing is half-visible: the room has no file until the upload completes.
    assert alice.ok("list_files", room_id=room)["files"] == []
    done = bob.ok("complete_upload", room_id=room, file_id=up["file_id"])
    got = alice.ok("get_file", room_id=room, file_id=up["file_id"], download_url=True)
    assert got["file"]["message_id"] == done["message_id"]
    status, _, body = http_call(got["download_url"], "GET")
    assert status == 200 and body == data
    # The one never PUT is still pending: completing it says so, and it is not listed.
    bob.fail("complete_upload", "bad_request", room_id=room, file_id=unput["file_id"])
    assert [f["file_id"] for f in alice.ok("list_files", room_id=room)["files"]] == [
        up["file_id"]]


def deleted_bytes_go(server):
    """Uploads, takes a download URL, deletes the message: the sweeper removes the bytes (the
    URL, still within its 30 seconds, then finds nothing)."""
    alice, bob = server.user("alice"), server.user("bob")
    room = room_with(alice, bob)
    data = os.urandom(20_000)
    _, done = upload(bob, room, data, filename="gone.bin")
    url = alice.ok("get_file", room_id=room, file_id=1, download_url=True)["download_url"]
    status, headers, body = http_call(url, "GET")
    assert status == 200 and body == data
    assert "gone.bin" in headers["content-disposition"]
    bob.ok("delete_message", room_id=room, message_id=done["message_id"])
    wait_for(lambda: http_call(url, "GET")[0] == 404, "the deleted file's bytes removed")
    # Chat is untouched, and a new upload works.
    upload(alice, room, b"again", filename="again.txt", content_type="text/plain")


def test_deleted_files_bytes_are_removed_after_the_grace(server_factory):
    deleted_bytes_go(server_factory("--file-grace", "0", "--file-sweep-interval", "1"))


MINIO_DIR = os.environ.get("HIBIKI_TEST_MINIO_DIR")


@pytest.mark.skipif(MINIO_DIR is None, reason="run by CTest with the minio fixture")
def test_files_on_minio(server_factory):
    endpoint = open(os.path.join(MINIO_DIR, "endpoint")).read().strip()
    bucket = open(os.path.join(MINIO_DIR, "bucket")).read().strip()
    credentials = os.path.join(MINIO_DIR, "credentials")
    server = server_factory(f"--s3-endpoint={endpoint}", f"--s3-bucket={bucket}",
                            f"--s3-credentials-file={credentials}", "--max-file-size", "1000000",
                            "--file-grace", "0", "--file-sweep-interval", "1")
    alice, bob = server.user("alice"), server.user("bob")
    room = room_with(alice, bob)
    up = bob.ok("request_upload", room_id=room, filename="名前.txt", size=10,
                content_type="text/plain")
    assert up["upload_url"].startswith(endpoint), up
    bob.fail("complete_upload", "bad_request", room_id=room, file_id=up["file_id"])  # no PUT
    # MinIO refuses another length than the signed one.
    status, _, _ = http_call(up["upload_url"], "PUT", b"x" * 9,
                             {"Content-Type": "text/plain", "Content-Length": "9"})
    assert status == 403, status
    bob.fail("complete_upload", "bad_request", room_id=room, file_id=up["file_id"])
    status, _, body = put(up, b"0123456789", "text/plain")
    assert status == 200, body
    done = bob.ok("complete_upload", room_id=room, file_id=up["file_id"])
    assert alice.next_event("file_uploaded")["file"]["filename"] == "名前.txt"
    url = alice.ok("get_file", room_id=room, file_id=up["file_id"], download_url=True)
    status, headers, body = http_call(url["download_url"], "GET")
    assert status == 200 and body == b"0123456789"
    assert "UTF-8''%E5%90%8D%E5%89%8D.txt" in headers["content-disposition"]
    bob.ok("delete_message", room_id=room, message_id=done["message_id"])
    wait_for(lambda: http_call(url["download_url"], "GET")[0] == 404,
             "the deleted file's object removed from MinIO")
    deleted_bytes_go(server)
