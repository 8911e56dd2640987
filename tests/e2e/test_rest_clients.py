"""Chatwork API clients from PyPI, written by others for api.chatwork.com, driven against a real
hibikid: `pychatwork` (posts with the body in the query string, reads with force=0/1, takes 204 as
"nothing new") and `chatpywork` (posts a form body with a [To:] mention). Both are pure Python on
`requests` (Debian's python3-requests, scripts/install-deps); they are installed with pip into a
directory of the build (or of the test) at test time, and only their base URL is changed: a
class attribute in pychatwork, a module constant in chatpywork."""

import importlib
import os
import subprocess
import sys

import pytest

from test_rest import Rest, make_room

PACKAGES = ["pychatwork==1.0.5", "chatpywork==1.3.0"]


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
    return importlib.import_module("pychatwork"), importlib.import_module("chatpywork.room")


def test_pypi_clients_post_and_read(server_factory, pypi_clients):
    pychatwork, chatpywork_room = pypi_clients
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
    assert got[0]["account"] == {"account_id": alice, "name": "alice", "avatar_image_url": ""}
    assert got[1]["message_id"] == pong_id
    assert bob_client.get_messages(room) == []
    assert len(bob_client.get_messages(room, force=True)) == 2

    # Alice is mentioned; the counts agree.
    alice_rest = Rest(server, alice_token)
    assert alice_rest.ok("GET", "/rooms")[0]["mention_num"] == 1

    # A client's error path: pychatwork raises with the server's "errors" list.
    stranger = pychatwork.ChatworkClient("0" * 64)
    stranger.BASE_URL = server.url + "/v2/"
    with pytest.raises(Exception) as info:
        stranger.post_messages("x", room)
    assert "Invalid API token" in str(info.value)
