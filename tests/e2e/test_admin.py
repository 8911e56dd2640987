"""The operator's side end to end, against a real hibikid: the admin token and the admin listener
protecting the operator endpoints (also behind a reverse proxy on the same host), and the
`hibiki admin` commands (create-account with sign-up closed, disable, enable, revoke-tokens,
create-token, rename) with their bad inputs.
"""
import json
import os
import re
import subprocess

import pytest

from conftest import CLI, ConnectionLost, admin_listener, needs_cli, stdout_match

pytestmark = needs_cli



def admin(server, *args, url=None, token_file=None, env_token=None, timeout=30):
    """`hibiki admin ARGS...` against `server`; the token from its file unless told otherwise."""
    env = dict(os.environ)
    env.pop("HIBIKI_ADMIN_TOKEN", None)
    if env_token is not None:
        env["HIBIKI_ADMIN_TOKEN"] = env_token
    argv = [CLI, "--server", url or server.url, "admin"] + list(args)
    if token_file is None and env_token is None:
        token_file = server.admin_token_file
    if token_file:
        argv += ["--admin-token-file", str(token_file)]
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=timeout)


def fields(stdout):
    """The `key: value` lines the CLI prints."""
    out = {}
    for line in stdout.splitlines():
        key, sep, value = line.partition(": ")
        if sep:
            out[key] = value
    return out


def auth_error(server, token):
    """The error code `auth` with `token` gets on a fresh connection (None when it succeeds)."""
    c = server.connect()
    r = c.request("auth", token=token)
    c.close()
    return None if r.get("ok") else r["error"]["code"]


def admin_port(server):
    return admin_listener(server)[1]


def all_logs(server):
    out = "\n".join(server.stdout_lines)
    with open(server.stderr_path, "rb") as f:
        out += f.read().decode("utf-8", "replace")
    return out


def test_create_account_with_sign_up_closed(server_factory):
    s = server_factory("--open-signup=false")
    status, _ = s.http("POST", "/api/signup", {"name": "mallory"})
    assert status == 403
    r = admin(s, "create-account", "alice")
    assert r.returncode == 0, r.stderr
    f = fields(r.stdout)
    assert f["name"] == "alice" and int(f["account_id"]) > 0
    token = f["token"]
    assert re.fullmatch(r"[0-9a-f]{64}", token), token
    # The new account works like any other.
    alice = s.connect(token)
    assert alice.account_id == int(f["account_id"]) and alice.name == "alice"
    alice.ok("create_room", name="solo", members=[])
    # HIBIKI_ADMIN_TOKEN works as well as the file.
    r = admin(s, "create-account", "bob", env_token=s.admin_token)
    assert r.returncode == 0, r.stderr
    assert fields(r.stdout)["name"] == "bob"
    # The audit trail names the action, never the tokens.
    logs = all_logs(s)
    assert "audit: admin create-account account=" in logs
    assert token not in logs and s.admin_token not in logs


def test_disable_closes_live_connections_and_refuses_auth(server):
    alice_id, alice_token = server.signup("alice")
    bob = server.user("bob")
    alice1 = server.connect(alice_token)
    alice2 = server.connect(alice_token)
    room = alice1.ok("create_room", name="r", members=[bob.account_id])["room_id"]

    r = admin(server, "disable-account", str(alice_id))
    assert r.returncode == 0, r.stderr
    assert fields(r.stdout)["disabled"] == "yes"
    # Both of alice's live connections are closed with 1008; bob's stays.
    assert alice1.wait_closed() == 1008
    assert alice2.wait_closed() == 1008
    assert "account disabled" in (alice1.close_reason or "")
    bob.ok("ping")
    # Her token no longer authenticates; nothing she could do gets through.
    assert auth_error(server, alice_token) == "unauthenticated"
    # Disabling again changes nothing and still answers.
    r = admin(server, "disable-account", str(alice_id))
    assert r.returncode == 0, r.stderr
    # Enable: the same token works again, and the room is still hers.
    r = admin(server, "enable-account", str(alice_id))
    assert r.returncode == 0, r.stderr
    assert fields(r.stdout)["disabled"] == "no"
    back = server.connect(alice_token)
    back.ok("send_message", room_id=room, body="back", client_msg_id="b-1")
    assert bob.next_event("message_created")["message"]["body"] == "back"
    # Disabled survives a restart (it is an event like any other).
    assert admin(server, "disable-account", str(alice_id)).returncode == 0
    server.restart()
    assert auth_error(server, alice_token) == "unauthenticated"


