"""End-to-end tests of the `hibiki` command-line client against a real hibikid.

The CLI speaks the same WebSocket protocol as every other client; these tests run the binary the
way a user would (its stdout, stderr and exit codes) and check the effects through a Python
client that nobody here wrote.
"""
import json
import os
import queue
import signal
import subprocess
import threading
import time

import pytest

from conftest import CLI, needs_cli

pytestmark = needs_cli


def run_cli(server, tmp_path, *args, token=None, timeout=20):
    env = dict(os.environ)
    env["HIBIKI_CONFIG"] = str(tmp_path / "token")
    env.pop("HIBIKI_TOKEN", None)
    argv = [CLI, "--server", server.ws_url.rsplit("/ws", 1)[0]]
    if token is not None:
        argv += ["--token", token]
    return subprocess.run(argv + list(args), capture_output=True, text=True, env=env,
                          timeout=timeout)


def test_signup_send_rooms_and_create(server, tmp_path):
    r = run_cli(server, tmp_path, "signup", "carol")
    assert r.returncode == 0, r.stderr
    assert "carol" in r.stdout
    token_file = tmp_path / "token"
    assert token_file.exists()
    assert oct(token_file.stat().st_mode & 0o777) == oct(0o600)
    token = token_file.read_text().strip()

    bob = server.user("bob")
    # The stored token is used when no --token is given.
    r = run_cli(server, tmp_path, "create-room", "ops", str(bob.account_id))
    assert r.returncode == 0, r.stderr
    created = bob.next_event("room_created")
    room_id = created["room_id"]
    assert str(room_id) in r.stdout

    r = run_cli(server, tmp_path, "send", str(room_id), "hello [To:%d]" % bob.account_id)
    assert r.returncode == 0, r.stderr
    pushed = bob.next_event("message_created")
    assert pushed["message"]["body"] == "hello [To:%d]" % bob.account_id
    assert pushed["message"]["message_id"] in r.stdout

    listing = [x for x in bob.ok("list_rooms", details=True)["rooms"] if x["type"] != "my"]
    assert [(x["room_id"], x["unread_num"], x["mention_num"]) for x in listing] == [(room_id, 1, 1)]

    r = run_cli(server, tmp_path, "rooms", token=token)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    ops = [line.split() for line in lines[1:] if line.split()[0] == str(room_id)]
    assert ops and ops[0][1:4] == ["ops", "group", "admin"], r.stdout
    # carol's my room (made at sign-up) is listed with its type and a name to show.
    mine = [line for line in lines if "(my chat)" in line]
    assert len(mine) == 1 and mine[0].split()[3:5] == ["my", "admin"], r.stdout


