"""The cluster port's security: mutual TLS, real processes, a real broker.

  - bad_files (no broker): a clustered node without certificates and without --cluster-insecure,
    and every kind of bad --cluster-tls-cert / --cluster-tls-key / --cluster-ca, exit 2 with a
    message naming the flag and the file, before the journal is opened; good files get past the
    check (the positive control).
  - mtls_refuses_intruders: two nodes over mutual TLS (certificates from scripts/cluster-certs)
    chat across nodes; then a plain TCP client sending BASP-looking bytes, a TLS client without a
    certificate, and CAF nodes (hibiki_cluster_intruder) without TLS, with a self-signed
    certificate, and with a certificate from another CA are all refused at the handshake; the forged-command attack (a
    message posted as another account, a forged message_created pushed to a live connection) does
    nothing; the nodes keep serving. A CAF node holding a certificate of the cluster CA does get in
    (the intruder tool works, so the refusals above are real) and a message of a shape the port
    does not expect is refused and logged.
  - insecure_port: one node with --cluster-insecure says so at start, in /api/cluster and in
    `hibiki cluster status`; the same intruder, without any certificate, then does post as
    another account and push to a live connection: what mutual TLS prevents.
  - scripts_cluster: scripts/cluster start, status, start again (nothing restarted), stop, status,
    start (certificates reused), stop: twice through, on the test broker, with its bad inputs.
"""

import json
import os
import socket
import ssl
import stat
import subprocess
import time
import uuid

import pytest

import conftest
import test_cluster as tc
from test_cluster import Cluster, bootstrap, connect, free_port, make_certs, ok_anyway, signup  # noqa: F401

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
SETTLE_TIMEOUT = 180.0


def intruder_binary():
    env = os.environ.get("HIBIKI_CLUSTER_INTRUDER")
    if env:
        return env
    hibikid = os.environ.get("HIBIKID") or conftest._find_hibikid()
    candidate = os.path.join(os.path.dirname(hibikid or ""), "hibiki_cluster_intruder")
    if not os.access(candidate, os.X_OK):
        pytest.fail("hibiki_cluster_intruder not found: set HIBIKI_CLUSTER_INTRUDER (ctest does)")
    return candidate