def test_revoke_tokens_then_create_token(server):
    alice_id, old = server.signup("alice")
    live = server.connect(old)
    r = admin(server, "revoke-tokens", str(alice_id))
    assert r.returncode == 0, r.stderr
    assert live.wait_closed() == 1008
    assert "token revoked" in (live.close_reason or "")
    assert auth_error(server, old) == "unauthenticated"
    # A new token for the same account: the old one stays dead.
    r = admin(server, "create-token", str(alice_id))
    assert r.returncode == 0, r.stderr
    new = fields(r.stdout)["token"]
    assert new != old and re.fullmatch(r"[0-9a-f]{64}", new)
    c = server.connect(new)
    assert c.account_id == alice_id
    assert auth_error(server, old) == "unauthenticated"
    # Issuing yet another token replaces the live one and closes its connections.
    r = admin(server, "create-token", str(alice_id))
    assert r.returncode == 0, r.stderr
    newest = fields(r.stdout)["token"]
    assert c.wait_closed() == 1008
    assert auth_error(server, new) == "unauthenticated"
    assert auth_error(server, newest) is None
    logs = all_logs(server)
    for t in (old, new, newest, server.admin_token):
        assert t not in logs


def test_rename_is_visible_to_others(server):
    alice_id, token = server.signup("alice")
    bob = server.user("bob")
    # get_accounts names the accounts one shares something with: a room here.
    server.connect(token).ok("create_room", name="r", members=[bob.account_id])
    assert bob.ok("get_accounts", account_ids=[alice_id])["accounts"] == [
        {"account_id": alice_id, "name": "alice"}]
    r = admin(server, "rename", str(alice_id), "Alice Liddell")
    assert r.returncode == 0, r.stderr
    assert fields(r.stdout)["name"] == "Alice Liddell"
    # bob's open connection is told at once.
    assert bob.next_event("account_updated")["account"] == \
        {"account_id": alice_id, "name": "Alice Liddell"}
    # Another account sees the new name; so does alice on her next auth.
    got = bob.ok("get_accounts", account_ids=[alice_id, 999999, alice_id, bob.account_id])
    assert got["accounts"] == [{"account_id": alice_id, "name": "Alice Liddell"},
                               {"account_id": bob.account_id, "name": "bob"}]
    assert server.connect(token).name == "Alice Liddell"
    # Bad lookups are refused with bad_request and the connection stays.
    bob.fail("get_accounts", "bad_request", account_ids=[])
    bob.fail("get_accounts", "bad_request", account_ids=["1"])
    bob.fail("get_accounts", "bad_request", account_ids=list(range(1, 1002)))
    bob.ok("ping")
    # Durable.
    server.restart()
    assert server.connect(token).name == "Alice Liddell"
    bob = server.connect(bob.token)
    assert bob.ok("get_accounts", account_ids=[alice_id])["accounts"][0]["name"] == \
        "Alice Liddell"
    # An account that shares nothing with her is not told her name.
    carol = server.user("carol")
    assert carol.ok("get_accounts", account_ids=[alice_id])["accounts"] == []


