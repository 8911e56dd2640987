"""The `hibiki` client against a hibikid serving TLS (--tls-cert, --tls-key), end to end.

Every server here has a certificate from a CA made for the test (conftest.make_test_certs), which
no system store trusts: the client must refuse it unless told to trust that CA (--ca-file) or not
to check at all (--insecure, said on stderr). The host name in the URL must be one the
certificate names. Failures (unknown CA, another host's certificate, an expired certificate, a
plain URL at the TLS port and the other way round, an unusable --ca-file) are clear messages with
exit 1, and the server keeps serving. The admin commands reach the TLS admin listener too.
"""
import json
import os
import subprocess

import pytest

from conftest import CLI, admin_listener, issue_server_cert, make_test_certs, needs_cli

pytestmark = needs_cli

UNKNOWN_CA = "the server's certificate is signed by an unknown CA"
INSECURE_WARNING = "--insecure: the server's certificate and host name are not checked"


@pytest.fixture
def certs(tmp_path):
    return make_test_certs(str(tmp_path / "certs"))


@pytest.fixture
def tls_server(server_factory, certs):
    return server_factory(tls_certs=certs)


def hibiki(*args, tmp_path, timeout=30):
    """Runs the client with its own token file and no token or admin token from the caller."""
    env = dict(os.environ, HIBIKI_CONFIG=str(tmp_path / "cli-token"))
    env.pop("HIBIKI_TOKEN", None)
    env.pop("HIBIKI_ADMIN_TOKEN", None)
    return subprocess.run([CLI, *args], capture_output=True, text=True, env=env, timeout=timeout)


def fields(stdout):
    return dict(line.split(": ", 1) for line in stdout.splitlines() if ": " in line)


def https(server, host="127.0.0.1"):
    return f"https://{host}:{server.port}"


def wss(server, host="127.0.0.1"):
    return f"wss://{host}:{server.port}"


def no_account_made(server):
    """The first account the server makes now is number 1: nothing was signed up before."""
    account_id, _ = server.signup("probe")
    return account_id == 1