def intrude(mode, port, *args, creds=()):
    """Runs the intruder against 127.0.0.1:port; returns (exit code, its JSON report)."""
    r = subprocess.run(
        [intruder_binary(), mode, "127.0.0.1", str(port), *map(str, creds), *map(str, args)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode in (0, 3), (r.returncode, r.stdout, r.stderr)
    report = json.loads(r.stdout.strip().splitlines()[-1])
    assert report["connected"] == (r.returncode == 0), report
    return r.returncode, report


def openssl(*args, cwd):
    r = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, (args, r.stderr)


def sign_with_extensions(tls_dir, name, extensions):
    """A key and a certificate CN=name signed by tls_dir's CA with the given extension lines."""
    ext = tls_dir / f"{name}.ext"
    ext.write_text("\n".join(extensions) + "\n")
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-out", f"{name}.key", cwd=tls_dir)
    openssl("req", "-new", "-key", f"{name}.key", "-subj", f"/CN={name}", "-out", f"{name}.csr",
            cwd=tls_dir)
    openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
            "-set_serial", "7", "-days", "30", "-extfile", ext.name, "-out", f"{name}.crt",
            cwd=tls_dir)


# ---- bad flags and files -----------------------------------------------------------------------


def test_bad_files(hibikid_binary, tmp_path):
    tls = make_certs(tmp_path / "tls", ["n1", "n2"])
    other = tmp_path / "other"
    env = dict(os.environ, CLUSTER_CA_SUBJECT="/CN=another CA")
    r = subprocess.run([os.path.join(ROOT, "scripts", "cluster-certs"), str(other), "n1"],
                       env=env, capture_output=True, timeout=120)
    assert r.returncode == 0, r.stderr
    (tmp_path / "garbage.pem").write_text("this is not PEM\n")
    (tmp_path / "empty.pem").write_text("")
    (tmp_path / "a-directory").mkdir()
    openssl("pkey", "-in", "n1.key", "-aes256", "-passout", "pass:secret", "-out", "n1-enc.key",
            cwd=tls)
    sign_with_extensions(tls, "server-only", ["basicConstraints=critical,CA:FALSE",
                                              "extendedKeyUsage=serverAuth"])

    cert, key, ca = tls / "n1.crt", tls / "n1.key", tls / "ca.crt"
    good = [f"--cluster-tls-cert={cert}", f"--cluster-tls-key={key}", f"--cluster-ca={ca}"]

    def with_files(c=cert, k=key, a=ca):
        return [f"--cluster-tls-cert={c}", f"--cluster-tls-key={k}", f"--cluster-ca={a}"]

    missing = tmp_path / "missing.crt"
    cases = [
        ([], "--cluster needs --cluster-tls-cert, --cluster-tls-key and --cluster-ca"),
        ([f"--cluster-tls-cert={cert}"], "go together: missing --cluster-tls-key, --cluster-ca"),
        (good + ["--cluster-insecure=true"], "--cluster-insecure contradicts"),
        (with_files(c=missing), f"--cluster-tls-cert {missing}: cannot open: No such file"),
        (with_files(k=tmp_path / "nope.key"), "--cluster-tls-key"),
        (with_files(a=tmp_path / "nope.crt"), "--cluster-ca"),
        (with_files(c=tmp_path / "a-directory"), "not a regular file"),
        (with_files(c=tmp_path / "garbage.pem"), "holds no PEM certificate"),
        (with_files(c=key), f"--cluster-tls-cert {key}: holds no PEM certificate"),
        (with_files(k=cert), f"--cluster-tls-key {cert}: holds no PEM private key"),
        (with_files(k=tls / "n1-enc.key"), "the key is encrypted"),
        (with_files(k=tls / "n2.key"), "is not the key of the certificate"),
        (with_files(a=tls / "n2.crt"), "is not a CA certificate"),
        (with_files(a=tmp_path / "empty.pem"), f"--cluster-ca {tmp_path / 'empty.pem'}: holds no"),
        (with_files(c=other / "n1.crt", k=other / "n1.key"), "does not verify against --cluster-ca"),
        (with_files(a=other / "ca.crt"), "does not verify against --cluster-ca"),
        (with_files(c=tls / "server-only.crt", k=tls / "server-only.key"),
         "usable by a TLS server and a TLS client"),
    ]
    base = [hibikid_binary, "--http=127.0.0.1:0", f"--data-dir={tmp_path / 'data'}",
            "--journal=kafka", "--kafka-brokers=127.0.0.1:9", "--node-id=n1",
            f"--cluster=127.0.0.1:{free_port()}"]
    for flags, says in cases:
        r = subprocess.run(base + flags, capture_output=True, text=True, timeout=60,
                           stdin=subprocess.DEVNULL)
        assert r.returncode == 2, (flags, r.returncode, r.stdout, r.stderr)
        assert says in r.stderr, (flags, says, r.stderr)
        assert r.stderr.startswith("hibikid: "), r.stderr
        # Refused before the journal is opened.
        assert "opening the journal" not in r.stdout, (flags, r.stdout)

    # Certificate flags without --cluster.
    r = subprocess.run(base[:-1] + good, capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "only apply to a clustered node" in r.stderr, r.stderr

    # The positive control: good files pass the check and the node goes on to open the journal
    # (at a broker that does not exist: it is killed there). A key others can read is warned about.
    loose = tmp_path / "n1-loose.key"
    loose.write_bytes(key.read_bytes())
    os.chmod(loose, 0o644)
    err_path = tmp_path / "control.stderr"
    with open(err_path, "wb") as err:
        p = subprocess.Popen(base + with_files(k=loose), stdout=subprocess.PIPE, stderr=err,
                             text=True, stdin=subprocess.DEVNULL)
    try:
        line = p.stdout.readline()
        assert "hibikid: opening the journal" in line, (line, p.poll(), err_path.read_text())
        warning = f"--cluster-tls-key {loose} can be read by other users"
        tc.wait_until(lambda: warning in err_path.read_text(), 30, "the loose key is warned about")
    finally:
        p.kill()
        p.communicate(timeout=30)


# ---- a cluster over mutual TLS against intruders -----------------------------------------------


def new_topic(what):
    return f"hibiki.security.{what}.{uuid.uuid4().hex[:8]}"


def transport_of(node):
    return node.cluster_status()["transport"]


def tcp_refused(port, payload):
    """Sends `payload` over plain TCP; True when the node closes the connection without a byte
    of answer (EOF or reset) within 30 s."""
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    try:
        s.sendall(payload)
        got = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                return got == b""
            got += chunk
    except ConnectionResetError:
        return True
    finally:
        s.close()


def tls_without_certificate(port, ca):
    """A TLS client that trusts the cluster CA but has no certificate of its own. Returns what
    happened: ("refused", why) or ("answered", bytes)."""
    ctx = ssl.create_default_context(cafile=str(ca))
    ctx.check_hostname = False  # the nodes' certificates name nodes, not 127.0.0.1 necessarily
    raw = socket.create_connection(("127.0.0.1", port), timeout=30)
    try:
        t = ctx.wrap_socket(raw)
        # TLS 1.3: the server checks the client's certificate after the client's handshake ends,
        # so its refusal (an alert) arrives on the first read.
        t.sendall(b"\x00" * 64)
        data = t.recv(4096)
        return ("answered", data) if data else ("refused", "EOF")
    except (ssl.SSLError, ConnectionResetError, BrokenPipeError) as e:
        return ("refused", str(e))
    finally:
        raw.close()


def basp_looking_bytes():
    """Something shaped like a BASP header (source/dest node ids, actor ids, a payload length,
    an operation), then junk: what a client of the old plain-TCP port would send."""
    header = bytes(20) + b"\x00\x00\x00\x01" + bytes(20) + b"\x00\x00\x00\x02"
    header += (0).to_bytes(8, "big") + (0).to_bytes(8, "big") + (64).to_bytes(4, "big")
    header += b"\x01" + (0).to_bytes(8, "big")
    return header + os.urandom(64)


def messages_in(client):
    return [e for e in client.all_events if e.get("ev") == "message_created"]


def test_mtls_refuses_intruders(hibikid_binary, tmp_path, bootstrap):  # noqa: F811
    names = ("n1", "n2")
    cluster = Cluster(hibikid_binary, tmp_path, bootstrap, new_topic("mtls"), names=names)
    try:
        cluster.start()
        cluster.wait_settled(names, timeout=SETTLE_TIMEOUT)
        n1, n2 = cluster.nodes["n1"], cluster.nodes["n2"]
        tls_dir = cluster.tls_dir
        for node in (n1, n2):
            t = transport_of(node)
            assert t["mode"] == "mutual-tls", t
            assert t["certificate"] == f"CN={node.name}", t
            assert t["ca"] == ["CN=hibiki cluster CA"], t
            assert "runs over mutual TLS" in node.stderr_tail(10**7)

        # The cluster works: an account on each node, one room, a message each way.
        alice_id, alice_token = signup(cluster, "alice")
        bob_id, bob_token = signup(cluster, "bob")
        alice = connect(n1, alice_token)
        bob = connect(n2, bob_token)
        room = ok_anyway(alice, "create_room", name="private", members=[bob_id])["room_id"]
        ok_anyway(alice, "send_message", room_id=room, body="hello across", client_msg_id="a1")
        bob.next_event("message_created", timeout=60,
                       pred=lambda e: e["message"]["body"] == "hello across")
        ok_anyway(bob, "send_message", room_id=room, body="hello back", client_msg_id="b1")
        alice.next_event("message_created", timeout=60,
                         pred=lambda e: e["message"]["body"] == "hello back")

        # A silent connection held open for the whole test: it must not block anyone.
        silent = socket.create_connection(("127.0.0.1", n1.cluster_port), timeout=30)

        forged_frame = json.dumps({"ev": "message_created", "room_id": room,
                                   "message": {"account_id": str(bob_id), "body": "forged push"}})
        attack = ["status", "post", room, bob_id, "forged post", "push", alice_id, forged_frame]
        for node in (n1, n2):
            # (a) plain TCP: BASP-looking bytes, and plain junk.
            assert tcp_refused(node.cluster_port, basp_looking_bytes()), node.name
            assert tcp_refused(node.cluster_port, b"GET / HTTP/1.1\r\n\r\n" + os.urandom(256))
            # (b) TLS without a client certificate.
            outcome, detail = tls_without_certificate(node.cluster_port, tls_dir / "ca.crt")
            assert outcome == "refused", (node.name, detail)
            # (c) CAF nodes: no TLS at all; a self-signed certificate; a certificate from
            # another CA (of the same name, even). Each trusts the cluster CA, or its own, and
            # tries the whole attack. (CAF will not run TLS without a certificate of its own.)
            other = make_certs(tmp_path / "other-ca", ["n1"])
            if not (tmp_path / "self.crt").exists():
                openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                        "-nodes", "-keyout", "self.key", "-out", "self.crt", "-days", "30",
                        "-subj", "/CN=n1", cwd=tmp_path)
            for mode, creds in (
                ("plain", ()),
                ("tls", (tmp_path / "self.crt", tmp_path / "self.key", tls_dir / "ca.crt")),
                ("tls", (other / "n1.crt", other / "n1.key", other / "ca.crt")),
                ("tls", (other / "n1.crt", other / "n1.key", tls_dir / "ca.crt")),
            ):
                rc, report = intrude(mode, node.cluster_port, *attack, creds=creds)
                assert rc == 3 and report["connected"] is False, (node.name, mode, creds, report)
                assert report["results"] == [], report

        # The forged command and push did nothing: no message but the two real ones, anywhere.
        time.sleep(2)  # a push that got through would have arrived by now (it did not)
        for c in (alice, bob):
            bodies = [e["message"]["body"] for e in messages_in(c)]
            assert "forged post" not in bodies and "forged push" not in bodies, bodies
        history = [m["body"] for m in conftest.full_history(alice, room)]
        assert history == ["hello across", "hello back"], history

        # The positive control: the same tool with a certificate of the cluster CA gets in (so the
        # refusals above are the handshake's doing), and a message of a shape the port does not
        # expect is refused and logged.
        make_certs(tls_dir, ["member"])
        rc, report = intrude("tls", n1.cluster_port, "status", "shape",
                             creds=(tls_dir / "member.crt", tls_dir / "member.key",
                                    tls_dir / "ca.crt"))
        assert rc == 0, report
        status_reply, shape_reply = report["results"]
        assert status_reply["ok"] is True and json.loads(status_reply["reply"])["kind"] == "kafka"
        assert shape_reply["ok"] is False and "unexpected_message" in shape_reply["error"]
        tc.wait_until(lambda: "refused bad input: a message of unexpected shape" in
                      n1.stderr_tail(10**7), 30, "n1 logs the refused message")

        # Still serving, both ways, both nodes in the cluster.
        ok_anyway(alice, "send_message", room_id=room, body="still here", client_msg_id="a2")
        bob.next_event("message_created", timeout=60,
                       pred=lambda e: e["message"]["body"] == "still here")
        for node in (n1, n2):
            assert node.proc.poll() is None, node.name
            assert node.http("GET", "/healthz")[0] == 200
        cluster.wait_settled(names, timeout=SETTLE_TIMEOUT)
        silent.close()
    finally:
        cluster.teardown()


def test_insecure_port(hibikid_binary, tmp_path, bootstrap):  # noqa: F811
    cluster = Cluster(hibikid_binary, tmp_path, bootstrap, new_topic("insecure"), names=("n1",),
                      insecure=True)
    try:
        cluster.start()
        cluster.wait_settled(("n1",), timeout=SETTLE_TIMEOUT)
        n1 = cluster.nodes["n1"]
        # Said loudly: at start, in /api/cluster, in `hibiki cluster status`.
        assert "WARNING: --cluster-insecure" in n1.stderr_tail(10**7)
        assert any("INSECURE: plain TCP, no authentication" in l for l in n1.stdout_lines)
        t = transport_of(n1)
        assert t["mode"] == "insecure" and "no authentication" in t["warning"], t
        cli = os.environ.get("HIBIKI_CLI") or os.path.join(os.path.dirname(hibikid_binary),
                                                           "hibiki")
        r = subprocess.run([cli, "cluster", "status", "--url", n1.url,
                            "--admin-token-file", n1.admin_token_file],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        assert "transport  INSECURE: plain TCP, no authentication (--cluster-insecure)" in \
            r.stdout.splitlines(), r.stdout

        # Without TLS the old attack works, with no certificate at all: a message posted as bob,
        # and a forged push to alice's live connection.
        alice_id, alice_token = signup(cluster, "alice")
        bob_id, _ = signup(cluster, "bob")
        alice = connect(n1, alice_token)
        room = ok_anyway(alice, "create_room", name="private", members=[bob_id])["room_id"]
        frame = json.dumps({"ev": "message_created", "room_id": room,
                            "message": {"account_id": str(bob_id), "body": "forged push"}})
        rc, report = intrude("plain", n1.cluster_port, "post", room, bob_id, "forged post",
                             "push", alice_id, frame, "shape")
        assert rc == 0, report
        post, push, shape = report["results"]
        assert post["ok"] is True and "err" not in json.loads(post["reply"]), post
        alice.next_event("message_created", timeout=60,
                         pred=lambda e: e["message"]["body"] == "forged post"
                         and str(e["message"]["account_id"]) == str(bob_id))
        alice.next_event("message_created", timeout=60,
                         pred=lambda e: e["message"]["body"] == "forged push")
        # The message-level check still refuses what is not a cluster message.
        assert shape["ok"] is False and "unexpected_message" in shape["error"], shape
        tc.wait_until(lambda: "refused bad input: a message of unexpected shape" in
                      n1.stderr_tail(10**7), 30, "n1 logs the refused message")
        assert n1.http("GET", "/healthz")[0] == 200
    finally:
        cluster.teardown()


# ---- scripts/cluster end to end ----------------------------------------------------------------


def free_base(count):
    """A port base whose base+1..base+count are free on loopback."""
    for _ in range(200):
        base = free_port() - 1
        if base + count > 65535:
            continue
        taken = False
        for p in range(base + 1, base + count + 1):
            s = socket.socket()
            try:
                s.bind(("127.0.0.1", p))
            except OSError:
                taken = True
            finally:
                s.close()
        if not taken:
            return base
    raise AssertionError("no free port range")


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_scripts_cluster(hibikid_binary, tmp_path, bootstrap):  # noqa: F811
    script = os.path.join(ROOT, "scripts", "cluster")
    directory = tmp_path / "cluster"
    nodes = 2
    env = dict(
        os.environ,
        HIBIKID=hibikid_binary,
        CLUSTER_KAFKA_BROKERS=bootstrap,
        CLUSTER_NODES=str(nodes),
        CLUSTER_PARTITIONS="4",
        CLUSTER_TOPIC=new_topic("scripts"),
        CLUSTER_HTTP_BASE=str(free_base(nodes)),
        CLUSTER_PORT_BASE=str(free_base(nodes)),
        CLUSTER_START_TIMEOUT="240",
        HIBIKID_ARGS="--cluster-session-timeout=6000",
    )

    def run(cmd, expect=0, **more):
        r = subprocess.run([script, cmd, str(directory)], env=dict(env, **more),
                           capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
        assert r.returncode == expect, (cmd, r.returncode, r.stdout, r.stderr)
        return r.stdout + r.stderr

    def pids():
        out = {}
        for n in range(1, nodes + 1):
            f = directory / f"n{n}.pid"
            out[n] = int(f.read_text()) if f.exists() else None
        return out

    # Bad input: a clear error, nothing started.
    assert "usage:" in run("bogus", expect=2)
    assert "CLUSTER_NODES must be 1 to 9" in run("start", expect=1, CLUSTER_NODES="0")
    assert "CLUSTER_NODES must be a number" in run("start", expect=1, CLUSTER_NODES="two")
    assert "no hibikid at" in run("start", expect=1, HIBIKID=str(tmp_path / "nope"))
    assert "not running" in run("stop")  # nothing to stop is fine
    try:
        ca_before = None
        for cycle in range(2):
            out = run("start")
            for n in range(1, nodes + 1):
                assert f"n{n} serves http://127.0.0.1:" in out, out
            assert "exited while starting" not in out, out
            tls = directory / "tls"
            if cycle == 0:
                assert "made the cluster CA" in out, out
                assert stat.S_IMODE(os.stat(tls).st_mode) == 0o700
                for n in range(1, nodes + 1):
                    assert stat.S_IMODE(os.stat(tls / f"n{n}.key").st_mode) == 0o600
                assert stat.S_IMODE(os.stat(tls / "ca.key").st_mode) == 0o600
                ca_before = (tls / "ca.crt").read_bytes()
            else:
                # Reused, not made again.
                assert "made" not in out, out
                assert (tls / "ca.crt").read_bytes() == ca_before
            started = pids()
            assert all(p and alive(p) for p in started.values()), started

            out = run("status")
            for n in range(1, nodes + 1):
                assert f"n{n}: running (pid {started[n]}), healthy" in out, out
            assert "transport  mutual TLS (certificate CN=n1" in out, out

            # Starting again leaves the running nodes as they are.
            out = run("start")
            for n in range(1, nodes + 1):
                assert f"n{n} already running (pid {started[n]})" in out, out
            assert pids() == started

            out = run("stop")
            for n in range(1, nodes + 1):
                assert f"n{n} stopped" in out, out
                assert not alive(started[n]), n
            assert all(p is None for p in pids().values())
            out = run("status", expect=3)
            for n in range(1, nodes + 1):
                assert f"n{n}: not running" in out, out
    finally:
        subprocess.run([script, "stop", str(directory)], env=env, capture_output=True,
                       timeout=300)
        for p in pids().values():
            if p and alive(p):
                os.kill(p, 9)