def test_admin_bad_inputs(server):
    alice_id, token = server.signup("alice")
    # Usage errors: exit 2, nothing sent.
    for args in (["disable-account"], ["disable-account", "0"], ["disable-account", "x"],
                 ["disable-account", "-3"], ["rename", str(alice_id)], ["frobnicate", "1"],
                 ["create-account"], ["disable-account", "1", "2"], []):
        r = admin(server, *args)
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        assert r.stderr.strip()
    # An account that does not exist: not_found, exit 1.
    for action in ("disable-account", "enable-account", "revoke-tokens", "create-token"):
        r = admin(server, action, "999999")
        assert r.returncode == 1, (action, r.stdout, r.stderr)
        assert "not_found" in r.stderr and "no such account" in r.stderr, r.stderr
    r = admin(server, "rename", "999999", "x")
    assert r.returncode == 1 and "not_found" in r.stderr, r.stderr
    # Names the account rules refuse.
    for name in ("", "   ", "x" * 65, "tab\there"):
        r = admin(server, "rename", str(alice_id), name)
        assert r.returncode == 1, (name, r.stdout, r.stderr)
        assert "bad_request" in r.stderr, r.stderr
        r = admin(server, "create-account", name)
        assert r.returncode == 1 and "bad_request" in r.stderr, (name, r.stderr)
    # The raw API: bad ids and bodies.
    for body in ({"account_id": 0}, {"account_id": "1"}, {"account_id": 2 ** 53},
                 {"account_id": 1.5}, {}, [1], {"account_id": 1, "admin": True}):
        status, raw = server.operator_http("POST", "/api/admin/disable-account", body)
        assert status == 400, (body, status, raw)
        assert json.loads(raw)["error"]["code"] == "bad_request"
    status, _ = server.operator_http("POST", "/api/admin/disable-account", "not json")
    assert status == 400
    status, _ = server.operator_http("POST", "/api/admin/promote", {"account_id": 1})
    assert status == 404
    status, _ = server.operator_http("GET", "/api/admin/disable-account")
    assert status == 405
    # Missing or wrong token: 401 and a message saying what to do.
    r = admin(server, "disable-account", str(alice_id), token_file="")
    assert r.returncode == 1 and "HTTP 401" in r.stderr and "--admin-token-file" in r.stderr
    r = admin(server, "disable-account", str(alice_id), env_token="0" * 64)
    assert r.returncode == 1 and "not the server's" in r.stderr, r.stderr
    # A token file that does not exist or is empty: refused by the CLI before sending.
    r = admin(server, "disable-account", str(alice_id),
              token_file=os.path.join(server.log_dir, "missing"))
    assert r.returncode == 1 and "cannot read the admin token file" in r.stderr
    empty = os.path.join(server.log_dir, "empty-token")
    open(empty, "w").close()
    r = admin(server, "disable-account", str(alice_id), token_file=empty)
    assert r.returncode == 1 and "is empty" in r.stderr
    # Nothing of that disabled alice, and the server still serves.
    assert auth_error(server, token) is None
    assert server.healthz() == 200


def test_behind_a_proxy_operator_endpoints_refuse_without_the_token(server):
    # A reverse proxy on the same host: the peer is loopback, the client in X-Forwarded-For.
    for forwarded in ("198.51.100.7", "127.0.0.1"):
        headers = {"X-Forwarded-For": forwarded}
        for method, path, body in (("GET", "/api/journal", None), ("GET", "/api/cluster", None),
                                   ("POST", "/api/admin/create-account", {"name": "eve"}),
                                   ("POST", "/api/admin/disable-account", {"account_id": 1})):
            status, raw = server.http(method, path, body, headers=headers)
            assert status == 401, (forwarded, path, status, raw)
            assert json.loads(raw)["error"]["code"] == "unauthenticated"
        headers["Authorization"] = "Bearer " + "f" * 64
        status, _ = server.http("GET", "/api/journal", headers=headers)
        assert status == 401
    # No account was created by the attempts above.
    account_id, _ = server.signup("first")
    assert account_id == 1
    # The right token through the same "proxy": served.
    status, body = server.http("GET", "/api/journal", headers={
        "X-Forwarded-For": "198.51.100.7", "Authorization": f"Bearer {server.admin_token}"})
    assert status == 200 and json.loads(body)["kind"] == "rocksdb"
    # And `hibiki journal status` without a token says what is missing.
    env = dict(os.environ)
    env.pop("HIBIKI_ADMIN_TOKEN", None)
    r = subprocess.run([CLI, "journal", "status", "--url", server.url], capture_output=True,
                       text=True, env=env, timeout=30)
    assert r.returncode == 1 and "HTTP 401" in r.stderr and "HIBIKI_ADMIN_TOKEN" in r.stderr


def test_operator_endpoints_are_off_without_token_or_listener(server_factory):
    s = server_factory(admin_token=False)
    stdout_match(s, "operator endpoints are off")
    for method, path, body in (("GET", "/api/journal", None), ("GET", "/api/cluster", None),
                               ("POST", "/api/admin/create-account", {"name": "eve"})):
        status, raw = s.http(method, path, body,
                             headers={"Authorization": "Bearer anything"})
        assert status == 403, (path, status, raw)
        assert b"--admin-token-file" in raw
    assert s.healthz() == 200


