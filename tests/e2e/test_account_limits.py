"""Per-account limits on a node: at most --max-connections-per-account authenticated connections
(the next auth gets `rate_limited` and the connection is closed with 1008), and one request
budget (--account-rate, --account-burst) shared by all of an account's connections. Other
accounts keep being served."""

import time

import pytest


def test_connections_past_the_account_cap_are_refused_and_closed(server_factory):
    server = server_factory("--max-connections-per-account=3")
    account_id, token = server.signup("alice")
    conns = [server.connect(token) for _ in range(3)]
    extra = server.connect()
    r = extra.fail("auth", "rate_limited", token=token)
    assert "3 connections" in r["error"]["message"], r
    assert extra.wait_closed() == 1008
    # The three are still served, and so is another account.
    for c in conns:
        c.ok("ping")
    bob = server.user("bob")
    bob.ok("ping")
    # A closed connection frees its slot.
    conns[0].close()
    deadline = time.monotonic() + 15
    while True:
        again = server.connect()
        r = again.request("auth", token=token)
        if r.get("ok") is True:
            break
        # The close may reach the server after the new auth: the slot is then still taken.
        assert r["error"]["code"] == "rate_limited", r
        assert time.monotonic() < deadline, "the closed connection's slot never came back"
        time.sleep(0.1)
    again.ok("ping")


def test_an_account_shares_one_request_budget_across_connections(server_factory):
    server = server_factory("--account-rate=1/s", "--account-burst=20")
    _, token = server.signup("alice")
    conns = [server.connect(token) for _ in range(4)]
    bob = server.user("bob")
    # 4 connections x 15 pings: each connection alone is far under its own limit (burst 200),
    # the account together is over its burst of 20.
    rids = [(c, [c.send("ping") for _ in range(15)]) for c in conns]
    replies = [c.reply(rid) for c, ids in rids for rid in ids]
    ok = [r for r in replies if r["ok"] is True]
    limited = [r for r in replies if r["ok"] is False]
    # At least the burst went through (auth spends no account token), and not everything did.
    assert 20 <= len(ok) < 60, len(ok)
    for r in limited:
        assert r["error"]["code"] == "rate_limited", r
        assert "account" in r["error"]["message"], r
    # Rate limiting closes nothing, and bob is unaffected.
    for c in conns:
        assert not c.closed
    for _ in range(15):  # bob's own budget: the same burst of 20, untouched by alice
        bob.ok("ping")


@pytest.mark.parametrize(
    "flag",
    [
        "--account-rate=0",
        "--account-rate=fast",
        "--account-burst=-1",
        "--max-connections-per-account=0",
        "--sync-max-rooms=0",
        "--sync-batch-bytes=3000000",  # more than half of the default --max-outgoing-bytes
    ],
)
def test_bad_limit_flags_are_refused(hibikid_binary, tmp_path, flag):
    import subprocess

    p = subprocess.run(
        [hibikid_binary, "--http=127.0.0.1:0", f"--data-dir={tmp_path}", flag],
        capture_output=True,
        timeout=30,
    )
    assert p.returncode != 0
    name = flag.split("=")[0]
    assert name.encode() in p.stderr, p.stderr
