"""The three logs of a real hibikid with --log-dir: what each records, that no token ever appears
in any of them (nor on stdout or stderr), and that SIGHUP reopens the files while the server keeps
serving. Also the log flags' start-up errors.
"""

import json
import os
import signal
import subprocess

import pytest

from conftest import Client, wait_for

ACCESS_HTTP_FIELDS = {"time", "event", "peer", "method", "path", "status", "bytes_in", "bytes_out",
                      "duration_ms"}
ACCESS_WS_FIELDS = {"time", "event", "peer", "path", "accepted", "account", "frames_in",
                    "frames_out", "bytes_in", "bytes_out", "duration_ms", "close_code",
                    "closed_by"}


def read_records(path):
    """Every line of a JSON-lines log, parsed (a line that is not one JSON object fails)."""
    if not os.path.exists(path):
        return []
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            assert isinstance(rec, dict), line
            out.append(rec)
    return out


def all_log_bytes(paths):
    out = {}
    for p in paths:
        with open(p, "rb") as f:
            out[p] = f.read()
    return out


def files_under(*dirs):
    found = []
    for d in dirs:
        for root, _, names in os.walk(d):
            found += [os.path.join(root, n) for n in names]
    return found


@pytest.fixture
def logged(server_factory, tmp_path):
    log_dir = tmp_path / "hibiki-logs"
    s = server_factory(f"--log-dir={log_dir}", "--log-level=debug")
    return s, str(log_dir)