def test_the_admin_listener(server_factory):
    s = server_factory("--admin-http=127.0.0.1:0", "--open-signup=false")
    port = admin_port(s)
    admin_url = f"http://127.0.0.1:{port}"
    # The operator endpoints are on the admin listener only, without a token (none is set).
    status, _ = s.http("GET", "/api/journal")
    assert status == 404
    r = subprocess.run([CLI, "journal", "status", "--admin-url", admin_url], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    r = admin(s, "create-account", "carol", url=s.url, token_file="")
    assert r.returncode == 1 and "--admin-url" in r.stderr, r.stderr
    r = subprocess.run([CLI, "--admin-url", admin_url, "admin", "create-account", "carol"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    token = fields(r.stdout)["token"]
    assert s.connect(token).name == "carol"
    # The admin listener serves nothing else: no web client, no WebSocket, no sign-up.
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    conn.request("GET", "/")
    assert conn.getresponse().status == 404
    conn.close()


def test_admin_listener_with_a_token_wants_it(server_factory, tmp_path):
    token_file = tmp_path / "admin-token"
    fd = os.open(token_file, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, b"s3cret-admin-token\n")
    os.close(fd)
    s = server_factory("--admin-http=127.0.0.1:0", f"--admin-token-file={token_file}")
    admin_url = f"http://127.0.0.1:{admin_port(s)}"
    r = subprocess.run([CLI, "journal", "status", "--admin-url", admin_url], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 1 and "HTTP 401" in r.stderr
    r = subprocess.run([CLI, "journal", "status", "--admin-url", admin_url, "--admin-token-file",
                        str(token_file)], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    # The token on the main listener: not served there.
    status, _ = s.http("GET", "/api/journal",
                       headers={"Authorization": "Bearer s3cret-admin-token"})
    assert status == 404


@pytest.mark.parametrize("mode,content,says", [
    (0o644, b"token\n", "readable or writable by group or others"),
    (0o640, b"token\n", "chmod 600"),
    (0o600, b"", "is empty"),
    (0o600, b" \n\n", "is empty"),
    (0o600, b"two words\n", "more than one word"),
])
def test_hibikid_refuses_a_bad_token_file(hibikid_binary, tmp_path, mode, content, says):
    token_file = tmp_path / "admin-token"
    token_file.write_bytes(content)
    os.chmod(token_file, mode)
    r = subprocess.run([hibikid_binary, "--http=127.0.0.1:0", f"--data-dir={tmp_path / 'data'}",
                        f"--admin-token-file={token_file}"], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert says in r.stderr and "--admin-token-file" in r.stderr, r.stderr
    assert "serving" not in r.stdout
    assert not (tmp_path / "data").exists()
    r = subprocess.run([hibikid_binary, "--http=127.0.0.1:0", f"--data-dir={tmp_path / 'data'}",
                        f"--admin-token-file={tmp_path / 'missing'}"], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 2 and "cannot open" in r.stderr


def test_both_programs_report_their_version(hibikid_binary):
    out = []
    for binary in (hibikid_binary, CLI):
        r = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=20)
        assert r.returncode == 0, r.stderr
        name, version = r.stdout.split()
        assert name == os.path.basename(binary)
        out.append(version)
    assert out[0] == out[1] and re.fullmatch(r"\d+\.\d+\.\d+", out[0])


def test_projections_status_and_rebuild_bad_inputs(server_factory):
    """`hibiki admin projections` and `hibiki admin rebuild NAME` on a real hibikid: the status
    answers (whatever projections this build runs), a rebuild of an unknown name and a call
    without the admin token are refused with a clear message, and the server keeps serving."""
    s = server_factory()
    r = admin(s, "projections", "--json")
    assert r.returncode == 0, r.stderr
    listed = json.loads(r.stdout)
    assert isinstance(listed["projections"], list)
    for p in listed["projections"]:
        assert p["state"] in ("running", "rebuilding", "failing", "stopped"), p
        assert isinstance(p["lag"], int)
    names = [p["name"] for p in listed["projections"]]
    r = admin(s, "projections")
    assert r.returncode == 0, r.stderr
    if names:
        assert r.stdout.startswith("NAME"), r.stdout
    else:
        assert r.stdout == "no projections run on this node\n"

    r = admin(s, "rebuild", "no-such-projection")
    assert r.returncode != 0
    assert "no projection named no-such-projection" in r.stderr, r.stderr

    r = admin(s, "rebuild", names[0] if names else "search", token_file="")
    assert r.returncode != 0
    assert "admin token" in r.stderr, r.stderr
    status, _ = s.http("GET", "/api/projections")
    assert status == 401

    r = admin(s, "rebuild")
    assert r.returncode != 0
    assert "admin rebuild PROJECTION" in r.stderr, r.stderr
    # Still serving.
    _, token = s.signup("alice")
    alice = s.connect(token)
    alice.ok("create_room", name="after", members=[])