def test_chat_commands_over_tls_with_the_ca_file(tls_server, certs, tmp_path):
    s = tls_server
    r = hibiki("--server", https(s), "--ca-file", certs["ca"], "signup", "carol", tmp_path=tmp_path)
    assert r.returncode == 0, r.stderr
    carol = fields(r.stdout)
    assert carol["name"] == "carol" and int(carol["account_id"]) > 0
    assert INSECURE_WARNING not in r.stderr
    bob = s.user("bob")

    # wss:// with the stored token; "localhost" is on the certificate too.
    for host in ("127.0.0.1", "localhost"):
        r = hibiki("--server", wss(s, host), "--ca-file", certs["ca"], "create-room", f"via-{host}",
                   str(bob.account_id), tmp_path=tmp_path)
        assert r.returncode == 0, (host, r.stderr)
        room_id = bob.next_event("room_created")["room_id"]
        assert f"room_id: {room_id}" in r.stdout
    r = hibiki("--ca-file", certs["ca"], "--server", wss(s), "send", str(room_id), "over tls",
               tmp_path=tmp_path)
    assert r.returncode == 0, r.stderr
    assert bob.next_event("message_created")["message"]["body"] == "over tls"
    r = hibiki("--server", wss(s), "--ca-file", certs["ca"], "rooms", tmp_path=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "via-localhost" in r.stdout and "via-127.0.0.1" in r.stdout


def test_refused_without_the_ca_file(tls_server, tmp_path):
    s = tls_server
    r = hibiki("--server", https(s), "signup", "mallory", tmp_path=tmp_path)
    assert r.returncode == 1, r.stdout
    assert UNKNOWN_CA in r.stderr and "--ca-file" in r.stderr, r.stderr
    assert r.stdout == ""
    _, token = s.signup("dave")
    r = hibiki("--server", wss(s), "--token", token, "rooms", tmp_path=tmp_path)
    assert r.returncode == 1 and UNKNOWN_CA in r.stderr, r.stderr
    # Another CA's certificate file does not make this server trusted either.
    other = make_test_certs(str(tmp_path / "other-ca"))
    r = hibiki("--server", wss(s), "--ca-file", other["ca"], "--token", token, "rooms",
               tmp_path=tmp_path)
    assert r.returncode == 1 and UNKNOWN_CA in r.stderr, r.stderr
    # The refused sign-up made nothing; the server keeps serving.
    assert s.healthz() == 200
    status, body = s.operator_http("POST", "/api/admin/create-account", {"name": "after"})
    assert status == 200 and json.loads(body)["account_id"] == 2, body


def test_insecure_skips_the_check_and_says_so(tls_server, tmp_path):
    s = tls_server
    r = hibiki("--insecure", "--server", https(s), "signup", "erin", tmp_path=tmp_path)
    assert r.returncode == 0, r.stderr
    assert INSECURE_WARNING in r.stderr, r.stderr
    assert fields(r.stdout)["name"] == "erin"
    r = hibiki("--server", wss(s), "--insecure", "rooms", tmp_path=tmp_path)
    assert r.returncode == 0, r.stderr
    assert INSECURE_WARNING in r.stderr
    # Not said where nothing is skipped: a plain server has no certificate to check.
    plain = hibiki("--insecure", "--server", "http://127.0.0.1:1", "signup", "x", tmp_path=tmp_path)
    assert INSECURE_WARNING not in plain.stderr


def test_admin_create_account_over_https(server_factory, certs, tmp_path):
    s = server_factory("--open-signup=false", tls_certs=certs)
    status, _ = s.http("POST", "/api/signup", {"name": "mallory"})
    assert status == 403
    r = hibiki("admin", "create-account", "alice", "--url", https(s), "--ca-file", certs["ca"],
               "--admin-token-file", s.admin_token_file, tmp_path=tmp_path)
    assert r.returncode == 0, r.stderr
    f = fields(r.stdout)
    assert f["name"] == "alice"
    alice = s.connect(f["token"])
    assert alice.account_id == int(f["account_id"])
    # The same without the CA: refused before the token is sent; nothing created.
    r = hibiki("--server", https(s), "admin", "create-account", "bob", "--admin-token-file",
               s.admin_token_file, tmp_path=tmp_path)
    assert r.returncode == 1 and UNKNOWN_CA in r.stderr, r.stderr
    # journal status and cluster status over https as well.
    for command in ("journal", "cluster"):
        r = hibiki(command, "status", "--json", "--url", https(s, "localhost"), "--ca-file",
                   certs["ca"], "--admin-token-file", s.admin_token_file, tmp_path=tmp_path)
        assert r.returncode == 0, (command, r.stderr)
        assert isinstance(json.loads(r.stdout), dict)
    status, body = s.operator_http("POST", "/api/admin/create-account", {"name": "carl"})
    assert status == 200 and json.loads(body)["account_id"] == int(f["account_id"]) + 1, body


def test_admin_commands_on_the_tls_admin_listener(server_factory, certs, tmp_path):
    s = server_factory("--admin-http=127.0.0.1:0", tls_certs=certs)
    scheme, port = admin_listener(s)
    assert scheme == "https"
    admin_url = f"https://127.0.0.1:{port}"
    r = hibiki("--admin-url", admin_url, "--ca-file", certs["ca"], "admin", "create-account",
               "ops", tmp_path=tmp_path)
    assert r.returncode == 0, r.stderr
    account_id = fields(r.stdout)["account_id"]
    r = hibiki("admin", "rename", account_id, "ops2", "--admin-url", admin_url, "--ca-file",
               certs["ca"], tmp_path=tmp_path)
    assert r.returncode == 0, r.stderr
    assert fields(r.stdout)["name"] == "ops2"
    # A plain http:// URL at the TLS admin listener: a clear hint, nothing done.
    r = hibiki("admin", "create-account", "x", "--admin-url", f"http://127.0.0.1:{port}",
               tmp_path=tmp_path)
    assert r.returncode == 1
    assert "use https:// or wss://" in r.stderr, r.stderr


def test_wrong_host_name_is_refused(server_factory, certs, tmp_path):
    # A certificate of the right CA for another name only.
    other_cert = os.path.join(certs["dir"], "elsewhere.pem")
    other_key = os.path.join(certs["dir"], "elsewhere.key")
    issue_server_cert(certs, other_cert, other_key, names="DNS:elsewhere.example")
    s = server_factory(tls_certs=dict(certs, cert=other_cert, key=other_key))
    for url in (https(s), https(s, "localhost"), wss(s)):
        r = hibiki("--server", url, "--ca-file", certs["ca"], "signup", "x", tmp_path=tmp_path)
        assert r.returncode == 1, (url, r.stdout)
        assert "the server's certificate is not for the host in the URL" in r.stderr, r.stderr
    # --insecure skips the name check too (and says so).
    r = hibiki("--server", https(s), "--insecure", "signup", "y", tmp_path=tmp_path)
    assert r.returncode == 0 and INSECURE_WARNING in r.stderr, r.stderr


def test_expired_certificate_is_refused(server_factory, certs, tmp_path):
    expired_cert = os.path.join(certs["dir"], "expired.pem")
    expired_key = os.path.join(certs["dir"], "expired.key")
    issue_server_cert(certs, expired_cert, expired_key, days=0)
    s = server_factory(tls_certs=dict(certs, cert=expired_cert, key=expired_key))
    r = hibiki("--server", https(s), "--ca-file", certs["ca"], "signup", "x", tmp_path=tmp_path)
    assert r.returncode == 1, r.stdout
    assert "the server's certificate was refused: certificate has expired" in r.stderr, r.stderr
    # Nothing was made (this test's own clients would refuse the certificate too: --insecure).
    r = hibiki("--server", https(s), "--insecure", "signup", "probe", tmp_path=tmp_path)
    assert r.returncode == 0 and fields(r.stdout)["account_id"] == "1", (r.stdout, r.stderr)


def test_scheme_mismatches_are_explained(server_factory, tls_server, tmp_path):
    # http:// or ws:// at a TLS port: the server closes without an answer; the client says why.
    for url in (f"http://127.0.0.1:{tls_server.port}", f"ws://127.0.0.1:{tls_server.port}"):
        r = hibiki("--server", url, "--token", "00" * 32, "rooms", tmp_path=tmp_path)
        assert r.returncode == 1, url
        assert "if it serves TLS" in r.stderr and "use https:// or wss://" in r.stderr, r.stderr
    r = hibiki("--server", f"http://127.0.0.1:{tls_server.port}", "signup", "x", tmp_path=tmp_path)
    assert r.returncode == 1 and "use https:// or wss://" in r.stderr, r.stderr
    assert tls_server.healthz() == 200
    # https:// at a plain port.
    plain = server_factory()
    assert plain.ssl_context is None, "run this module without HIBIKI_E2E_TLS"
    r = hibiki("--server", f"https://127.0.0.1:{plain.port}", "--insecure", "signup", "x",
               tmp_path=tmp_path)
    assert r.returncode == 1, r.stdout
    assert "the server does not speak TLS there" in r.stderr, r.stderr
    assert plain.healthz() == 200


def test_unusable_ca_file(tls_server, tmp_path):
    missing = tmp_path / "no-such-ca.pem"
    r = hibiki("--server", https(tls_server), "--ca-file", str(missing), "signup", "x",
               tmp_path=tmp_path)
    assert r.returncode == 1
    assert f"cannot read --ca-file {missing}" in r.stderr, r.stderr
    not_pem = tmp_path / "not-a-ca.pem"
    not_pem.write_text("hello\n")
    r = hibiki("--server", https(tls_server), "--ca-file", str(not_pem), "signup", "x",
               tmp_path=tmp_path)
    assert r.returncode == 1
    assert f"cannot use --ca-file {not_pem}" in r.stderr, r.stderr
    # Usage errors: no value.
    r = hibiki("--server", https(tls_server), "--ca-file", tmp_path=tmp_path)
    assert r.returncode == 2
    assert no_account_made(tls_server)
