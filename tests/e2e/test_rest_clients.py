"""Chatwork API clients from PyPI, written by others for api.chatwork.com, driven against a real
hibikid: `pychatwork` (posts with the body in the query string, reads with force=0/1, takes 204 as
"nothing new"), `chatpywork` (posts a form body with a [To:] mention, makes tasks with a limit)
and `chatworkpy` (resolves names through GET /rooms and GET /rooms/{id}/members, makes tasks, and
has a generic request call, used here for the room, member and task endpoints it has no method
for, with Chatwork's ?method=PUT override since it sends no PUT). All are pure Python on
`requests` (Debian's python3-requests, scripts/install-deps); chatpywork also uploads a file
(`send_data`: Chatwork's multipart POST /rooms/{id}/files), the only one of the three with an
upload call; they are installed with pip into a
directory of the build (or of the test) at test time, and only their base URL is changed: a
class attribute in pychatwork, a module constant in chatpywork, an instance attribute in
chatworkpy. (chatworkpy declares PyYAML for its config module, which is not imported here; pip
builds it from its source archive.)"""

import datetime
import hashlib
import importlib
import os
import subprocess
import sys

import pytest
import requests

from test_rest import Rest, make_room

PACKAGES = ["pychatwork==1.0.5", "chatpywork==1.3.0", "chatworkpy==0.0.7"]


@pytest.fixture(scope="module")
def pypi_clients(tmp_path_factory):
    target = os.environ.get("HIBIKI_E2E_PYPI_DIR") or str(tmp_path_factory.mktemp("pypi"))
    os.makedirs(target, exist_ok=True)
    marker = os.path.join(target, ".installed-" + "-".join(PACKAGES))
    if not os.path.exists(marker):
        r = subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
             "--no-deps", "--upgrade", "--root-user-action=ignore", "--target", target, *PACKAGES],
            capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, f"pip install {PACKAGES} failed: {r.stderr[-2000:]}"
        open(marker, "w").close()
    if target not in sys.path:
        sys.path.insert(0, target)
    # The server is on loopback: no proxy from the environment may stand in between.
    os.environ["NO_PROXY"] = "127.0.0.1,localhost"
    return (importlib.import_module("pychatwork"), importlib.import_module("chatpywork.room"),
            importlib.import_module("chatworkpy.chatwork.rooms"))


def test_pypi_clients_post_and_read(server_factory, pypi_clients):
    pychatwork, chatpywork_room, _ = pypi_clients
    server = server_factory()
    alice, alice_token = server.signup("alice")
    bob, bob_token = server.signup("bob")
    room = make_room(Rest(server, alice_token), "bots", admins=[alice], members=[bob])

    alice_client = pychatwork.ChatworkClient(alice_token)
    alice_client.BASE_URL = server.url + "/v2/"
    bob_client = pychatwork.ChatworkClient(bob_token)
    bob_client.BASE_URL = server.url + "/v2/"

    posted = alice_client.post_messages("hello from pychatwork", room)
    assert isinstance(posted["message_id"], str) and posted["message_id"].isdigit()

    chatpywork_room.BASE_URL = server.url + "/v2"
    resp = chatpywork_room.Room(str(room), bob_token).send_message("pong", to={str(alice): "alice"})
    assert resp.status_code == 200, resp.text
    pong_id = resp.json()["message_id"]

    # Bob reads what is new for him: both messages, then nothing (pychatwork turns 204 into []).
    got = bob_client.get_messages(room)
    assert [m["body"] for m in got] == ["hello from pychatwork", f"[To:{alice}] aliceさん\npong"]
    assert got[0]["account"] == {"account_id": alice, "name": "alice",
                                 "avatar_image_url": server.url + "/img/avatar.svg"}
    assert got[1]["message_id"] == pong_id
    assert bob_client.get_messages(room) == []
    assert len(bob_client.get_messages(room, force=True)) == 2

    # Alice is mentioned; the counts agree.
    alice_rest = Rest(server, alice_token)
    (listed,) = [x for x in alice_rest.ok("GET", "/rooms") if x["room_id"] == room]
    assert listed["mention_num"] == 1

    # A client's error path: pychatwork raises with the server's "errors" list.
    stranger = pychatwork.ChatworkClient("0" * 64)
    stranger.BASE_URL = server.url + "/v2/"
    with pytest.raises(Exception) as info:
        stranger.post_messages("x", room)
    assert "Invalid API token" in str(info.value)