def test_logs_record_requests_and_audit_events_and_never_a_token(logged, tmp_path):
    server, log_dir = logged
    access_log = os.path.join(log_dir, "access.log")
    audit_log = os.path.join(log_dir, "audit.log")
    app_log = os.path.join(log_dir, "app.log")
    assert os.path.exists(app_log) and os.path.exists(access_log) and os.path.exists(audit_log)

    # Accounts, good and bad authentication, messages, membership changes.
    alice_id, alice_token = server.signup("alice")
    bob_id, bob_token = server.signup("bob")
    carol_id, carol_token = server.signup("carol")
    tokens = [alice_token, bob_token, carol_token]

    alice = server.connect(alice_token)
    bob = server.connect(bob_token)
    room = alice.ok("create_room", name="logged", members=[bob_id])["room_id"]
    alice.ok("send_message", room_id=room, body="hello bob", client_msg_id="m1")
    bob.ok("send_message", room_id=room, body="hello alice", client_msg_id="m2")
    alice.ok("add_members", room_id=room, account_ids=[carol_id])
    alice.ok("add_members", room_id=room, account_ids=[bob_id], role="admin")
    alice.ok("remove_member", room_id=room, account_id=carol_id)
    bob.ok("leave_room", room_id=room)

    # Failures: a wrong token (a real token's neighbour, and one with query-string-like text), a
    # request before auth, bad HTTP requests, a path with a query string holding a token.
    wrong = alice_token[:-1] + ("0" if alice_token[-1] != "0" else "1")
    tokens.append(wrong)
    bad = server.connect()
    bad.fail("auth", "unauthenticated", token=wrong)
    unauth = server.connect()
    unauth.send("list_rooms")
    assert unauth.wait_closed() == 1008
    status, _ = server.http("POST", "/api/signup", "not json")
    assert status == 400
    status, _ = server.http("GET", f"/nothing-here?token={bob_token}")
    assert status == 404
    status, _ = server.http("GET", "/../etc/passwd")
    assert status == 400
    status, _ = server.http("PUT", "/healthz")
    assert status == 405
    assert server.healthz() == 200

    # Every WebSocket closes from the client side, so each gets its access record now.
    for c in (alice, bob, bad):
        c.close()

    # ---- the access log: one record per HTTP request, with its fields ----
    def http_records():
        return [r for r in read_records(access_log) if r["event"] == "http"]

    # 3 sign-ups, the bad sign-up, 404, 400, 405, healthz: 8 requests.
    recs = wait_for(lambda: (lambda r: r if len(r) >= 8 else None)(http_records()),
                    "8 http access records")
    assert len(recs) == 8, recs
    for r in recs:
        assert ACCESS_HTTP_FIELDS <= set(r), r
        assert r["peer"].startswith("127.0.0.1:"), r
        assert r["bytes_in"] > 0 and r["bytes_out"] > 0 and r["duration_ms"] >= 0, r
        assert "?" not in r["path"], r
    seen = [(r["method"], r["path"], r["status"]) for r in recs]
    assert seen.count(("POST", "/api/signup", 200)) == 3, seen
    assert ("POST", "/api/signup", 400) in seen
    assert ("GET", "/nothing-here", 404) in seen
    assert ("PUT", "/healthz", 405) in seen
    assert ("GET", "/healthz", 200) in seen
    assert any(s == 400 and m == "GET" for m, _, s in seen)  # the traversal attempt

    # ...and one per WebSocket session, with the account once authenticated.
    ws = wait_for(lambda: (lambda r: r if len(r) >= 4 else None)(
        [r for r in read_records(access_log) if r["event"] == "ws"]), "4 ws access records")
    for r in ws:
        assert ACCESS_WS_FIELDS <= set(r), r
        assert r["accepted"] is True and r["path"] == "/ws", r
    by_account = {r["account"]: r for r in ws}
    assert by_account[alice_id]["frames_in"] >= 6 and by_account[alice_id]["frames_out"] >= 6
    assert by_account[alice_id]["closed_by"] == "client"
    assert by_account[alice_id]["close_code"] == 1000
    assert by_account[bob_id]["bytes_in"] > 0
    unauthenticated = [r for r in ws if r["account"] == 0]
    # The bad auth and the request before auth (closed by the server with 1008).
    assert len(unauthenticated) == 2, ws
    assert any(r["closed_by"] == "server" and r["close_code"] == 1008 for r in unauthenticated)

    # ---- the audit log ----
    def audit_has(pred):
        return [r for r in read_records(audit_log) if pred(r)]

    signups = wait_for(lambda: audit_has(lambda r: r["event"] == "signup"), "sign-up records")
    assert {(r["account"], r["name"]) for r in signups} == {
        (alice_id, "alice"), (bob_id, "bob"), (carol_id, "carol")}
    assert all(r["peer"].startswith("127.0.0.1:") for r in signups)
    failed = wait_for(lambda: audit_has(lambda r: r["event"] == "auth_failed"), "auth_failed")
    assert len(failed) == 1 and failed[0]["reason"] == "unauthenticated", failed
    assert failed[0]["peer"].startswith("127.0.0.1:")
    ok = audit_has(lambda r: r["event"] == "auth")
    assert sorted(r["account"] for r in ok) == sorted([alice_id, bob_id])
    # Each sign-up made the account's my room: one room_created by the account itself.
    mine = wait_for(lambda: (lambda r: r if len(r) >= 3 else None)(audit_has(
        lambda r: r["event"] == "room_created" and r["room"] != room)), "my rooms' records")
    assert sorted((r["account"], r["by"], r["role"]) for r in mine) == sorted(
        (a, a, "admin") for a in (alice_id, bob_id, carol_id)), mine
    changes = wait_for(lambda: (lambda r: r if len(r) >= 6 else None)(audit_has(
        lambda r: r["event"] in ("room_created", "member_added", "role_changed", "member_removed",
                                 "member_left") and r["room"] == room)), "membership records")
    summary = [(r["event"], r["account"], r.get("role"), r["by"]) for r in changes]
    assert summary == [
        ("room_created", alice_id, "admin", alice_id),
        ("member_added", bob_id, "member", alice_id),
        ("member_added", carol_id, "member", alice_id),
        ("role_changed", bob_id, "admin", alice_id),
        ("member_removed", carol_id, None, alice_id),
        ("member_left", bob_id, None, bob_id),
    ], summary
    assert all(r["room"] == room for r in changes)
    assert [r.get("from_role") for r in changes if r["event"] == "role_changed"] == ["member"]

    # ---- the app log: timestamped lines with level and component ----
    with open(app_log, encoding="utf-8") as f:
        app_lines = f.read().splitlines()
    assert any("INFO  [hibikid] serving http://127.0.0.1:" in l for l in app_lines), app_lines
    for line in app_lines:
        assert line[:4].isdigit() and line[10] == "T" and line[23] == "Z", line

    # ---- no token anywhere: every log file, and stdout and stderr ----
    server.stop()
    needles = []
    for t in tokens:
        needles += [t, t[: len(t) // 2], t[len(t) // 2:]]
    admin_token = getattr(server, "admin_token", None)
    if admin_token:
        needles.append(admin_token)
    needles = [n.encode() for n in needles]
    # Every file but the admin token's own (the test harness writes it next to the logs).
    paths = [p for p in files_under(log_dir, server.log_dir)
             if p != getattr(server, "admin_token_file", None)]
    assert any(p.endswith(".stderr") for p in paths)
    contents = all_log_bytes(paths)
    contents["stdout"] = "\n".join(server.stdout_lines).encode()
    assert sum(len(c) for c in contents.values()) > 1000
    for where, data in contents.items():
        for n in needles:
            assert n not in data, f"a token (or half of one) is in {where}"
    # The check itself can see a token where one is written.
    assert needles[0] in (b"x" + needles[0] + b"x")


def test_sighup_reopens_the_logs_and_the_server_keeps_serving(logged):
    server, log_dir = logged
    access_log = os.path.join(log_dir, "access.log")
    audit_log = os.path.join(log_dir, "audit.log")
    app_log = os.path.join(log_dir, "app.log")
    server.signup("before")
    wait_for(lambda: read_records(audit_log), "the first audit record")
    wait_for(lambda: read_records(access_log), "the first access record")

    # An outside rotation: rename the files away, then SIGHUP.
    for p in (access_log, audit_log, app_log):
        os.rename(p, p + ".1")
    client = server.connect()  # a session open across the reopen
    server.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: os.path.exists(app_log) and "log files reopened" in open(app_log).read(),
             "the reopen in the new app log")
    assert server.proc.poll() is None, "SIGHUP must not stop hibikid"

    _, token = server.signup("after")
    client.ok("auth", token=token)
    client.close()
    wait_for(lambda: [r for r in read_records(access_log) if r["event"] == "ws"],
             "the session's record in the new file")
    assert server.healthz() == 200

    # A sign-up's records: its my room (made before the sign-up answers), the sign-up itself.
    new_audit = wait_for(lambda: (lambda r: r if len(r) >= 3 else None)(read_records(audit_log)),
                         "three audit records in the new file")
    assert [r["event"] for r in new_audit] == ["room_created", "signup", "auth"]
    assert new_audit[1]["name"] == "after"
    old_audit = read_records(audit_log + ".1")
    assert [(r["event"], r.get("name")) for r in old_audit] == [("room_created", None),
                                                                ("signup", "before")]
    new_access = wait_for(lambda: (lambda r: r if len(r) >= 3 else None)(read_records(access_log)),
                          "three access records in the new file")
    assert [r["event"] for r in new_access] == ["http", "ws", "http"]
    assert [r["path"] for r in read_records(access_log + ".1")] == ["/api/signup"]
    # A second SIGHUP without a rename keeps appending to the same files.
    server.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: open(app_log).read().count("log files reopened") == 2, "the second reopen")
    assert server.healthz() == 200
    assert len(wait_for(lambda: (lambda r: r if len(r) >= 4 else None)(read_records(access_log)),
                        "the access record after the second reopen")) == 4
    assert server.stop() == 0