def test_tail_prints_history_then_live_messages(server, tmp_path):
    alice = server.user("alice")
    _, bob_token = server.signup("bob")
    room_id = alice.ok("create_room", name="tailing", members=[2])["room_id"]
    alice.ok("send_message", room_id=room_id, body="before tail", client_msg_id="t-1")

    env = dict(os.environ, HIBIKI_CONFIG=str(tmp_path / "token"))
    proc = subprocess.Popen([CLI, "--server", server.ws_url.rsplit("/ws", 1)[0], "--token",
                             bob_token, "tail", str(room_id)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    lines = queue.Queue()
    threading.Thread(target=lambda: [lines.put(l) for l in proc.stdout], daemon=True).start()
    try:
        seen = ""
        deadline = time.time() + 15
        sent_live = False
        while time.time() < deadline and "live line" not in seen:
            try:
                seen += lines.get(timeout=0.2)
            except queue.Empty:
                pass
            if "before tail" in seen and not sent_live:
                alice.ok("send_message", room_id=room_id, body="live line", client_msg_id="t-2")
                sent_live = True
        assert "before tail" in seen, seen
        assert "live line" in seen, seen
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_errors_and_usage(server, tmp_path):
    # No token anywhere: a clear error, exit 1.
    r = run_cli(server, tmp_path, "rooms")
    assert r.returncode == 1
    assert r.stderr.strip()
    # A bad token: the server's refusal is reported, exit 1.
    r = run_cli(server, tmp_path, "rooms", token="00" * 32)
    assert r.returncode == 1
    assert "unauthenticated" in r.stderr or "token" in r.stderr.lower()
    # Sending to a room that does not exist: the error code is shown, exit 1.
    _, token = server.signup("dave")
    r = run_cli(server, tmp_path, "send", "999", "x", token=token)
    assert r.returncode == 1
    assert "not_found" in r.stderr
    # Usage errors: exit 2.
    assert run_cli(server, tmp_path, "send", "1").returncode == 2
    assert run_cli(server, tmp_path, "frobnicate").returncode == 2
    assert run_cli(server, tmp_path, "send", "abc", "x", token=token).returncode == 2
    # Nothing listening: exit 1, no hang.
    env = dict(os.environ, HIBIKI_CONFIG=str(tmp_path / "token"))
    r = subprocess.run([CLI, "--server", "ws://127.0.0.1:1", "--token", token, "rooms"],
                       capture_output=True, text=True, env=env, timeout=20)
    assert r.returncode == 1
    # The server is still fine.
    assert server.healthz() == 200


# ---- hibiki journal status, and hibikid's journal flags ------------------------------------------


def assert_hibikid_refuses(hibikid_binary, tmp_path, args, says):
    """hibikid with `args` exits 2 saying `says`, before it serves or opens its data directory."""
    r = subprocess.run([hibikid_binary, "--http=127.0.0.1:0", f"--data-dir={tmp_path / 'data'}"]
                       + args, capture_output=True, text=True, timeout=20)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert says in r.stderr, r.stderr
    assert "serving" not in r.stdout
    assert not (tmp_path / "data").exists()


def operator_env(server):
    """The environment of an operator command against `server`: its admin token in
    HIBIKI_ADMIN_TOKEN (the --admin-token-file flag is tested on its own)."""
    env = dict(os.environ)
    env.pop("HIBIKI_ADMIN_TOKEN", None)
    if server is not None:
        env["HIBIKI_ADMIN_TOKEN"] = server.admin_token
    return env


def run_journal_status(*args, server=None, timeout=20):
    return subprocess.run([CLI, "journal", "status"] + list(args), capture_output=True, text=True,
                          env=operator_env(server), timeout=timeout)


def test_journal_status_on_the_embedded_journal(server, tmp_path):
    assert any("journal rocksdb" in line for line in server.stdout_lines), server.stdout_lines
    alice = server.user("alice")
    room_id = alice.ok("create_room", name="status", members=[])["room_id"]
    alice.ok("send_message", room_id=room_id, body="counted", client_msg_id="js-1")

    r = run_journal_status("--url", server.url, server=server)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert "journal    rocksdb" in lines, r.stdout
    assert any(l.startswith("breaker    closed (0 failures in a row; opens at 10;") for l in lines)
    assert "partitions none (not partitioned)" in lines, r.stdout
    appends = [l for l in lines if l.startswith("appends")]
    # Sign-up, room creation and the message each appended at least one event.
    assert appends and int(appends[0].split()[1]) >= 3, r.stdout

    r = run_journal_status("--url", server.url, "--json", server=server)
    assert r.returncode == 0, r.stderr
    j = json.loads(r.stdout)
    assert j["kind"] == "rocksdb"
    assert j["partitions"] == [] and j["partition_count"] == 0
    assert j["appends"] >= 3 and j["failed"] == 0
    assert j["breaker"] == {"state": "closed", "consecutive_failures": 0, "max_failures": 10,
                            "call_timeout_ms": 10000, "reset_timeout_ms": 30000}

    # The endpoint itself: GET only.
    status, body = server.operator_http("POST", "/api/journal", {})
    assert status == 405, body
    status, body = server.operator_http("GET", "/api/journal")
    assert status == 200 and json.loads(body)["kind"] == "rocksdb"


def test_journal_status_shows_the_breaker_flags(server_factory):
    s = server_factory("--breaker-max-failures=3", "--breaker-call-timeout=1500",
                       "--breaker-reset-timeout=0")
    r = run_journal_status("--json", "--url", s.url, server=s)
    assert r.returncode == 0, r.stderr
    breaker = json.loads(r.stdout)["breaker"]
    assert breaker["max_failures"] == 3
    assert breaker["call_timeout_ms"] == 1500
    assert breaker["reset_timeout_ms"] == 0
    assert breaker["state"] == "closed"


def test_journal_status_errors(server):
    url = server.url
    # Usage errors: exit 2, nothing sent.
    for args in (["--bogus"], ["--url"], ["--url", "ftp://x:1"], ["extra"]):
        r = run_journal_status(*args)
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        assert r.stderr.strip()
    r = subprocess.run([CLI, "journal"], capture_output=True, text=True, timeout=20)
    assert r.returncode == 2 and "journal status" in r.stderr
    # The server goes away: a clear message, exit 1, no hang.
    server.stop()
    r = run_journal_status("--url", url, server=server)
    assert r.returncode == 1
    assert "cannot connect" in r.stderr, r.stderr
    assert r.stdout == ""


@pytest.mark.parametrize("args,says", [
    (["--journal=kafka"], "--journal=kafka needs --kafka-brokers"),
    (["--journal=postgres"], "expected rocksdb or kafka"),
    (["--kafka-brokers=127.0.0.1:9092"], "add --journal=kafka"),
    (["--journal=kafka", "--kafka-brokers=nohostport"], "--kafka-brokers"),
    (["--kafka-partitions=0"], "--kafka-partitions"),
    (["--breaker-max-failures=many"], "--breaker-max-failures"),
    (["--breaker-call-timeout=1s"], "--breaker-call-timeout"),
    # librdkafka's own check of --kafka-config, before anything connects or is created.
    (["--journal=kafka", "--kafka-brokers=127.0.0.1:9092", "--kafka-config=no.such.property=1"],
     "No such configuration property"),
    (["--journal=kafka", "--kafka-brokers=127.0.0.1:9092",
      "--kafka-config=security.protocol=pigeon"], "security.protocol"),
    (["--journal=kafka", "--kafka-brokers=127.0.0.1:9092", "--kafka-config=group.id=mine"],
     "set by hibiki itself"),
    (["--kafka-open-timeout=0"], "--kafka-open-timeout"),
])
def test_hibikid_refuses_bad_journal_flags(hibikid_binary, tmp_path, args, says):
    assert_hibikid_refuses(hibikid_binary, tmp_path, args, says)


# ---- hibiki cluster status on a single node, and hibikid's cluster flags -------------------------


def run_cluster_status(*args, server=None, timeout=30):
    return subprocess.run([CLI, "cluster", "status"] + list(args), capture_output=True, text=True,
                          env=operator_env(server), timeout=timeout)


def test_cluster_status_of_a_single_node(server_factory):
    s = server_factory("--node-id=solo")
    r = run_cluster_status("--url", s.url, server=s)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "cluster    no (a single node: solo)", r.stdout
    assert "nodes      1 (1 reachable)" in lines, r.stdout
    row = [l for l in lines if l.startswith("solo*")]
    assert row and row[0].split()[1:4] == ["-", "yes", "all"], r.stdout

    r = run_cluster_status("--json", "--url", s.url, server=s)
    assert r.returncode == 0, r.stderr
    j = json.loads(r.stdout)
    assert j["clustered"] is False and j["node"] == "solo"
    assert len(j["nodes"]) == 1 and j["nodes"][0]["self"] is True
    assert j["nodes"][0]["journal"]["kind"] == "rocksdb"

    # The endpoint: GET only.
    status, body = s.operator_http("POST", "/api/cluster", {})
    assert status == 405, body


def test_cluster_status_errors(server):
    for args in (["--bogus"], ["--url"], ["--url", "ftp://x:1"], ["n1"]):
        r = run_cluster_status(*args)
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        assert r.stderr.startswith("hibiki: ") and "Try 'hibiki --help'" in r.stderr, r.stderr
    r = subprocess.run([CLI, "cluster"], capture_output=True, text=True, timeout=20)
    assert r.returncode == 2 and "cluster status" in r.stderr
    url = server.url
    server.stop()
    r = run_cluster_status("--url", url, server=server)
    assert r.returncode == 1
    assert "cannot connect" in r.stderr, r.stderr
    assert r.stdout == ""


@pytest.mark.parametrize("args,says", [
    (["--cluster=127.0.0.1:7101"], "--cluster needs --journal=kafka"),
    (["--journal=kafka", "--kafka-brokers=127.0.0.1:9092", "--cluster=0.0.0.0:7101"],
     "--cluster"),
    (["--journal=kafka", "--kafka-brokers=127.0.0.1:9092", "--cluster=127.0.0.1:0"],
     "--cluster"),
    (["--journal=kafka", "--kafka-brokers=127.0.0.1:9092", "--cluster=[::1]:7101"],
     "IPv6 is not supported"),
    (["--node-id=a@b"], "--node-id"),
    (["--cluster-session-timeout=500"], "--cluster-session-timeout"),
    (["--route-wait=0"], "--route-wait"),
])
def test_hibikid_refuses_bad_cluster_flags(hibikid_binary, tmp_path, args, says):
    assert_hibikid_refuses(hibikid_binary, tmp_path, args, says)


def test_hibikid_takes_options_from_the_environment_and_a_config_file(hibikid_binary, tmp_path):
    """Flag > HIBIKI_* variable > config file: the serving line shows the data dir that won, and
    an unknown HIBIKI_ variable is a warning, not a failure. A bad variable is refused (exit 2)."""
    conf = tmp_path / "hibikid.conf"
    conf.write_text("# the file\ndata-dir = %s\nhttp = 127.0.0.1:1\n" % (tmp_path / "from-file"))
    env = dict(os.environ, HIBIKI_DATA_DIR=str(tmp_path / "from-env"), HIBIKI_NO_SUCH="1",
               HIBIKI_HTTP="127.0.0.1:0")
    proc = subprocess.Popen([hibikid_binary, f"--config={conf}"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert "hibikid: serving http://127.0.0.1:" in line, line
        assert f"data dir {tmp_path / 'from-env'}," in line, line
        assert ":1 " not in line  # the file's port lost to the environment's
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "HIBIKI_NO_SUCH" in err
    assert (tmp_path / "from-env").is_dir() and not (tmp_path / "from-file").exists()

    bad = subprocess.run([hibikid_binary, f"--data-dir={tmp_path / 'never'}"],
                         env=dict(os.environ, HIBIKI_IDLE_TIMEOUT="soon"),
                         capture_output=True, text=True, timeout=20)
    assert bad.returncode == 2, (bad.stdout, bad.stderr)
    assert "HIBIKI_IDLE_TIMEOUT: invalid value 'soon' for --idle-timeout" in bad.stderr
    assert not (tmp_path / "never").exists()


def test_people_commands(server, tmp_path):
    alice_id, alice_token = server.signup("alice")
    bob = server.user("bob")
    r = run_cli(server, tmp_path, "me", token=alice_token)
    assert r.returncode == 0, r.stderr
    fields = dict(line.split(": ", 1) for line in r.stdout.splitlines())
    assert fields["account_id"] == str(alice_id) and fields["name"] == "alice", r.stdout
    assert int(fields["room_id"]) > 0, r.stdout
    r = run_cli(server, tmp_path, "profile", "title=lead", "department=", token=alice_token)
    assert r.returncode == 0, r.stderr
    assert "title: lead" in r.stdout.splitlines(), r.stdout
    assert bob.ok("get_profiles", account_ids=[alice_id])["profiles"] == []  # strangers still

    r = run_cli(server, tmp_path, "contact-request", str(bob.account_id), "hello bob",
                token=alice_token)
    assert r.returncode == 0, r.stderr
    assert [x["message"] for x in bob.ok("incoming_requests")["requests"]] == ["hello bob"]
    room = bob.ok("accept_contact", request_id=alice_id)["room_id"]
    r = run_cli(server, tmp_path, "contacts", token=alice_token)
    assert r.returncode == 0, r.stderr
    row = r.stdout.splitlines()[1].split()
    assert row[:3] == [str(bob.account_id), str(room), "bob"], r.stdout
    r = run_cli(server, tmp_path, "dm", str(bob.account_id), "hi from the CLI", token=alice_token)
    assert r.returncode == 0, r.stderr
    pushed = bob.next_event("message_created", pred=lambda e: e["room_id"] == room)
    assert pushed["message"]["body"] == "hi from the CLI"
    assert pushed["message"]["account"] == {"account_id": alice_id, "name": "alice"}
    # `rooms` names the direct room after the contact.
    r = run_cli(server, tmp_path, "rooms", token=alice_token)
    assert r.returncode == 0, r.stderr
    direct = [line.split() for line in r.stdout.splitlines()[1:] if line.split()[0] == str(room)]
    assert direct and direct[0][1:4] == ["bob", "direct", "admin"], r.stdout

    # bob asks carol; carol sees it with `requests` and turns it down with `reject`.
    carol_id, carol_token = server.signup("carol")
    bob.ok("request_contact", account_id=carol_id)
    r = run_cli(server, tmp_path, "requests", token=carol_token)
    assert r.returncode == 0 and r.stdout.splitlines()[1].split()[:3] == \
        [str(bob.account_id), str(bob.account_id), "bob"], r.stdout
    r = run_cli(server, tmp_path, "reject", str(bob.account_id), token=carol_token)
    assert r.returncode == 0, r.stderr
    assert bob.ok("contacts")["contacts"][0]["account_id"] == alice_id

    # Errors: not a contact, no request (exit 1, the server's message); bad usage (exit 2).
    r = run_cli(server, tmp_path, "dm", str(carol_id), "x", token=alice_token)
    assert r.returncode == 1 and "not among your contacts" in r.stderr, (r.stdout, r.stderr)
    r = run_cli(server, tmp_path, "accept", str(carol_id), token=alice_token)
    assert r.returncode == 1 and "no contact request" in r.stderr, r.stderr
    for args in (["dm", "0", "x"], ["dm", "2"], ["dm", "2", ""], ["profile"],
                 ["profile", "nick=x"], ["profile", "title"], ["accept"], ["reject", "x"],
                 ["contact-request"], ["me", "extra"], ["contacts", "x"]):
        r = run_cli(server, tmp_path, *args, token=alice_token)
        assert r.returncode == 2, (args, r.stdout, r.stderr)
    r = run_cli(server, tmp_path, "profile", "chatwork_id=bad id", token=alice_token)
    assert r.returncode == 1 and "chatwork_id" in r.stderr, r.stderr