def test_pypi_clients_rooms_members_and_tasks(server_factory, pypi_clients):
    _, chatpywork_room, chatworkpy_rooms = pypi_clients
    server = server_factory()
    alice, alice_token = server.signup("alice")
    bob, bob_token = server.signup("bob")
    carol, _ = server.signup("carol")
    room = make_room(Rest(server, alice_token), "bots", admins=[alice], members=[bob])

    def chatworkpy(token):
        client = chatworkpy_rooms.Rooms(token, room)
        client.base_url = server.url + "/v2"
        return client

    alice_cw, bob_cw = chatworkpy(alice_token), chatworkpy(bob_token)
    # chatworkpy names the people it mentions from GET /rooms and GET /rooms/{id}/members.
    assert bob_cw._make_accounts_dict([alice]) == [{"account_id": alice, "name": "alice"}]
    sent = bob_cw.send_message("ping", bob_cw._make_accounts_dict([alice]))
    assert sent["message_id"].isdigit()
    got = Rest(server, alice_token).ok("GET", f"/rooms/{room}/messages/{sent['message_id']}")
    assert got["body"].startswith(f"[To:{alice}] alice") and got["body"].endswith("ping")

    # The room, through its generic request: GET, then PUT by the ?method= override.
    info = bob_cw.exec_request("get", f"rooms/{room}")
    assert (info["room_id"], info["name"], info["role"]) == (room, "bots", "member"), info
    assert alice_cw.exec_request("post", f"rooms/{room}", query_params={"method": "PUT"},
                                 request_params={"name": "robots",
                                                 "description": "for bots"}) == {"room_id": room}
    info = bob_cw.exec_request("get", f"rooms/{room}")
    assert (info["name"], info["description"]) == ("robots", "for bots"), info
    # Its errors reach the caller as an exception with the server's answer.
    with pytest.raises(Exception) as refused:
        bob_cw.exec_request("post", f"rooms/{room}", query_params={"method": "PUT"},
                            request_params={"name": "mine"})
    assert "403" in str(refused.value) and "admin" in str(refused.value)

    # Members: replace the lists, then list them.
    assert alice_cw.exec_request("post", f"rooms/{room}/members",
                                 query_params={"method": "PUT"},
                                 request_params={"members_admin_ids": str(alice),
                                                 "members_member_ids": f"{bob},{carol}"}) == {
        "admin": [alice], "member": [bob, carol], "readonly": []}
    members = bob_cw.exec_request("get", f"rooms/{room}/members")
    assert [(m["account_id"], m["name"], m["role"]) for m in members] == [
        (alice, "alice", "admin"), (bob, "bob", "member"), (carol, "carol", "member")]

    # Tasks: chatworkpy and chatpywork make them (chatpywork with a limit: a datetime).
    assert bob_cw.send_task("review the bot", [str(alice)]) == {"task_ids": [1]}
    chatpywork_room.BASE_URL = server.url + "/v2"
    limit = datetime.datetime(2030, 3, 1, 12, 0, tzinfo=datetime.timezone.utc)
    resp = chatpywork_room.Room(str(room), alice_token).send_task(
        "deploy the bot", [str(bob), str(carol)], limit=limit)
    assert resp.status_code == 200 and resp.json() == {"task_ids": [2, 3]}, resp.text
    tasks = alice_cw.exec_request("get", f"rooms/{room}/tasks", query_params={"account_id": bob})
    assert [(t["task_id"], t["body"], t["limit_time"], t["account"]["name"],
             t["assigned_by_account"]["name"]) for t in tasks] == [
        (2, "deploy the bot", int(limit.timestamp()), "bob", "alice")], tasks
    assert bob_cw.exec_request("get", f"rooms/{room}/tasks/2")["status"] == "open"
    assert bob_cw.exec_request("post", f"rooms/{room}/tasks/2/status",
                               query_params={"method": "PUT"},
                               request_params={"body": "done"}) == {"task_id": 2}
    # my/tasks, and its 204 (which chatworkpy turns into None).
    mine = bob_cw.exec_request("get", "my/tasks")
    assert [(t["room"]["room_id"], t["room"]["name"], t["task_id"], t["status"])
            for t in mine] == [(room, "robots", 2, "done")], mine
    assert bob_cw.exec_request("get", "my/tasks", query_params={"status": "open"}) is None

    # Leaving and deleting: DELETE with a form body, as chatworkpy sends it.
    assert bob_cw.exec_request("delete", f"rooms/{room}",
                               request_params={"action_type": "leave"}) is None
    assert alice_cw.exec_request("delete", f"rooms/{room}",
                                 request_params={"action_type": "delete"}) is None
    with pytest.raises(Exception) as gone:
        alice_cw.exec_request("get", f"rooms/{room}")
    assert "404" in str(gone.value)


def test_chatpywork_uploads_a_file(server_factory, pypi_clients):
    # chatpywork's send_data is Chatwork's POST /rooms/{id}/files (requests' multipart, a `file`
    # and a `message` part); pychatwork and chatworkpy have no upload call.
    _, chatpywork_room, _ = pypi_clients
    server = server_factory()
    alice, alice_token = server.signup("alice")
    rest = Rest(server, alice_token)
    room = make_room(rest, "files", admins=[alice])
    chatpywork_room.BASE_URL = server.url + "/v2"
    data = os.urandom(300_000)
    resp = chatpywork_room.Room(str(room), alice_token).send_data(data, "photo.jpg", "image/jpeg",
                                                                 message="a picture")
    assert resp.status_code == 200, resp.text
    file_id = resp.json()["file_id"]
    one = rest.ok("GET", f"/rooms/{room}/files/{file_id}", query={"create_download_url": "1"})
    assert (one["filename"], one["filesize"]) == ("photo.jpg", len(data))
    got = requests.get(one["download_url"], timeout=60)
    assert got.status_code == 200
    assert hashlib.sha256(got.content).digest() == hashlib.sha256(data).digest()
    bodies = [m["body"] for m in rest.ok("GET", f"/rooms/{room}/messages", query={"force": "1"})]
    assert bodies[-1] == f"a picture\n[download:{file_id}]photo.jpg[/download]"