def test_default_is_app_log_on_stderr_and_no_files(server_factory, tmp_path):
    server = server_factory()
    _, token = server.signup("quiet")
    server.connect(token).close()
    server.stop()
    with open(server.stderr_path, encoding="utf-8") as f:
        err = f.read()
    assert "[hibikid] serving http://" in err, err
    assert token not in err
    # No log file was written anywhere.
    names = {"app.log", "access.log", "audit.log"}
    assert not [p for p in files_under(str(tmp_path)) if os.path.basename(p) in names]


def run_hibikid(binary, *args, timeout=30):
    return subprocess.run([binary, "--http=127.0.0.1:0", *args], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=timeout)


def test_bad_log_flags_fail_at_start_with_a_clear_message(hibikid_binary, tmp_path):
    data = f"--data-dir={tmp_path / 'data'}"
    for args, says in [
        (["--log-level=verbose"], "--log-level"),
        (["--log-level=off"], "--log-level"),
        (["--log-max-files=0"], "--log-max-files"),
        (["--log-max-size=12"], "--log-max-size"),
        (["--app-log=off"], "--app-log"),
        (["--access-log="], "--access-log"),
    ]:
        r = run_hibikid(hibikid_binary, data, *args)
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        assert says in r.stderr, (args, r.stderr)
        assert "hibikid: serving" not in r.stdout

    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    for args in ([f"--log-dir={blocker}/logs"], [f"--audit-log={blocker}/audit.log"]):
        r = run_hibikid(hibikid_binary, data, *args)
        assert r.returncode == 1, (args, r.stdout, r.stderr)
        assert "a-file" in r.stderr and "log" in r.stderr, r.stderr
        assert "hibikid: serving" not in r.stdout
